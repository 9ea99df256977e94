"""The local cluster as a library: a `Cluster` built from its settings, not from module state."""

from pathlib import Path

import pytest
from localcluster import settings
from localcluster.lifecycle import Cluster
from localcluster.settings import Paths

pytestmark = pytest.mark.cluster


def test_from_env_reads_the_folders_and_keeps_the_users_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE", str(tmp_path / "state"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "config"))
    cluster = Cluster.from_env()
    assert cluster.paths.state == tmp_path / "state"
    assert cluster.env["KUBECONFIG"] == str(tmp_path / "config")


def test_status_lists_every_process_in_start_order(tmp_path: Path) -> None:
    paths = Paths(state=tmp_path / "state", run=tmp_path / "run", cache=tmp_path, repo=tmp_path)
    rows = Cluster(paths, env={}).status()
    assert [name for name, _ in rows] == [p.name for p in settings.HOST_PROCESSES]
    assert {state for _, state in rows} == {"stopped"}
