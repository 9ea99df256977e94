"""A small Kubernetes API client for the benchmark: pods, their readiness, metrics, pod proxy.

The benchmark polls pod state every few hundred milliseconds while it times recoveries; doing
that through `kubectl` would start a process per poll and steal CPU from the cluster being
measured (the machine has 2 cores), so it talks to the apiserver directly with the admin
certificate of the local cluster.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from localcluster import deploy, settings
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
        )


class Kube:
    """The apiserver of the local cluster, as the cluster admin."""

    def __init__(self, paths: Paths) -> None:
        """Open one keep-alive connection to the apiserver with the admin certificate."""
        tls = ssl.create_default_context(cafile=paths.pki / "ca.crt")
        tls.load_cert_chain(paths.pki / "admin.crt", paths.pki / "admin.key")
        self._http = httpx.Client(
            base_url=f"https://{settings.NODE_IP}:{settings.PORTS.apiserver}",
            verify=tls,
            timeout=30,
            trust_env=False,
        )

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    def get(self, path: str, **params: str) -> Any:
        """GET an API path and return its JSON; raise on an error status."""
        response = self._http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def pods(self, namespace: str, component: str | None = None) -> list[Pod]:
        """The pods of a namespace, optionally only one component's."""
        params = {"labelSelector": f"app.kubernetes.io/component={component}"} if component else {}
        items = self.get(f"/api/v1/namespaces/{namespace}/pods", **params)["items"]
        return sorted((Pod.from_api(item) for item in items), key=lambda p: p.name)

    def delete_pod(self, namespace: str, name: str) -> None:
        """Delete a pod gracefully (its preStop hook and grace period apply)."""
        self._http.delete(f"/api/v1/namespaces/{namespace}/pods/{name}").raise_for_status()

    def pod_metrics(self, namespace: str) -> dict[str, tuple[float, float]]:
        """CPU (cores) and memory (MiB) of each pod, from metrics-server (as `kubectl top`)."""
        items = self.get(f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods")["items"]
        usage: dict[str, tuple[float, float]] = {}
        for item in items:
            cpu = sum(deploy.quantity(c["usage"]["cpu"]) for c in item["containers"])
            memory = sum(deploy.quantity(c["usage"]["memory"]) for c in item["containers"]) / 2**20
            usage[item["metadata"]["name"]] = (cpu, memory)
        return usage

    def pod_proxy_get(self, namespace: str, pod: str, port: int, path: str) -> httpx.Response:
        """GET a path of a pod through the apiserver's proxy (reaches pods the user cannot)."""
        return self._http.get(f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy{path}")

    def wait(self, what: str, check: Callable[[], bool], *, timeout: float = 300) -> float:
        """Poll `check` until it is true; return the time.time() it became true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return time.time()
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"{what}: not reached within {timeout:.0f}s")
