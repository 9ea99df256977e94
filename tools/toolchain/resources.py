"""The memory and disk this machine has to spare, for the checks before a build or a boot."""

from __future__ import annotations

import shutil
from pathlib import Path


def available_memory_mib(meminfo_text: str) -> int:
    """Read MemAvailable (what the kernel can give a new process) from /proc/meminfo, in MiB."""
    for line in meminfo_text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise ValueError("/proc/meminfo has no MemAvailable line")


def free_disk_mib(path: Path) -> int:
    """Free space of the file system that holds `path` (or would, once made), in MiB."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free // (1024 * 1024)
