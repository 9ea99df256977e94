"""The built app images: their configuration and every file of their layers.

The archives are the ones containerd imports, so what is checked here is what a node runs.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
from image_helpers import REPO, BuiltImage, contract_port
from support.logs import SECRET_VARIABLES
from todo_common.config import DEFAULT_METRICS_PORT

pytestmark = pytest.mark.images

# `NAME=value` or `NAME: value` with a non-empty value: a secret baked into the image.
SECRET_ASSIGNMENT = re.compile(
    rf"\b({'|'.join(SECRET_VARIABLES)})\s*[=:]\s*['\"]?[^\s'\"$]", re.MULTILINE
)


def test_runs_as_numeric_non_root_user(app_image: BuiltImage) -> None:
    assert app_image.runtime.get("User") == "10001:10001"


def test_exposes_the_contract_ports(app_image: BuiltImage) -> None:
    port = contract_port(app_image.name)
    assert app_image.runtime.get("ExposedPorts") == {
        f"{port}/tcp": {},
        f"{DEFAULT_METRICS_PORT}/tcp": {},
    }


def test_is_tagged_with_the_project_version_in_the_charts_registry(
    app_image: BuiltImage,
) -> None:
    version = (REPO / "VERSION").read_text().strip()
    assert app_image.ref == f"localhost:5001/todo-chatbot/{app_image.name}:{version}"
    labels = app_image.runtime.get("Labels") or {}
    assert isinstance(labels, dict)
    assert labels.get("org.opencontainers.image.version") == version
    assert labels.get("org.opencontainers.image.source")


def test_starts_the_app_module_from_the_venv_without_writing_bytecode(
    app_image: BuiltImage,
) -> None:
    assert app_image.runtime.get("Cmd") == ["python", "-m", f"todo_{app_image.name}"]
    env = dict(str(item).split("=", 1) for item in app_image.runtime.get("Env") or [])
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONPATH"] == f"/app/common:/app/{app_image.name}"


def test_configuration_and_history_hold_no_secret(app_image: BuiltImage) -> None:
    runtime = app_image.runtime
    env = "\n".join(str(item) for item in runtime.get("Env") or [])
    labels = "\n".join(f"{k}={v}" for k, v in dict(runtime.get("Labels") or {}).items())
    history = "\n".join(
        str(step.get("created_by", "")) for step in app_image.config.get("history") or []
    )
    for name, text in (("Env", env), ("Labels", labels), ("history", history)):
        assert not SECRET_ASSIGNMENT.search(text), f"a secret variable is set in {name}"


def test_no_layer_holds_a_pip_cache_or_env_file(app_image: BuiltImage) -> None:
    offending = [
        f"{layer}: {member.name}"
        for layer in app_image.layers
        for member in app_image.layer_members(layer)
        if "/.cache/pip" in f"/{member.name}"
        or Path(member.name).name in (".env", ".netrc", ".pypirc", "pip.conf")
    ]
    assert not offending


def test_own_layers_hold_no_wheel_requirements_or_build_leftovers(
    app_image: BuiltImage,
) -> None:
    # The base's ensurepip wheels (python3-venv, like the public image's) are not ours.
    names = [
        member.name for layer in app_image.own_layers() for member in app_image.layer_members(layer)
    ]
    assert names, "the image adds no layer of its own"
    # The app user's account in etc/, the venv, the app; `run` is the runtime's mount point.
    assert {name.split("/")[0] for name in names} <= {"etc", "run", "opt", "app"}
    offending = [
        name
        for name in names
        if name.endswith(".whl")
        or Path(name).name == "requirements.txt"
        or "/pip/" in f"/{name}/"
        or (name.startswith("opt/") and not (name == "opt" or name.startswith("opt/venv")))
    ]
    assert not offending


def test_own_layers_hold_no_secret_in_config_like_files(app_image: BuiltImage) -> None:
    config_like = re.compile(r"(\.env|\.ini|\.cfg|\.conf|\.toml|\.ya?ml|\.json)$")
    with tarfile.open(app_image.archive) as archive:
        for layer in app_image.own_layers():
            member = archive.extractfile(layer)
            assert member is not None
            with tarfile.open(fileobj=member) as layer_tar:
                for entry in layer_tar:
                    if not (entry.isfile() and config_like.search(entry.name)):
                        continue
                    content = layer_tar.extractfile(entry)
                    assert content is not None
                    text = content.read().decode(errors="replace")
                    assert not SECRET_ASSIGNMENT.search(text), f"{entry.name} sets a secret"


def test_app_modules_are_precompiled(app_image: BuiltImage) -> None:
    names = {
        member.name for layer in app_image.own_layers() for member in app_image.layer_members(layer)
    }
    package = f"app/{app_image.name}/todo_{app_image.name}"
    sources = {name for name in names if name.startswith(package) and name.endswith(".py")}
    assert f"{package}/__main__.py" in sources
    for source in sources:
        folder, _, file = source.rpartition("/")
        compiled = f"{folder}/__pycache__/{file[:-3]}.cpython-311.pyc"
        assert compiled in names, f"{source} has no .pyc"


def test_pip_is_not_left_in_the_venv(app_image: BuiltImage) -> None:
    names = [
        member.name for layer in app_image.own_layers() for member in app_image.layer_members(layer)
    ]
    assert "opt/venv/bin/python" in names
    assert not [name for name in names if name.startswith("opt/venv/bin/pip")]
