"""`make up` picks the operator's kube context when one is configured, and deploys there.

The kubeconfig is read without kubectl (the tests run with an empty PATH); deploy runs a
stand-in helm that records its arguments.
"""

import os
import subprocess
import sys
from pathlib import Path

import kube_context
import pytest

ROOT = Path(__file__).resolve().parents[2]

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: ops
  user: {}
contexts:
- name: prod-ops
  context: {cluster: prod, user: ops}
%s
"""


def run(
    *args: str, home: Path, kubeconfig: str | None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the script as `make up` does, with no kubectl (nor anything else) on PATH."""
    empty = home / "empty-path"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "PATH": str(empty), **(env or {})}
    env.pop("KUBECONFIG", None)
    if kubeconfig is not None:
        env["KUBECONFIG"] = kubeconfig
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "kube_context.py"), *args],
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % "current-context: prod-ops")
    return path


def test_configured_with_a_current_context(tmp_path: Path, kubeconfig: Path) -> None:
    result = run("configured", home=tmp_path, kubeconfig=str(kubeconfig))
    assert result.returncode == 0, result.stderr


def test_configured_from_the_default_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(KUBECONFIG % "current-context: prod-ops")
    assert run("configured", home=tmp_path, kubeconfig=None).returncode == 0


def test_not_configured_without_a_kubeconfig(tmp_path: Path) -> None:
    result = run("configured", home=tmp_path, kubeconfig=None)
    assert result.returncode == 1
    assert result.stderr == ""


def test_not_configured_without_a_current_context(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % "")
    assert run("configured", home=tmp_path, kubeconfig=str(path)).returncode == 1


def test_files_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    # The contexts in one file, the current context in a later one, a missing file skipped.
    contexts = tmp_path / "contexts"
    contexts.write_text(KUBECONFIG % "")
    current = tmp_path / "current"
    current.write_text("apiVersion: v1\nkind: Config\ncurrent-context: prod-ops\n")
    listed = os.pathsep.join([str(tmp_path / "absent"), str(contexts), str(current)])
    assert run("configured", home=tmp_path, kubeconfig=listed).returncode == 0


def test_fails_when_the_kubeconfig_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("current-context: [unclosed\n")
    result = run("configured", home=tmp_path, kubeconfig=str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: kubeconfig {path} cannot be read: ")
    assert len(result.stderr.splitlines()) == 1


def test_fails_when_the_current_context_is_not_defined(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % "current-context: staging")
    result = run("configured", home=tmp_path, kubeconfig=str(path))
    assert result.returncode == 2
    assert result.stderr == f"error: the current context 'staging' is not defined in {path}\n"


def test_fails_when_kubeconfig_names_no_file_that_exists(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent")
    result = run("configured", home=tmp_path, kubeconfig=missing)
    assert result.returncode == 2
    assert result.stderr == f"error: KUBECONFIG={missing} names no file that exists\n"


LOCAL_CLUSTER_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: todo-chatbot
  cluster: {server: "%s"}
users:
- name: todo-chatbot
  user: {}
contexts:
- name: todo-chatbot
  context: {cluster: todo-chatbot, user: todo-chatbot}
current-context: todo-chatbot
"""


@pytest.mark.parametrize(
    ("server", "status"), [(kube_context.API_URL, 1), ("https://192.0.2.10:6443", 0)]
)
def test_a_context_is_the_local_clusters_by_its_server(
    tmp_path: Path, server: str, status: int
) -> None:
    # What `make up` merges into ~/.kube/config: the next `make up` refreshes the local cluster
    # rather than treating it as someone else's; the name alone proves nothing.
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(LOCAL_CLUSTER_KUBECONFIG % server)
    result = run("configured", home=tmp_path, kubeconfig=None)
    assert result.returncode == status, result.stderr


def test_not_configured_with_the_local_clusters_own_kubeconfig(tmp_path: Path) -> None:
    # The path `make up` prints: exported, it must not turn the next `make up` away, neither
    # while the cluster runs nor after `make down` removed the file.
    state = tmp_path / "state"
    state.mkdir()
    own = state / "kubeconfig"
    own.write_text(LOCAL_CLUSTER_KUBECONFIG % kube_context.API_URL)
    env = {"STATE": str(state)}
    assert run("configured", home=tmp_path, kubeconfig=str(own), env=env).returncode == 1
    own.unlink()
    result = run("configured", home=tmp_path, kubeconfig=str(own), env=env)
    assert (result.returncode, result.stderr) == (1, "")


# ---- deploy, in-process with a stand-in helm ------------------------------------------------


@pytest.fixture
def deploy_env(tmp_path: Path, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give deploy a chart, a kube context and a stand-in helm; return where helm's args go.

    The chart's images default to localhost:5001, as the project's chart does.
    """
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "values.yaml").write_text(
        "backend:\n  image:\n    registry: localhost:5001\n    repository: todo-chatbot/backend\n"
        "frontend:\n  image:\n    registry: localhost:5001\n"
    )
    monkeypatch.setattr(kube_context, "CHART", chart)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "helm-args"
    helm = bin_dir / "helm"
    helm.write_text(f'#!/bin/sh\necho "$@" > {calls}\n')
    helm.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("VALUES", raising=False)
    return calls


def test_deploy_refuses_the_local_registry_it_was_not_given(
    deploy_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default VALUES (examples/values-existing-secret.yaml) sets no registry.
    assert kube_context.main(["deploy"]) == 2
    error = capsys.readouterr().err
    assert "cluster of context prod-ops cannot pull from" in error
    assert "set backend.image.registry and frontend.image.registry in the values file" in error
    assert len(error.splitlines()) == 1
    assert not deploy_env.exists()


def test_deploy_installs_with_the_registry_the_operator_set(
    deploy_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        "backend:\n  image: {registry: registry.example.com}\n"
        "frontend:\n  image: {registry: registry.example.com}\n"
    )
    monkeypatch.setenv("VALUES", str(values))
    assert kube_context.main(["deploy"]) == 0
    args = deploy_env.read_text().split()
    assert args[:3] == ["upgrade", "--install", "todo-chatbot"]
    assert ["--values", str(values)] == args[args.index("--values") : args.index("--values") + 2]
    assert "--wait" in args


def test_local_images_keeps_a_localhost_registry_the_values_set() -> None:
    defaults = {c: {"image": {"registry": "localhost:5001"}} for c in ("backend", "frontend")}
    chosen = {"backend": {"image": {"registry": "[::1]:5000"}}}
    assert kube_context.local_images(chosen, defaults) == ["frontend"]
    assert kube_context.local_images({}, {"backend": {"image": {"registry": "ghcr.io"}}}) == []


def test_deploy_names_a_missing_values_file(
    deploy_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("VALUES", str(tmp_path / "absent.yaml"))
    assert kube_context.main(["deploy"]) == 2
    assert f"values file {tmp_path / 'absent.yaml'} not found" in capsys.readouterr().err


def test_deploy_fails_without_helm(
    deploy_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    assert kube_context.main(["deploy"]) == 2
    assert capsys.readouterr().err == "error: helm is not installed (run `make tools`)\n"
