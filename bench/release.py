"""The benchmark's own releases of the chart, installed like the local cluster installs its own.

Each release lives in a `bench*` namespace with its own Secret and NodePort, so the benchmark
never touches the `todo-chatbot` release or the e2e suite's namespaces. The values are the
local cluster's (`localcluster.deploy.local_values`) plus what a scenario overrides.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from localcluster import database_clients, deploy, images
from localcluster.kubectl import kubectl
from localcluster.settings import Paths
from localcluster.shell import run

SECRET = "bench-credentials"
HELM_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Release:
    """One release of the chart: its name, namespace and the NodePort the user opens.

    `monitored`: with the chart's ServiceMonitor and PrometheusRule, scraped by the cluster's
    Prometheus (as `make up`'s release).
    """

    name: str
    namespace: str
    node_port: int
    monitored: bool = False

    @property
    def url(self) -> str:
        """The frontend's URL from the user's network namespace."""
        return deploy.public_url(self.node_port)

    @property
    def fullname(self) -> str:
        """The chart's object name prefix (`<release>-todo-chatbot` unless it contains it)."""
        return self.name if "todo-chatbot" in self.name else f"{self.name}-todo-chatbot"

    def deployment(self, component: str) -> str:
        """The Deployment name of `backend` or `frontend`."""
        return f"{self.fullname}-{component}"


def values(
    release: Release, digests: dict[str, str], overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The local cluster's values for this release, on the pushed images, with overrides."""
    base = deploy.local_values(
        secret=SECRET,
        node_port=release.node_port,
        digests=digests,
        many_users=True,
        monitored=release.monitored,
    )
    return deploy.merge_values(base, overrides or {})


def prepare(paths: Paths, release: Release) -> str:
    """Create the namespace and the Secret, push the chart; return the chart reference."""
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        # Its pods may then reach the host's PostgreSQL (database_clients).
        "metadata": {
            "name": release.namespace,
            "labels": {database_clients.RELEASE_NAMESPACE_LABEL: "true"},
        },
    }
    kubectl(paths, "apply", "-f", "-", input_text=json.dumps(namespace))
    deploy.apply_secret(
        paths, namespace=release.namespace, name=SECRET, data=deploy.credentials(paths)
    )
    return deploy.push_chart(paths)


def helm_upgrade(
    paths: Paths,
    release: Release,
    chart_ref: str,
    overrides: dict[str, Any] | None = None,
    *,
    wait: bool = True,
) -> float:
    """`helm upgrade --install` the release; return the seconds helm took."""
    version = deploy.chart_version(paths.repo / "dist" / "todo-chatbot")
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-values-") as file:
        json.dump(values(release, images.app_digests(paths), overrides), file)
        file.flush()
        argv: list[str] = [
            str(paths.bin / "helm"),
            "upgrade",
            "--install",
            release.name,
            chart_ref,
            "--version",
            version,
            "--plain-http",
            "--namespace",
            release.namespace,
            f"--kubeconfig={paths.kubeconfig}",
            "--values",
            file.name,
        ]
        if wait:
            argv += ["--wait", f"--timeout={HELM_TIMEOUT_SECONDS}s"]
        began = time.monotonic()
        run(argv, timeout=HELM_TIMEOUT_SECONDS + 60)
        return time.monotonic() - began


def uninstall(paths: Paths, release: Release) -> None:
    """Remove the release and its namespace (waits until the namespace is gone)."""
    kubectl(paths, "delete", "namespace", release.namespace, "--ignore-not-found", timeout=300)


def scale(paths: Paths, release: Release, component: str, replicas: int) -> None:
    """Set a Deployment's replica count (what `kubectl scale` does; helm values stay as set)."""
    kubectl(
        paths,
        "-n",
        release.namespace,
        "scale",
        f"deployment/{release.deployment(component)}",
        f"--replicas={replicas}",
    )
