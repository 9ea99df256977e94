"""A signed chart package changed after signing, for the tests that Helm refuses it."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path


def tampered(package: Path, destination: Path) -> Path:
    """The package with one default in values.yaml changed, and the original provenance file."""
    destination.mkdir(parents=True)
    out = destination / package.name
    with tarfile.open(package) as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            content = data.read() if data else b""
            if member.name.endswith("/values.yaml"):
                changed = content.replace(b"replicaCount: 1", b"replicaCount: 9", 1)
                assert changed != content, "values.yaml has no replicaCount: 1 to change"
                content = changed
                member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    shutil.copy(f"{package}.prov", f"{out}.prov")
    return out
