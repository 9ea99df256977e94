"""`make up` picks the operator's kube context when one is configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CACHE", Path.home() / ".cache" / "todo-chatbot"))

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


def run(*args: str, home: Path, kubeconfig: Path | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PATH": f"{CACHE / 'bin'}:{os.environ['PATH']}"}
    env.pop("KUBECONFIG", None)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
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


def test_configured_with_a_current_context(tmp_path, kubeconfig):
    assert run("configured", home=tmp_path, kubeconfig=kubeconfig).returncode == 0


def test_not_configured_without_a_kubeconfig(tmp_path):
    assert run("configured", home=tmp_path, kubeconfig=None).returncode == 1


def test_not_configured_without_a_current_context(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % "")
    assert run("configured", home=tmp_path, kubeconfig=path).returncode == 1


def test_deploy_names_a_missing_values_file(tmp_path, kubeconfig, monkeypatch):
    monkeypatch.setenv("VALUES", str(tmp_path / "absent.yaml"))
    result = run("deploy", home=tmp_path, kubeconfig=kubeconfig)
    assert result.returncode == 1
    assert f"values file {tmp_path / 'absent.yaml'} not found" in result.stderr
