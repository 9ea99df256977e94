"""Which pods may reach the AI stand-in: the chart's backend pods, kept in an ipset.

The stand-in is a host process on the node IP, so no NetworkPolicy guards it: the host
firewall drops its port for every pod whose address is not in `hostnet.AI_CLIENTS_SET`.
This process (`python -m localcluster.ai_clients`, supervised as `ai-clients`) watches the
pods labelled as a todo-chatbot backend and, on every change, makes the set hold exactly their
addresses, and again every RESYNC_SECONDS. Between a backend pod getting its address and the
next sync, its connections to the stand-in are dropped and retried by TCP.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from typing import Any

from . import hostnet, supervisor
from .settings import Paths, paths_from_env
from .shell import run

NAME = "ai-clients"
SELECTOR = "app.kubernetes.io/part-of=todo-chatbot,app.kubernetes.io/component=backend"
_STAGING_SET = f"{hostnet.AI_CLIENTS_SET}-NEW"
# A sync lists the pods once (one kubectl call): often enough that a new backend pod's first
# retransmitted SYN gets through, rarely enough to cost next to nothing.
RESYNC_SECONDS = 2.0


def backend_addresses(pods: dict[str, Any]) -> list[str]:
    """The addresses of the pods in a `kubectl get pods -o json` list that are not finished."""
    return sorted(
        {
            pod["status"]["podIP"]
            for pod in pods["items"]
            if pod["status"].get("podIP")
            and pod["status"].get("phase") not in ("Succeeded", "Failed")
            and not pod["spec"].get("hostNetwork")
        }
    )


def restore_script(addresses: list[str]) -> str:
    """An `ipset restore` script that makes the set hold exactly `addresses`, atomically."""
    lines = [
        f"create {_STAGING_SET} hash:ip -exist",
        f"flush {_STAGING_SET}",
        *(f"add {_STAGING_SET} {address}" for address in addresses),
        f"swap {_STAGING_SET} {hostnet.AI_CLIENTS_SET}",
        f"destroy {_STAGING_SET}",
    ]
    return "\n".join(lines) + "\n"


def _kubectl(paths: Paths, *args: str) -> list[str]:
    return [str(paths.bin / "kubectl"), f"--kubeconfig={paths.kubeconfig}", *args]


def sync(paths: Paths) -> None:
    """Put the backend pods' current addresses in the set."""
    listing = run(_kubectl(paths, "get", "pods", "--all-namespaces", "-l", SELECTOR, "-o", "json"))
    run(
        ["ipset", "restore"],
        input_text=restore_script(backend_addresses(json.loads(listing.stdout))),
    )


def watch(paths: Paths) -> None:
    """Sync now, on every change of a backend pod, and every RESYNC_SECONDS, until the watch ends.

    The periodic sync bounds how long a missed or late event leaves the set stale.
    """
    command = _kubectl(
        paths, "get", "pods", "--all-namespaces", "-l", SELECTOR, "--watch-only", "-o", "name"
    )
    # Watching first, then listing: a change between the two is seen twice, never missed.
    with subprocess.Popen(command, stdout=subprocess.PIPE) as watcher:
        assert watcher.stdout is not None
        events = watcher.stdout.fileno()
        try:
            while True:
                sync(paths)
                ready, _, _ = select.select([events], [], [], RESYNC_SECONDS)
                if ready and not os.read(events, 65536):
                    return
        finally:
            watcher.kill()


def start(paths: Paths) -> None:
    """Run the watcher under the supervisor (it needs the apiserver, and outlives `up`)."""
    env = {**os.environ, "PYTHONPATH": str(paths.repo / "cluster")}
    argv = [sys.executable, "-m", "localcluster.ai_clients"]
    supervisor.start(paths, supervisor.Process(NAME, argv, env=env, cwd=paths.repo))


def main() -> None:
    """Keep watching; a watch the apiserver ends (restart, timeout) is started again."""
    paths = paths_from_env()
    while True:
        try:
            watch(paths)
        except Exception as exc:
            # Logged, then retried: the set must keep following the pods.
            print(f"ai-clients: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        time.sleep(1)


if __name__ == "__main__":
    main()
