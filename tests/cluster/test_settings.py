"""Settings: the Kubernetes version the cluster expects is the one tools/gotools.py builds."""

import ast
from pathlib import Path

import pytest
from localcluster import settings

pytestmark = pytest.mark.cluster

GOTOOLS = Path(__file__).resolve().parents[2] / "tools" / "gotools.py"


def _module_constant(path: Path, name: str) -> object:
    """The literal value a module assigns to `name` at its top level (read, never imported)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} assigns no {name}")


def test_the_kubernetes_version_is_the_one_gotools_builds() -> None:
    assert _module_constant(GOTOOLS, "KUBERNETES_VERSION") == settings.KUBERNETES_VERSION
