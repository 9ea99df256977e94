"""A released chart version's package, made again from the commit docs/releases.yaml names.

The chart folder is committed, so a commit's dist/todo-chatbot is what its `make chart` built
(its own tests checked that), and the pinned Helm 4 packages it byte for byte as `make chart`
did; the record's `packageSha256` says which bytes were released.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "docs" / "releases.yaml"
CHART = "todo-chatbot"


def releases() -> list[dict[str, Any]]:
    """Every released version with its commit and package digest, oldest first."""
    recorded: list[dict[str, Any]] = yaml.safe_load(RECORD.read_text())
    return recorded


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package(version: str, *, helm: Path, cache: Path) -> Path:
    """The package of a released version, cached in <cache>/releases/<version>-<commit>/.

    Fails unless it is the released package (`packageSha256` in the record).
    """
    (release,) = [release for release in releases() if release["version"] == version]
    folder = cache / "releases" / f"{version}-{release['commit']}"
    built = folder / f"{CHART}-{version}.tgz"
    if not built.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", release["commit"], f"dist/{CHART}"],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            subprocess.run(
                [str(helm), "package", f"{tmp}/dist/{CHART}", "--destination", tmp],
                capture_output=True,
                check=True,
            )
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(f"{tmp}/{built.name}", built)
    assert sha256(built) == release["packageSha256"], f"{built} is not the released {version}"
    return built
