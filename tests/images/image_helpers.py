"""Helpers of the image tests: the images `make images` built, their files, and runc.

The tests read $CACHE/images/manifest.json (written by images/build.py), open each image's
docker-archive to see its layers exactly as containerd imports them, and run containers with
runc the way Kubernetes does: the image's user, a read-only root filesystem with only /tmp
writable (an emptyDir, as the chart's), no added capabilities.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from todo_contract import MIN_AUTH_SECRET_LENGTH

# The image catalogue lives in the build's package (images/imagebuild), which is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "images"))
from imagebuild import catalogue

REPO = Path(__file__).resolve().parents[2]
APPS = catalogue.APPS
FIXTURES = catalogue.FIXTURES
COMPONENTS = tuple(component.name for component in catalogue.COMPONENTS)

# (variable, its value or None to leave it out, what the one line says after "config error: ")
# for refusals every image of docs/contract.md gives alike. A `{secret}` in a value is replaced
# by a fresh random string, which must not appear in the output either.
CONTRACT_REFUSALS = [
    ("DATABASE_URL", None, "DATABASE_URL is missing"),
    ("BETTER_AUTH_SECRET", None, "BETTER_AUTH_SECRET is missing"),
    (
        "BETTER_AUTH_SECRET",
        "short-{secret}",
        f"BETTER_AUTH_SECRET is malformed: must be at least {MIN_AUTH_SECRET_LENGTH} characters",
    ),
]


@dataclass(frozen=True)
class BuiltImage:
    """One image from the build manifest, read from its docker-archive."""

    name: str
    ref: str
    archive: Path
    base: str
    config: dict[str, Any]
    layers: list[str]

    @property
    def runtime(self) -> dict[str, Any]:
        """The image's runtime configuration (User, Env, Cmd, ExposedPorts, Labels...)."""
        section = self.config.get("config") or {}
        assert isinstance(section, dict)
        return section

    def layer_members(self, layer: str) -> list[tarfile.TarInfo]:
        """Return the entries of one layer tar inside the archive."""
        with tarfile.open(self.archive) as archive:
            member = archive.extractfile(layer)
            assert member is not None, f"{self.archive} lacks layer {layer}"
            with tarfile.open(fileobj=member) as layer_tar:
                return layer_tar.getmembers()

    def own_layers(self) -> list[str]:
        """Return the layers the image adds on top of its base (what our Dockerfile wrote)."""
        return self.layers[base_layer_count(self.base) :]


def contract_port(app: str) -> int:
    """Return the app's port as docs/contract.md states it."""
    contract = (REPO / "docs" / "contract.md").read_text()
    match = re.search(rf"^## {app.capitalize()} \(`[^`]+`, port (\d+)\)", contract, re.MULTILINE)
    assert match, f"docs/contract.md names no port for the {app}"
    return int(match.group(1))


LAYER_COUNT = "{{len .OCIv1.RootFS.DiffIDs}}"


