"""The app images' Python packages: wheels built on the host within Pipfile.lock's hashes."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from toolchain.cache import cache_dir
from toolchain.progress import Progress

from .common import REPO, digest, fail, images_cache, log, run


def canonical_name(name: str) -> str:
    """Return a package name as PEP 503 normalizes it (`Typing_Extensions` -> typing-extensions)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_packages() -> dict[str, dict[str, Any]]:
    """Return every package of Pipfile.lock (both sections) by its normalized name."""
    lock = json.loads((REPO / "Pipfile.lock").read_text())
    merged = {**lock.get("develop", {}), **lock.get("default", {})}
    return {canonical_name(name): entry for name, entry in merged.items()}


def lock_constraints(packages: dict[str, dict[str, Any]]) -> str:
    """Return pip constraints pinning every package of Pipfile.lock.

    requirements.txt pins only the apps' direct dependencies; constraining the rest to the
    lock makes the images run exactly the versions the project's tests ran against, and a
    requirement that disagrees with the lock stops the build instead of drifting.
    """
    lines = []
    for name, entry in sorted(packages.items()):
        # Editable or path entries (the project itself) carry no version.
        if version := entry.get("version"):
            marker = entry.get("markers")
            lines.append(f"{name}{version}" + (f"; {marker}" if marker else ""))
    return "\n".join(lines) + "\n"


def hashed_requirements(
    resolved: Iterable[tuple[str, str]], packages: dict[str, dict[str, Any]]
) -> str:
    """Pin each resolved (name, version) with the sha256 hashes Pipfile.lock records for it.

    pip's --require-hashes then refuses any download whose hash the lock does not list.
    """
    lines = []
    for name, version in sorted(resolved, key=lambda pair: canonical_name(pair[0])):
        entry = packages.get(canonical_name(name), {})
        if entry.get("version") != f"=={version}" or not entry.get("hashes"):
            fail(
                f"wheels: {name}=={version} has no hashes in Pipfile.lock; "
                "add the package with pipenv so that the lock pins it"
            )
        hashes = " ".join(f"--hash={value}" for value in entry["hashes"])
        lines.append(f"{canonical_name(name)}=={version} {hashes}")
    return "\n".join(lines) + "\n"


class WheelCount(Progress):
    """Count the packages `pip wheel` has reached, out of the `total` it was asked for.

    pip prints `Collecting <name>` as it fetches each package (it saves the wheels only
    at the end).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def feed(self, line: str) -> None:
        """Count pip's `Collecting <package>` lines."""
        if line.startswith("Collecting "):
            self.done += 1

    def describe(self) -> str:
        """Return `collected/total packages`."""
        return f"{self.done}/{self.total} packages collected"


def build_wheels(requirements: Path) -> Path:
    """Build every wheel a requirements file needs into $CACHE/wheels/<name>-<digest>.

    pip first resolves the requirements within the lock's versions (a dry run that installs
    nothing); then every package it chose is pinned with the lock's hashes and `pip wheel
    --require-hashes` downloads and checks them. The host's Python 3.11 matches the images'
    (Debian's python3 is 3.11, as is the default public base), so its wheels install there
    unchanged. A folder is complete once its `.complete` marker exists; pip's own download
    cache sits under $CACHE/pip.
    """
    if sys.version_info[:2] != (3, 11):
        fail(
            f"the wheels are built with the host's Python, which must be 3.11 like the images' "
            f"(it is {sys.version.split()[0]})"
        )
    packages = lock_packages()
    constraints = lock_constraints(packages)
    app = requirements.parent.name
    key = digest(
        [
            requirements.read_text(),
            json.dumps(packages, sort_keys=True),
            sys.implementation.cache_tag,
        ]
    )
    folder = cache_dir() / "wheels" / f"{app}-{key}"
    if (folder / ".complete").exists():
        return folder
    started = time.monotonic()
    log(f"wheels: {requirements.relative_to(REPO)} within Pipfile.lock, hash-checked -> {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    constraints_file = folder / "constraints.txt"
    constraints_file.write_text(constraints)
    env = dict(os.environ, PIP_CACHE_DIR=str(cache_dir() / "pip"))
    env.pop("PIP_FIND_LINKS", None)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    report = folder / "resolved.json"
    run(
        [
            *pip,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--root-user-action=ignore",
            "--report",
            str(report),
            "-r",
            str(requirements),
            "-c",
            str(constraints_file),
        ],
        what=f"pip resolve for {app}",
        env=env,
        log_file=images_cache() / "logs" / f"wheels-{app}-resolve.log",
    )
    chosen = json.loads(report.read_text())["install"]
    hashed = folder / "requirements-hashed.txt"
    hashed.write_text(
        hashed_requirements(
            ((item["metadata"]["name"], item["metadata"]["version"]) for item in chosen), packages
        )
    )
    run(
        [*pip[:-1], "wheel", "--require-hashes", "--wheel-dir", str(folder), "-r", str(hashed)],
        what=f"pip wheel for {app}",
        env=env,
        log_file=images_cache() / "logs" / f"wheels-{app}.log",
        progress=WheelCount(len(chosen)),
    )
    (folder / ".complete").write_text("")
    for stale in folder.parent.glob(f"{app}-*"):
        if stale != folder:
            shutil.rmtree(stale)
    log(f"wheels: {len(list(folder.glob('*.whl')))} wheels in {time.monotonic() - started:.0f} s")
    return folder
