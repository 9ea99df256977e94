"""`up` adds its context to the user's kubeconfig as kind does; `down` takes back only that.

The edits run the built kubectl (`kubectl config`) on files in a temporary folder; the cluster
itself is not needed.
"""

import subprocess
from pathlib import Path

import pytest
import yaml
from localcluster import settings, user_kubeconfig
from localcluster.settings import Paths, paths_from_env

pytestmark = pytest.mark.cluster

USERS_KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    server: https://192.0.2.10:6443
  name: prod
contexts:
- context:
    cluster: prod
    namespace: shop
    user: ops
  name: prod-ops
current-context: prod-ops
kind: Config
preferences: {}
users:
- name: ops
  user:
    token: not-a-real-token
"""


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    """A cluster whose state is in tmp_path, with stand-in certificates, and the built kubectl."""
    built = paths_from_env()
    if not (built.bin / "kubectl").exists():
        pytest.skip("kubectl is not built: run `make cluster-tools`")
    paths = Paths(
        state=tmp_path / "state", run=tmp_path / "run", cache=built.cache, repo=built.repo
    )
    paths.pki.mkdir(parents=True)
    for name in ("ca.crt", "admin.crt", "admin.key"):
        (paths.pki / name).write_text(f"stand-in {name}\n")
    return paths


def test_the_target_is_kubectls_first_file() -> None:
    paths = Paths(state=Path("/state"), run=Path("/run"), cache=Path("/c"), repo=Path("/r"))
    env = {"HOME": "/home/u", "KUBECONFIG": "/a/config:/b/config"}
    assert user_kubeconfig.target(paths, env) == Path("/a/config")
    assert user_kubeconfig.target(paths, {"HOME": "/home/u"}) == Path("/home/u/.kube/config")
    # The cluster's own kubeconfig already reaches it, and goes with the state folder.
    assert user_kubeconfig.target(paths, {"KUBECONFIG": "/state/kubeconfig"}) is None


def test_up_makes_the_context_current_and_down_gives_the_file_back(
    paths: Paths, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "home" / ".kube" / "config"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text(USERS_KUBECONFIG)
    env = {"HOME": str(tmp_path / "home")}
    assert user_kubeconfig.merge(paths, env) == kubeconfig
    merged = yaml.safe_load(kubeconfig.read_text())
    assert merged["current-context"] == user_kubeconfig.CONTEXT
    clusters = {entry["name"]: entry["cluster"] for entry in merged["clusters"]}
    assert clusters[user_kubeconfig.CONTEXT]["server"] == settings.API_URL
    assert clusters["prod"] == {"server": "https://192.0.2.10:6443"}
    # A second `up` refreshes the entries and still remembers the user's own context.
    user_kubeconfig.merge(paths, env)
    # `down` runs under another $KUBECONFIG: the record says which file `up` wrote.
    user_kubeconfig.remove(paths, {"KUBECONFIG": str(tmp_path / "elsewhere")})
    assert yaml.safe_load(kubeconfig.read_text()) == yaml.safe_load(USERS_KUBECONFIG)


def test_down_removes_the_file_and_folder_that_up_created(paths: Paths, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = user_kubeconfig.merge(paths, {"HOME": str(home)})
    assert kubeconfig == home / ".kube" / "config"
    assert kubeconfig.stat().st_mode & 0o077 == 0
    user_kubeconfig.remove(paths, {"HOME": str(home)})
    assert list(home.iterdir()) == []


def test_down_keeps_what_the_user_added_to_a_file_up_created(paths: Paths, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    user_kubeconfig.merge(paths, {"KUBECONFIG": str(kubeconfig)})
    subprocess.run(
        [paths.bin / "kubectl", "config", "set-context", "mine", "--cluster=prod"],
        env={"KUBECONFIG": str(kubeconfig)},
        check=True,
    )
    user_kubeconfig.remove(paths, {"KUBECONFIG": str(kubeconfig)})
    left = yaml.safe_load(kubeconfig.read_text())
    assert [context["name"] for context in left["contexts"]] == ["mine"]
    assert not left.get("clusters") and not left.get("users") and not left["current-context"]


@pytest.mark.parametrize(("server", "removed"), [(settings.API_URL, True), ("https://x:1", False)])
def test_down_without_the_record_removes_only_a_context_of_this_cluster(
    paths: Paths, tmp_path: Path, server: str, removed: bool
) -> None:
    # The state folder went (deleted by hand, or by an older `down`): the entries named
    # todo-chatbot are ours only when they point at this cluster's apiserver.
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(USERS_KUBECONFIG)
    env = {"KUBECONFIG": str(kubeconfig)}
    user_kubeconfig.merge(paths, env)
    subprocess.run(
        [paths.bin / "kubectl", "config", "set-cluster", "todo-chatbot", f"--server={server}"],
        env=env,
        check=True,
    )
    (paths.state / "user-kubeconfig.json").unlink()
    user_kubeconfig.remove(paths, env)
    left = yaml.safe_load(kubeconfig.read_text())
    names = {entry["name"] for entry in left["contexts"]}
    assert ("todo-chatbot" not in names) is removed
    assert "prod-ops" in names
    assert (left["current-context"] == "todo-chatbot") is not removed


def test_down_without_the_record_leaves_a_kubeconfig_without_clusters_alone(
    paths: Paths, tmp_path: Path
) -> None:
    # What a file looks like after `down` removed our entries from it: kubectl's jsonpath
    # filter fails on its null cluster list, which once stopped every later `down`.
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\npreferences: {}\ncurrent-context: ''\n")
    before = kubeconfig.read_text()
    user_kubeconfig.remove(paths, {"KUBECONFIG": str(kubeconfig)})
    assert kubeconfig.read_text() == before