def base_layer_count(base: str) -> int:
    """Return how many layers a base image has (0 for scratch)."""
    if base == "scratch":
        return 0
    result = subprocess.run(
        [
            "buildah",
            "inspect",
            "--type",
            "image",
            "--format",
            "{{len .OCIv1.RootFS.DiffIDs}}",
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


def read_image(name: str, entry: dict[str, str]) -> BuiltImage:
    """Open an image's docker-archive and read its manifest and config."""
    archive = Path(entry["archive"])
    with tarfile.open(archive) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        manifest = json.load(manifest_file)[0]
        config_file = tar.extractfile(manifest["Config"])
        assert config_file is not None
        config = json.load(config_file)
    return BuiltImage(
        name=name,
        ref=entry["ref"],
        archive=archive,
        base=entry["base"],
        config=config,
        layers=list(manifest["Layers"]),
    )


# ---- running containers with runc ---------------------------------------------------------


@contextlib.contextmanager
def mounted_rootfs(ref: str) -> Iterator[Path]:
    """Yield the root filesystem of a fresh buildah container of the image, then remove it."""
    container = subprocess.run(
        ["buildah", "from", "--pull=never", "--quiet", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        mount = subprocess.run(
            ["buildah", "mount", container], capture_output=True, text=True, check=True
        ).stdout.strip()
        yield Path(mount)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


@dataclass
class Exited:
    """A container that ran to its end."""

    returncode: int
    stdout: str
    stderr: str


class Container:
    """One runc container of an image: the image's user, read-only root, an emptyDir at /tmp.

    It shares the host's network namespace, like a test process: the app reaches the test
    PostgreSQL on 127.0.0.1 and the test reaches the app's port there.
    """

    def __init__(
        self,
        image: BuiltImage,
        rootfs: Path,
        env: dict[str, str],
        args: list[str] | None = None,
        writable: tuple[str, ...] = ("/tmp",),
    ) -> None:
        """Write the OCI bundle (config.json) for the image in a temporary folder.

        `args` replaces the image's Cmd (after its Entrypoint), as a pod's `args` does;
        `writable` are the paths that get an emptyDir as kubelet makes one: a folder of mode
        0777 bind-mounted there (a tmpfs would take the mode of the image's folder).
        """
        self.id = f"todo-images-test-{secrets.token_hex(4)}"
        self.bundle = Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
        subprocess.run(["runc", "spec", "--bundle", str(self.bundle)], check=True)
        spec = json.loads((self.bundle / "config.json").read_text())
        runtime = image.runtime
        user = str(runtime.get("User") or "0:0")
        uid, _, gid = user.partition(":")
        image_env = [str(item) for item in runtime.get("Env") or []]
        entrypoint = [str(word) for word in runtime.get("Entrypoint") or []]
        cmd = [str(word) for word in runtime.get("Cmd") or []]
        command = [*entrypoint, *(cmd if args is None else args)]
        spec["root"] = {"path": str(rootfs), "readonly": True}
        spec["hostname"] = self.id
        spec["process"].update(
            terminal=False,
            user={"uid": int(uid), "gid": int(gid or uid)},
            args=command,
            cwd=str(runtime.get("WorkingDir") or "/"),
            env=[*image_env, *(f"{key}={value}" for key, value in env.items())],
            noNewPrivileges=True,
        )
        for number, path in enumerate(writable):
            empty_dir = self.bundle / f"empty-dir-{number}"
            empty_dir.mkdir()
            empty_dir.chmod(0o777)
            spec["mounts"].append(
                {
                    "destination": path,
                    "type": "bind",
                    "source": str(empty_dir),
                    "options": ["rbind", "rw", "nosuid", "nodev"],
                }
            )
        spec["linux"]["namespaces"] = [
            ns for ns in spec["linux"]["namespaces"] if ns["type"] != "network"
        ]
        (self.bundle / "config.json").write_text(json.dumps(spec))
        self.stdout = self.bundle / "stdout"
        self.stderr = self.bundle / "stderr"
        self.process: subprocess.Popen[bytes] | None = None

    def run_to_end(self, timeout: float = 60) -> Exited:
        """Run the container in the foreground until it exits."""
        result = subprocess.run(
            ["runc", "run", "--bundle", str(self.bundle), self.id],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return Exited(result.returncode, result.stdout, result.stderr)

    def start(self) -> None:
        """Start the container in the background (its output goes to files in the bundle)."""
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                ["runc", "run", "--bundle", str(self.bundle), self.id],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    def proc_dir(self) -> Path:
        """Return /proc/<pid> of the container's main process, as the host sees it."""
        state = subprocess.run(
            ["runc", "state", self.id], capture_output=True, text=True, check=True
        )
        return Path("/proc") / str(json.loads(state.stdout)["pid"])

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a command inside the running container as its user."""
        spec = json.loads((self.bundle / "config.json").read_text())
        user = spec["process"]["user"]
        return subprocess.run(
            ["runc", "exec", "--user", f"{user['uid']}:{user['gid']}", self.id, *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def signal(self, name: str) -> None:
        """Send a signal to the container's main process."""
        subprocess.run(["runc", "kill", self.id, name], check=True)

    def wait(self, timeout: float) -> int:
        """Wait for the container to exit and return its exit code."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        """Return what the container printed so far (stdout, then stderr)."""
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def remove(self) -> None:
        """Kill and delete the container and its bundle."""
        subprocess.run(["runc", "delete", "--force", self.id], capture_output=True, check=False)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        subprocess.run(["rm", "-rf", str(self.bundle)], check=False)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(
    url: str, *, timeout: float, container: Container, until: int | None = None
) -> int:
    """Poll a URL until it answers (with `until`, if given); return the status.

    Fails with the container's output when it exits first or the time runs out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if container.process is not None and container.process.poll() is not None:
            pytest.fail(f"the container exited early:\n{container.output()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                status = int(response.status)
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        if status and (until is None or status == until):
            return status
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{container.output()}")


class RunContainer(Protocol):
    """The `run_container` fixture: make a runc container of an image."""

    def __call__(
        self,
        image: BuiltImage,
        env: dict[str, str],
        args: list[str] | None = None,
        writable: tuple[str, ...] = ("/tmp",),
    ) -> Container:
        """Return a container of the image (not started yet)."""
        ...
