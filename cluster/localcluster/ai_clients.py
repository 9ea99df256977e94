"""Which pods may reach a host service, each kept in an ipset: here, the AI stand-in's clients.

The stand-in and PostgreSQL are host processes on the node IP, so no NetworkPolicy guards them:
the host firewall drops their ports for every pod whose address is not in the service's set
(`hostnet.AI_CLIENTS_SET`, `hostnet.DATABASE_CLIENTS_SET`). A watcher process (this one,
`python -m localcluster.ai_clients`, supervised as `ai-clients`, for the chart's backend pods;
`database_clients` for the database) watches the pods and, on every change, makes the set hold
exactly the addresses of the pods allowed in, and again every RESYNC_SECONDS. Between a pod
getting its address and the next sync, its connections are dropped and retried by TCP.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from . import hostnet, supervisor
from .settings import Paths, paths_from_env
from .shell import run

NAME = "ai-clients"
SELECTOR = "app.kubernetes.io/part-of=todo-chatbot,app.kubernetes.io/component=backend"
# A sync lists the pods once (one kubectl call): often enough that a new pod's first
# retransmitted SYN gets through, rarely enough to cost next to nothing.
RESYNC_SECONDS = 2.0


def pod_addresses(pods: list[dict[str, Any]]) -> list[str]:
    """The addresses of the pods (items of `kubectl get pods -o json`) that are not finished."""
    return sorted(
        {
            pod["status"]["podIP"]
            for pod in pods
            if pod["status"].get("podIP")
            and pod["status"].get("phase") not in ("Succeeded", "Failed")
            and not pod["spec"].get("hostNetwork")
        }
    )


def restore_script(addresses: list[str], set_name: str = hostnet.AI_CLIENTS_SET) -> str:
    """An `ipset restore` script that makes `set_name` hold exactly `addresses`, atomically."""
    staging = f"{set_name}-NEW"
    lines = [
        f"create {staging} hash:ip -exist",
        f"flush {staging}",
        *(f"add {staging} {address}" for address in addresses),
        f"swap {staging} {set_name}",
        f"destroy {staging}",
    ]
    return "\n".join(lines) + "\n"


def kubectl_json(paths: Paths, *args: str) -> Any:
    """The JSON answer of `kubectl <args> -o json` with the cluster's admin kubeconfig."""
    return json.loads(run([*_kubectl(paths, *args), "-o", "json"]).stdout)


def _kubectl(paths: Paths, *args: str) -> list[str]:
    return [str(paths.bin / "kubectl"), f"--kubeconfig={paths.kubeconfig}", *args]


def sync(paths: Paths) -> None:
    """Put the backend pods' current addresses in the set."""
    pods = kubectl_json(paths, "get", "pods", "--all-namespaces", "-l", SELECTOR)["items"]
    run(["ipset", "restore"], input_text=restore_script(pod_addresses(pods)))


def watch(paths: Paths, sync: Callable[[Paths], None], *selection: str) -> None:
    """`sync` now, on every change of a pod of `selection`, and every RESYNC_SECONDS, until the
    watch ends. The periodic sync bounds how long a missed or late event leaves the set stale.
    """
    command = _kubectl(
        paths, "get", "pods", "--all-namespaces", *selection, "--watch-only", "-o", "name"
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


def start_watcher(paths: Paths, name: str, module: str) -> None:
    """Run `python -m localcluster.<module>` under the supervisor as `name` (it needs the
    apiserver, and outlives `up`)."""
    env = {**os.environ, "PYTHONPATH": str(paths.repo / "cluster")}
    argv = [sys.executable, "-m", f"localcluster.{module}"]
    supervisor.start(paths, supervisor.Process(name, argv, env=env, cwd=paths.repo))


def keep_watching(name: str, watch_once: Callable[[Paths], None]) -> None:
    """Run `watch_once` for ever; a watch the apiserver ends (restart, timeout) starts again."""
    paths = paths_from_env()
    while True:
        try:
            watch_once(paths)
        except Exception as exc:
            # Logged, then retried: the set must keep following the pods.
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        time.sleep(1)


def start(paths: Paths) -> None:
    """Run the AI stand-in's watcher."""
    start_watcher(paths, NAME, "ai_clients")


if __name__ == "__main__":
    keep_watching(NAME, lambda paths: watch(paths, sync, "-l", SELECTOR))
