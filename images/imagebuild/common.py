"""What every step of the image build shares: the cache, logs and failures, commands, digests."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

from toolchain.cache import cache_dir
from toolchain.progress import Progress
from toolchain.progress import run as toolchain_run

REPO = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO / "images"
APP_DIR = REPO / "app"

# The chart's default repositories (values.yaml: image.repository), under the registry.
PROJECT = "todo-chatbot"
# Local-only images (never pushed) are named under localhost/ so no registry is ever asked.
LOCAL_PREFIX = f"localhost/{PROJECT}"


def images_cache() -> Path:
    """Return the folder of image archives, stamps and logs."""
    return cache_dir() / "images"


def manifest_path() -> Path:
    """Return $CACHE/images/manifest.json: every image built (name -> ref, archive, id, base)."""
    return images_cache() / "manifest.json"


def log(message: str) -> None:
    """Print one progress line at once (make and CI show it while the build runs)."""
    print(f"[images] {message}", flush=True)


def fail(message: str) -> NoReturn:
    """Stop the build with one clear line."""
    sys.exit(f"images: {message}")


def run(
    command: Sequence[str],
    *,
    what: str,
    log_file: Path | None = None,
    env: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> str:
    """Run a command with the toolchain's heartbeat (`[images]   ... what: how far, time`).

    The output goes to `log_file` when given (kept for a look after a long build); the end of
    it is printed when the command fails, and the build stops.
    """
    return toolchain_run(
        command, what=what, program="images", env=env, log_file=log_file, progress=progress
    )


def capture(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a quick command and return its result without failing."""
    return subprocess.run(command, capture_output=True, text=True, check=False)


def digest(parts: Iterable[str | bytes]) -> str:
    """Return a short SHA-256 of the parts, each one separated from the next."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()[:16]


def tree_digest(roots: Iterable[Path]) -> str:
    """Hash the names, modes and contents of every file under the roots (caches excluded)."""
    parts: list[str | bytes] = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            name = str(path.relative_to(root.parent))
            parts += [name, oct(path.stat().st_mode), path.read_bytes()]
    return digest(parts)


def require_tools(*names: str) -> None:
    """Stop with one line naming the first missing tool and how to install it."""
    for name in names:
        if shutil.which(name) is None:
            fail(f"'{name}' is not installed; run `make setup-images` (Debian packages)")
    if os.geteuid() != 0:
        fail("building images needs root (debootstrap and buildah's chroot isolation)")


def image_id(ref: str) -> str | None:
    """Return the ID of a local buildah image, or None when the store lacks it."""
    result = capture(["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref])
    return result.stdout.strip() or None if result.returncode == 0 else None
