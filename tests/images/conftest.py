"""Fixtures of the image tests: the images `make images` built, and runc containers of them.

See image_helpers.py for how images are read (their docker-archives) and run (runc, the
image's user, a read-only root filesystem with only /tmp writable).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_helpers import (
    APPS,
    COMPONENTS,
    FIXTURES,
    BuiltImage,
    Container,
    RunContainer,
    mounted_rootfs,
    read_image,
)
from imagebuild.common import manifest_path
from support.fixture_images import build_fixture_images


@pytest.fixture(scope="session")
def build_manifest() -> dict[str, dict[str, str]]:
    """Return what the last `make images` built (fails when it never ran)."""
    path = manifest_path()
    if not path.is_file():
        pytest.fail(f"{path} does not exist: run `make images` first")
    manifest: dict[str, dict[str, str]] = json.loads(path.read_text())
    return manifest


@pytest.fixture(scope="session")
def app_images(build_manifest: dict[str, dict[str, str]]) -> dict[str, BuiltImage]:
    """Return the backend and frontend images, read from their archives."""
    missing = [name for name in APPS if name not in build_manifest]
    if missing:
        pytest.fail(f"`make images` has not built {missing}")
    return {name: read_image(name, build_manifest[name]) for name in APPS}


@pytest.fixture(scope="session")
def component_images(build_manifest: dict[str, dict[str, str]]) -> dict[str, BuiltImage]:
    """Return the cluster component images `make images` built (those whose binaries exist)."""
    return {
        name: read_image(name, entry)
        for name, entry in build_manifest.items()
        if name in COMPONENTS and Path(entry["archive"]).is_file()
    }


@pytest.fixture(scope="session")
def fixture_images() -> dict[str, BuiltImage]:
    """Build the test fixture images now (cached when unchanged) and read them."""
    build_fixture_images()
    manifest = json.loads(manifest_path().read_text())
    return {name: read_image(name, manifest[name]) for name in FIXTURES}


@pytest.fixture(params=APPS)
def app_image(request: pytest.FixtureRequest, app_images: dict[str, BuiltImage]) -> BuiltImage:
    """Each app image in turn."""
    return app_images[request.param]


@pytest.fixture
def run_container() -> Iterator[RunContainer]:
    """Return a factory of runc containers; every one is removed at the end of the test."""
    stack = contextlib.ExitStack()
    containers: list[Container] = []

    def factory(
        image: BuiltImage,
        env: dict[str, str],
        args: list[str] | None = None,
        writable: tuple[str, ...] = ("/tmp",),
    ) -> Container:
        rootfs = stack.enter_context(mounted_rootfs(image.ref))
        container = Container(image, rootfs, env, args, writable)
        containers.append(container)
        return container

    with stack:
        yield factory
        for container in containers:
            container.remove()
