"""What the host looked like before the first `up`, so `down` removes only what we added."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import hostnet
from .settings import Paths

# Host paths that containerd, the CNI plugins, `ip netns` or the kubelet create when missing;
# `down` removes those that did not exist before (and only when they are empty of others' files).
HOST_PATHS = (
    "/run/netns",
    "/run/containerd",
    "/var/lib/cni",
    "/var/log/containers",
    "/var/log/pods",
    "/run/xtables.lock",
)


def mountpoints(mounts_text: str) -> list[str]:
    """The mount points listed in /proc/mounts, in mount order (octal escapes decoded)."""
    points = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) > 1:
            points.append(fields[1].encode().decode("unicode_escape"))
    return points


def take(paths: Paths) -> dict[str, Any]:
    """Record the host's state once, before the first `up`; later calls return the record."""
    if paths.host_snapshot.exists():
        return load(paths)
    record: dict[str, Any] = {
        "sysctls": {key: hostnet.read_sysctl(key) for key in hostnet.TRACKED_SYSCTLS},
        **hostnet.firewall_snapshot(),
        "mounts": mountpoints(Path("/proc/mounts").read_text()),
        "host_paths": {path: Path(path).exists() for path in HOST_PATHS},
    }
    paths.host_snapshot.parent.mkdir(parents=True, exist_ok=True)
    paths.host_snapshot.write_text(json.dumps(record, indent=2) + "\n")
    return record


def load(paths: Paths) -> dict[str, Any]:
    """The recorded state, or an empty record when `up` never got as far as taking it."""
    if not paths.host_snapshot.exists():
        return {}
    data: dict[str, Any] = json.loads(paths.host_snapshot.read_text())
    return data
