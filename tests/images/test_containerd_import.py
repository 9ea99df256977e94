"""containerd imports the archives under the chart's image references.

A private containerd (its own root, state and socket in a temporary folder, without the CRI
plugin) imports each archive with `ctr images import`, exactly as a node would be loaded,
and must list it under its registry reference with all of its blobs present.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_helpers import BuiltImage

pytestmark = pytest.mark.images

NAMESPACE = "k8s.io"


@pytest.fixture(scope="module")
def containerd_socket() -> Iterator[Path]:
    """Start a throwaway containerd and yield its socket."""
    folder = Path(tempfile.mkdtemp(prefix="todo-images-containerd-"))
    socket = folder / "containerd.sock"
    config = folder / "config.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{folder / "root"}"\n'
        f'state = "{folder / "state"}"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{socket}"\n'
        f'[ttrpc]\n  address = "{folder / "ttrpc.sock"}"\n'
    )
    log = (folder / "containerd.log").open("w")
    process = subprocess.Popen(
        ["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"containerd did not start:\n{(folder / 'containerd.log').read_text()}")
            time.sleep(0.2)
        yield socket
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        # Unpacked snapshots are overlay mounts only while containers run; none ran here.
        shutil.rmtree(folder, ignore_errors=True)


def ctr(socket: Path, *args: str) -> str:
    """Run ctr against the throwaway containerd and return its output."""
    result = subprocess.run(
        ["ctr", "--address", str(socket), "--namespace", NAMESPACE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_containerd_imports_each_archive_under_its_reference(
    containerd_socket: Path,
    app_images: dict[str, BuiltImage],
    component_images: dict[str, BuiltImage],
) -> None:
    images = {**app_images, **component_images}
    for image in images.values():
        ctr(containerd_socket, "images", "import", str(image.archive))
    listed = ctr(containerd_socket, "images", "list", "--quiet").split()
    assert sorted(image.ref for image in images.values()) == sorted(
        ref for ref in listed if not ref.startswith("sha256:")
    )
    for image in images.values():
        # `ctr images check` says "complete" once every blob of the image is present.
        check = ctr(containerd_socket, "images", "check", f"name=={image.ref}")
        assert "complete" in check, check
