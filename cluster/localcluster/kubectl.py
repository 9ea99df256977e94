"""Run the built kubectl against the local cluster with the admin kubeconfig; apply add-ons."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import ClusterError
from .progress import heartbeat, say
from .settings import Paths
from .shell import run


def kubectl(
    paths: Paths,
    *args: str,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `kubectl --kubeconfig $STATE/kubeconfig <args>`."""
    return run(
        [paths.bin / "kubectl", f"--kubeconfig={paths.kubeconfig}", *args],
        input_text=input_text,
        check=check,
        timeout=timeout,
    )


# Server-side apply: a CRD is larger than the annotation client-side apply keeps; the cluster's
# own add-ons are applied by one field manager.
SERVER_SIDE = ("--server-side", "--force-conflicts", "--field-manager=localcluster")


def apply_crds(paths: Paths, files: Sequence[Path]) -> None:
    """Apply CRD files named <group>_<plural>.yaml, then wait until each is Established."""
    for path in files:
        kubectl(paths, "apply", *SERVER_SIDE, "-f", str(path))
    names = ["crd/{1}.{0}".format(*path.name.removesuffix(".yaml").split("_", 1)) for path in files]
    kubectl(paths, "wait", "--for=condition=Established", "--timeout=60s", *names, timeout=90)


def apply_list(paths: Paths, objects: list[dict[str, object]], *, name: str) -> None:
    """Apply objects server-side as one List, kept in $STATE/config/addons/<name>.json."""
    target = paths.config / "addons" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    kubectl(paths, "apply", *SERVER_SIDE, "-f", str(target))


# How long a workload of the cluster (an add-on, the ingress controller) may take to roll out.
ROLLOUT_TIMEOUT_SECONDS = 180


def wait(paths: Paths, namespace: str, *args: str, timeout_seconds: int, failure: str) -> None:
    """Run a kubectl command that waits (`wait`, `rollout status`) for up to `timeout_seconds`.

    When it gives up, raise ClusterError(`failure`), which says what to look at.
    """
    result = kubectl(
        paths,
        "-n",
        namespace,
        *args,
        f"--timeout={timeout_seconds}s",
        check=False,
        timeout=timeout_seconds + 10,
    )
    if result.returncode != 0:
        raise ClusterError(failure)


def wait_rolled_out(paths: Paths, namespace: str, workload: str, *, what: str, look: str) -> None:
    """Wait for `workload` (`kind/name`) to roll out, with a heartbeat; `look`: what to check."""
    say(f"waiting for {what}")
    with heartbeat(what):
        wait(
            paths,
            namespace,
            "rollout",
            "status",
            workload,
            timeout_seconds=ROLLOUT_TIMEOUT_SECONDS,
            failure=f"{workload} not ready after {ROLLOUT_TIMEOUT_SECONDS}s: run {look}",
        )
