"""Figures of the host: the machine, versions, the cluster's own memory, images, chart build."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from localcluster import deploy, images, settings, supervisor
from localcluster.settings import Paths

REPO = Path(__file__).resolve().parents[1]


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _first_line(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        return "not installed"
    return (result.stdout or result.stderr).strip().splitlines()[0]


def machine(paths: Paths) -> dict[str, Any]:
    """Cores, memory, CPU, kernel, date and the versions of what is measured."""
    commit = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "memory_gib": _meminfo_gib(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "os": _first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "commit": commit,
        "versions": {
            "kubernetes": settings.KUBERNETES_VERSION,
            "helm": _first_line([str(paths.bin / "helm"), "version", "--short"]),
            "chart": deploy.chart_version(REPO / "dist" / "todo-chatbot"),
            "python": platform.python_version(),
            "chromium": _first_line(["/usr/bin/chromium", "--version"]),
            "containerd": _first_line(["containerd", "--version"]),
            "postgresql": _first_line(["/usr/lib/postgresql/15/bin/postgres", "--version"]),
        },
    }


def _rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return round(total, 1)


def cluster_memory(paths: Paths) -> dict[str, float]:
    """RSS (MiB) of each host process of the local cluster, with their children."""
    usage = {}
    for process in settings.HOST_PROCESSES:
        pid = supervisor.running_pid(paths, process.name)
        if pid is not None:
            usage[process.name] = _rss_mib(pid)
    return dict(sorted(usage.items(), key=lambda item: -item[1]))


def image_sizes(paths: Paths) -> dict[str, float]:
    """Size (MiB) of each image archive `make images` built (uncompressed layers)."""
    sizes = {}
    for name, entry in sorted(images.built(paths).items()):
        archive = Path(entry["archive"])
        if archive.is_file():
            sizes[name] = round(archive.stat().st_size / 2**20, 1)
    return sizes


def chart_build_seconds() -> dict[str, float]:
    """Time `make synth` alone, then `make chart` (synth + post-step + lint + package)."""
    timings = {}
    for target in ("synth", "chart"):
        began = time.monotonic()
        subprocess.run(
            ["make", "-s", "-C", str(REPO), target],
            check=True,
            capture_output=True,
            timeout=600,
        )
        timings[target] = round(time.monotonic() - began, 1)
    timings["post-step, lint and package"] = round(timings["chart"] - timings["synth"], 1)
    return timings


def save_json(path: Path, data: Any) -> None:
    """Write JSON with a trailing newline (a stable, reviewable file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
