"""Install a tool: build it into its versioned cache folder, check its version, link it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import resources
from .cache import cache_dir
from .golang import go_version
from .progress import STEP, elapsed, log


@dataclass(frozen=True)
class Tool:
    """One pinned tool: how to build its binaries and how to check the result.

    `links` maps a name in $CACHE/bin to a binary in the tool's folder (several tools install
    under another name, such as Helm 3 as `helm3`). `build` compiles every binary into the
    folder it is given; `recipe` is everything besides the version that shapes the binaries.
    `version_args` runs each linked binary to prove it prints `version`. `build_memory_gib`
    and `build_disk_gib` are what a build from an empty cache needs (1 GiB each by default).
    """

    name: str
    version: str
    links: dict[str, str]
    build: Callable[[Path], None]
    recipe: Callable[[], list[str]]
    version_args: Sequence[str] = ("--version",)
    version_args_by_binary: dict[str, Sequence[str]] = field(default_factory=dict)
    build_memory_gib: float = 1.0
    build_disk_gib: float = 1.0

    @property
    def folder(self) -> Path:
        """The folder that holds this version's binaries."""
        return cache_dir() / "tools" / f"{self.name}-{self.version}"

    def recipe_digest(self) -> str:
        """Hash the version, the Go toolchain and the recipe: any change means a rebuild."""
        text = "\n".join([self.name, self.version, go_version(), *self.recipe()])
        return hashlib.sha256(text.encode()).hexdigest()


def is_current(tool: Tool) -> bool:
    """Tell whether the tool's folder holds a complete build of the current recipe."""
    stamp = tool.folder / ".recipe"
    return stamp.is_file() and stamp.read_text().strip() == tool.recipe_digest()


def check_version(tool: Tool, binary: Path) -> str:
    """Run the binary's version command and fail unless it prints the pinned version."""
    args = tool.version_args_by_binary.get(binary.name, tool.version_args)
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)
    printed = (result.stdout + result.stderr).strip()
    if tool.version.lstrip("v") not in printed:
        sys.exit(
            f"gotools: {binary} {' '.join(args)} printed {printed!r}, "
            f"expected version {tool.version}"
        )
    return printed.splitlines()[0] if printed else ""


def link(tool: Tool) -> None:
    """Point $CACHE/bin/<link> at the tool's binaries (relative links survive a moved cache)."""
    bin_dir = cache_dir() / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for link_name, binary in tool.links.items():
        target = Path(os.path.relpath(tool.folder / binary, bin_dir))
        path = bin_dir / link_name
        if path.is_symlink() and Path(os.readlink(path)) == target:
            continue
        staged = bin_dir / f".{link_name}.new"
        staged.unlink(missing_ok=True)
        staged.symlink_to(target)
        staged.replace(path)


@contextlib.contextmanager
def build_lock(tool: Tool) -> Iterator[None]:
    """Hold the tool's build lock: concurrent `make setup` runs build a tool only once."""
    tool.folder.parent.mkdir(parents=True, exist_ok=True)
    with open(tool.folder.parent / f".{tool.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process that builds {tool.name}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install(tool: Tool, *, force: bool, step: str = "") -> None:
    """Build the tool unless its current recipe is already built, check it, and link it.

    `step` (such as `tool 2/7`) tells where this build stands among those of the run.
    """
    if is_current(tool) and not force:
        link(tool)
        return
    with build_lock(tool):
        # Another process may have built it while this one waited for the lock.
        if not is_current(tool) or force:
            build(tool, step=step)
    link(tool)


def build(tool: Tool, *, step: str = "") -> None:
    """Build the tool into a staging folder, check its versions, then move it into place."""
    label = f"{step} {tool.name}" if step else tool.name
    log(f"{label}: building {tool.version} -> {tool.folder}")
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=tool.folder.parent))
    token = STEP.set(label)
    try:
        # mkdtemp makes a private folder; the binaries are for every user (and for images).
        staging.chmod(0o755)
        tool.build(staging)
        for binary in tool.links.values():
            if not (staging / binary).is_file():
                sys.exit(f"gotools: building {tool.name} produced no {binary}")
        # Check the binaries before they replace a working version.
        printed = [
            check_version(tool, staging / binary) for binary in sorted(set(tool.links.values()))
        ]
        (staging / ".recipe").write_text(tool.recipe_digest() + "\n")
        if tool.folder.exists():
            shutil.rmtree(tool.folder)
        staging.rename(tool.folder)
    finally:
        STEP.reset(token)
        if staging.exists():
            shutil.rmtree(staging)
    log(f"{label}: built {tool.version} in {elapsed(time.monotonic() - started)}: {printed[0]}")


def available_memory_gib() -> float | None:
    """Return the memory the kernel can give a new process (MemAvailable), or None unknown."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return None
    return resources.available_memory_mib(meminfo.read_text()) / 1024


def free_disk_gib(path: Path) -> float:
    """Return the free space of the file system that holds `path` (or would, once made)."""
    return resources.free_disk_mib(path) / 1024


def preflight(tools: Sequence[Tool]) -> None:
    """Stop with one line when this machine lacks the memory or disk that building needs.

    The tools build one after another, so the memory needed is the largest tool's; their
    module and build caches all stay, so the disk needed is their sum.
    """
    names = ", ".join(tool.name for tool in tools)
    memory = max(tool.build_memory_gib for tool in tools)
    available = available_memory_gib()
    if available is not None and available < memory:
        sys.exit(
            f"gotools: building {names} needs about {memory:g} GiB of memory, "
            f"but only {available:.1f} GiB is available; stop something or add memory"
        )
    disk = sum(tool.build_disk_gib for tool in tools)
    free = free_disk_gib(cache_dir())
    if free < disk:
        sys.exit(
            f"gotools: building {names} needs about {disk:g} GiB of disk under {cache_dir()}, "
            f"but only {free:.1f} GiB is free; free some or point CACHE elsewhere"
        )
