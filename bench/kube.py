"""The benchmark's view of the cluster: pods, their readiness, metrics, pod proxy.

The benchmark times recoveries to a fraction of a second, so it waits on a watch of the pods
(`localcluster.kube.wait_for`): the time a pod turned Ready is when the apiserver reported it,
not a poll's next tick. Everything goes through one client of the official `kubernetes`
package with the local cluster's admin kubeconfig; no `kubectl` process is started per look,
which would steal CPU from the cluster being measured (the machine has 2 cores).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.utils import parse_quantity
from localcluster import kube
from localcluster.settings import Paths

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Pod:
    """What the benchmark needs to know about one pod."""

    name: str
    component: str
    phase: str
    ready: bool
    deleting: bool
    restarts: int
    container_id: str
    node: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Pod:
        """Build from a pod object of the API."""
        meta = item["metadata"]
        status = item.get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        containers = status.get("containerStatuses") or [{}]
        return cls(
            name=meta["name"],
            component=meta.get("labels", {}).get("app.kubernetes.io/component", ""),
            phase=status.get("phase", ""),
            ready=conditions.get("Ready") == "True",
            deleting="deletionTimestamp" in meta,
            restarts=int(containers[0].get("restartCount", 0)),
            container_id=str(containers[0].get("containerID", "")).removeprefix("containerd://"),
            node=str(item.get("spec", {}).get("nodeName", "")),
        )


class Kube:
    """The apiserver of the local cluster, as the cluster admin."""

    def __init__(self, paths: Paths) -> None:
        """Open one client (a keep-alive connection pool) with the admin kubeconfig."""
        self._api = kube.api_client(paths)
        self._core = client.CoreV1Api(self._api)
        self._custom = client.CustomObjectsApi(self._api)

    def close(self) -> None:
        """Close the connections."""
        self._api.close()

    def pods(self, namespace: str, component: str | None = None) -> list[Pod]:
        """The pods of a namespace, optionally only one component's."""
        items, _ = kube.list_objects(
            self._core.list_namespaced_pod, namespace=namespace, **_component(component)
        )
        return sorted((Pod.from_api(item) for item in items), key=lambda p: p.name)

    def running_pods(self) -> list[dict[str, Any]]:
        """Every Running pod of the cluster, as the API's JSON."""
        items, _ = kube.list_objects(
            self._core.list_pod_for_all_namespaces, field_selector="status.phase=Running"
        )
        return items

    def delete_pod(self, namespace: str, name: str) -> None:
        """Delete a pod gracefully (its preStop hook and grace period apply)."""
        self._core.delete_namespaced_pod(name, namespace)

    def pod_metrics(self, namespace: str) -> dict[str, tuple[float, float]]:
        """CPU (cores) and memory (MiB) of each pod, from metrics-server (as `kubectl top`)."""
        items = self._custom.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", namespace, "pods"
        )["items"]
        usage: dict[str, tuple[float, float]] = {}
        for item in items:
            cpu = sum(parse_quantity(c["usage"]["cpu"]) for c in item["containers"])
            memory = sum(parse_quantity(c["usage"]["memory"]) for c in item["containers"])
            usage[item["metadata"]["name"]] = (float(cpu), float(memory) / 2**20)
        return usage

    def pod_proxy_get(self, namespace: str, pod: str, port: int, path: str) -> tuple[int, str]:
        """GET a path of a pod through the apiserver's proxy (reaches pods the user cannot).

        Returns the status and the body; a pod that does not answer gives the proxy's error
        status.
        """
        try:
            response = self._core.connect_get_namespaced_pod_proxy_with_path(
                f"{pod}:{port}", namespace, path.lstrip("/"), _preload_content=False
            )
        except client.ApiException as error:
            return int(error.status), str(error.body)
        return int(response.status), response.data.decode()

    def wait_pods(
        self,
        what: str,
        condition: Callable[[list[Pod]], bool],
        *,
        namespace: str,
        timeout: float = 300,
    ) -> float:
        """Wait on a watch until `condition` holds for the namespace's pods; return the time.time().

        The time is taken when the event that made it true arrived.
        """
        kube.wait_for(
            self._core.list_namespaced_pod,
            lambda items: condition([Pod.from_api(item) for item in items]),
            what=what,
            timeout_seconds=timeout,
            namespace=namespace,
        )
        return time.time()


def poll(what: str, check: Callable[[], bool], *, timeout: float = 300) -> float:
    """Poll `check` until it is true; return the time.time() it became true.

    Only for what no watch reports: a file appearing, a pod's own counters, metrics-server's
    figures (its API lists, it does not watch).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.time()
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{what}: not reached within {timeout:.0f}s")


def _component(component: str | None) -> dict[str, str]:
    return {"label_selector": f"app.kubernetes.io/component={component}"} if component else {}
