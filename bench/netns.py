"""Run a benchmark command inside the end user's network namespace (`todo-user`).

The load must take the end user's path: from the user's "machine" to the frontend's NodePort
on the host end of its veth. The benchmark's own Python runs there through `ip netns exec`;
only the network is separate, so results come back through files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localcluster import settings

REPO = Path(__file__).resolve().parents[1]


def command(module_args: list[str]) -> list[str]:
    """The argv that runs `python -m bench <module_args>` inside the user's namespace."""
    return ["ip", "netns", "exec", settings.USER_NETNS, sys.executable, "-m", "bench", *module_args]


def environment() -> dict[str, str]:
    """This process's environment with the repository on the Python path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "cluster")])
    return env


def start(module_args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a benchmark command in the namespace; its output goes to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command(module_args), env=environment(), stdout=out, stderr=subprocess.STDOUT
        )


def run(module_args: list[str], log: Path, *, timeout: float) -> None:
    """Run a benchmark command in the namespace to its end; raise when it fails."""
    process = start(module_args, log)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"`bench {module_args[0]}` did not finish in {timeout:.0f}s") from None
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"`bench {module_args[0]}` failed ({code}): " + " | ".join(tail))
