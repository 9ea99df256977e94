"""`make imports` (tools/import_bindings.py) regenerates imports/ offline, byte-for-byte."""

import subprocess
import sys

from conftest import ROOT
from test_build import tree


def test_regenerated_bindings_equal_the_committed_ones(tmp_path):
    config = (ROOT / "cdk8s.yaml").read_bytes()
    subprocess.run(
        [sys.executable, "tools/import_bindings.py", "--out", str(tmp_path / "imports")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert tree(tmp_path / "imports") == tree(ROOT / "imports"), "run `make imports` and commit"
    assert (ROOT / "cdk8s.yaml").read_bytes() == config, "cdk8s import rewrote cdk8s.yaml"
    # One module for the three Prometheus Operator CRDs, each of which is in it.
    monitoring = (tmp_path / "imports/com/coreos/monitoring/__init__.py").read_text()
    for kind in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
        assert f"\nclass {kind}(" in monitoring, kind
    external_secrets = (tmp_path / "imports/io/external_secrets/__init__.py").read_text()
    assert "\nclass ExternalSecret(" in external_secrets
