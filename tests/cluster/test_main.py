"""The command line: a failure is one line on stderr, `error: <cause and what to do>`, exit 1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from localcluster import __main__ as cli
from localcluster import preflight
from localcluster.errors import ClusterError

pytestmark = pytest.mark.cluster

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"


def test_a_cluster_error_becomes_one_line_and_exit_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(paths: object, **options: object) -> None:
        raise ClusterError("preflight: port 6443 (apiserver) is already in use: run `make down`")

    monkeypatch.setattr(preflight, "run", fail)
    assert cli.main(["preflight"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: preflight: port 6443 (apiserver) is already in use: run `make down`\n"
    )


def test_the_module_prints_one_error_line_when_the_binaries_are_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localcluster", "preflight"],
        env={**os.environ, "PYTHONPATH": str(CLUSTER), "CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    expected = "needs root" if os.geteuid() else f"etcd is not built in {tmp_path}/bin"
    assert lines[0].startswith("error: preflight: ")
    assert expected in lines[0]
