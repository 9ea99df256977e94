"""Run the built kubectl against the local cluster with the admin kubeconfig; apply add-ons."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from kubernetes import client

from . import kube
from .settings import Paths
from .shell import run

# Server-side apply: a CRD is larger than the annotation client-side apply keeps; the cluster's
# own add-ons are applied by one field manager.
SERVER_SIDE = ("--server-side", "--force-conflicts", "--field-manager=localcluster")
CRD_TIMEOUT_SECONDS = 60


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


def apply_crds(paths: Paths, files: Sequence[Path], *, what: str) -> None:
    """Apply CRD files named <group>_<plural>.yaml, then wait until each is Established.

    `what` names the CRDs in the timeout's message ("the Gateway API CRDs").
    """
    for path in files:
        kubectl(paths, "apply", *SERVER_SIDE, "-f", str(path))
    # The files are named <group>_<plural>.yaml; the CRDs <plural>.<group>.
    names = {"{1}.{0}".format(*path.name.removesuffix(".yaml").split("_", 1)) for path in files}

    def established(found: list[kube.Object]) -> bool:
        return names <= {
            c["metadata"]["name"] for c in found if kube.condition_true(c, "Established")
        }

    with kube.api_client(paths) as api:
        kube.wait_in_cluster(
            client.ApiextensionsV1Api(api).list_custom_resource_definition,
            established,
            what=f"{what} Established",
            timeout_seconds=CRD_TIMEOUT_SECONDS,
            look=f"run `kubectl --kubeconfig {paths.kubeconfig} get crd`",
        )


def apply_list(paths: Paths, objects: list[dict[str, object]], *, name: str) -> None:
    """Apply objects server-side as one List, kept in $STATE/config/addons/<name>.json."""
    target = paths.config / "addons" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    kubectl(paths, "apply", *SERVER_SIDE, "-f", str(target))
