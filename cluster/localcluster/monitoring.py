"""Prometheus on the local cluster: the Prometheus Operator and one Prometheus it runs.

Both live in the `monitoring` namespace, the namespace `make up`'s release admits to its metrics
port (`networkPolicy.metricsNamespace`). The operator (RBAC and Deployment as upstream's
example/rbac/prometheus-operator, with the image built here) watches every namespace; the
Prometheus object selects the chart's ServiceMonitors, PodMonitors and PrometheusRules (label
`app.kubernetes.io/name: todo-chatbot`) in any namespace, so the release's and the e2e
releases' rules and targets all land in it. Its web port is published as a NodePort, which the
end user reaches on the host end of their veth like the app's.

The CRDs are those of ../shared/crds/prometheus-operator-v0.93.0, the release the chart's
bindings are generated from and the operator is built at (tools/toolchain/pins.py).
"""

from __future__ import annotations

import functools
from pathlib import Path

from kubernetes import client

from . import addon_objects as addon
from . import images, kube, settings
from .addon_objects import READ
from .errors import ClusterError
from .kubectl import apply_crds, apply_list
from .progress import heartbeat
from .settings import Paths

NAMESPACE = "monitoring"
OPERATOR = "prometheus-operator"
# The Prometheus object; the operator names its StatefulSet prometheus-<NAME>.
NAME = "todo-chatbot"
PROMETHEUS_SERVICE_ACCOUNT = "prometheus"
# Prometheus' web port, which the operator gives the container as `web`.
WEB_PORT = 9090
# Next to the frontend's 30080, Traefik's 30081 and the tests' 30082, 30083.
NODE_PORT = 30090
# The uid of the images (their user in images/imagebuild/catalogue.py), the operator's `nobody`.
USER_ID = 65534
# What the chart's monitors and rules carry (app.kubernetes.io/name of every object it makes).
CHART_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "todo-chatbot"}}
# The monitored releases' scrape interval (the chart's default is 30 s): a pod killed or a fault
# of a few seconds on the local cluster then shows in its counters before they are lost with the
# process, and in a 1-minute rate (the e2e suite and `make soak` look for exactly that).
SCRAPE_INTERVAL = "5s"
# How often Prometheus evaluates the rules (the chart's recorded series are this fresh); the
# usual 30 s would add up to half a minute to every wait of the tests and the soak for a
# recorded series, and the chart's rules cost Prometheus next to nothing.
EVALUATION_INTERVAL_SECONDS = 10
SHARED_CRDS = "prometheus-operator-v0.93.0"
AVAILABLE_TIMEOUT_SECONDS = 180
LABELS = {"app.kubernetes.io/part-of": "todo-chatbot-cluster"}
OPERATOR_LABELS = {"app.kubernetes.io/name": OPERATOR, **LABELS}
# Measured on the local cluster (2026-12-02): Prometheus 71 MB resident with the release's
# targets and rules (its binary mapped in; working set 28 MiB), the operator 60 MB, its reloader
# sidecar 32 MB. The limit leaves room for a few days of series and for e2e releases' targets.
PROMETHEUS_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"memory": "512Mi"},
}


def url(node_port: int = NODE_PORT) -> str:
    """Prometheus' URL as the end user reaches it (its HTTP API; see the README for the UI)."""
    return f"http://{settings.USER_HOST_IP}:{node_port}"


def restricted_pod() -> dict[str, object]:
    """The pod security context of both workloads: the restricted Pod Security profile."""
    return {
        "runAsNonRoot": True,
        "runAsUser": USER_ID,
        "runAsGroup": USER_ID,
        "fsGroup": USER_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def operator_cluster_role() -> dict[str, object]:
    """What the operator manages and reads, as upstream's prometheus-operator-cluster-role."""
    kinds = [
        "alertmanagers", "alertmanagers/finalizers", "alertmanagers/status",
        "alertmanagerconfigs", "prometheuses", "prometheuses/finalizers",
        "prometheuses/status", "prometheusagents", "prometheusagents/finalizers",
        "prometheusagents/status", "thanosrulers", "thanosrulers/finalizers",
        "thanosrulers/status", "scrapeconfigs", "scrapeconfigs/status", "servicemonitors",
        "servicemonitors/status", "podmonitors", "podmonitors/status", "probes",
        "probes/status", "prometheusrules", "prometheusrules/status",
    ]  # fmt: skip
    return addon.cluster_role(
        OPERATOR,
        OPERATOR_LABELS,
        [
            {"apiGroups": ["monitoring.coreos.com"], "resources": kinds, "verbs": ["*"]},
            {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]},
            {
                "apiGroups": [""],
                "resources": ["services", "services/finalizers", "endpoints"],
                "verbs": ["get", "create", "update", "delete"],
            },
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": READ},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["patch", "create"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": READ},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get"]},
        ],
    )


def prometheus_cluster_role() -> dict[str, object]:
    """What Prometheus' Kubernetes discovery reads, as upstream's prometheus-cluster-role."""
    return addon.cluster_role(
        PROMETHEUS_SERVICE_ACCOUNT,
        LABELS,
        [
            {"apiGroups": [""], "resources": ["services", "endpoints", "pods"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
        ],
    )


def operator_deployment(image: str, reloader_image: str) -> dict[str, object]:
    """One operator replica, as upstream's example deployment, with the images built here.

    It adds `reloader_image` as the sidecar of every Prometheus pod; the kubelet Service that
    upstream's example also maintains is left out (nothing here scrapes the kubelet).
    """
    container = {
        "name": OPERATOR,
        "image": image,
        "args": [
            f"--prometheus-config-reloader={reloader_image}",
            "--disable-unmanaged-prometheus-configuration=true",
        ],
        # As upstream: collect garbage sooner, the operator's heap is small.
        "env": [{"name": "GOGC", "value": "30"}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "200Mi"}},
        "securityContext": addon.LOCKED_DOWN_CONTAINER,
    }
    pod = {"securityContext": restricted_pod(), "containers": [container]}
    return addon.one_replica_deployment(OPERATOR, NAMESPACE, OPERATOR_LABELS, pod)


def prometheus(image: str, version: str) -> dict[str, object]:
    """The Prometheus object: the chart's monitors and rules from every namespace, 7 days kept.

    Its data is an emptyDir: `make down` removes it with the cluster.
    """
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "image": image,
            "version": version,
            "replicas": 1,
            "serviceAccountName": PROMETHEUS_SERVICE_ACCOUNT,
            "securityContext": restricted_pod(),
            "serviceMonitorSelector": CHART_SELECTOR,
            "serviceMonitorNamespaceSelector": {},
            "podMonitorSelector": CHART_SELECTOR,
            "podMonitorNamespaceSelector": {},
            "ruleSelector": CHART_SELECTOR,
            "ruleNamespaceSelector": {},
            "evaluationInterval": f"{EVALUATION_INTERVAL_SECONDS}s",
            "retention": "7d",
            "retentionSize": "1GB",
            "resources": PROMETHEUS_RESOURCES,
        },
    }


def web_service() -> dict[str, object]:
    """Prometheus' web port as a NodePort, for the end user."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "prometheus", "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "type": "NodePort",
            "selector": {
                "app.kubernetes.io/name": "prometheus",
                "operator.prometheus.io/name": NAME,
            },
            "ports": [
                {
                    "name": "web",
                    "port": WEB_PORT,
                    "targetPort": "web",
                    "nodePort": NODE_PORT,
                    "protocol": "TCP",
                }
            ],
        },
    }


def manifests(
    *, operator_image: str, reloader_image: str, prometheus_image: str, version: str
) -> list[dict[str, object]]:
    """Every object besides the CRDs, in the order they can be applied."""
    return [
        addon.restricted_namespace(NAMESPACE, LABELS),
        addon.service_account(OPERATOR, NAMESPACE, LABELS),
        operator_cluster_role(),
        addon.cluster_role_binding(OPERATOR, NAMESPACE, LABELS),
        operator_deployment(operator_image, reloader_image),
        addon.service_account(PROMETHEUS_SERVICE_ACCOUNT, NAMESPACE, LABELS),
        prometheus_cluster_role(),
        addon.cluster_role_binding(PROMETHEUS_SERVICE_ACCOUNT, NAMESPACE, LABELS),
        prometheus(prometheus_image, version),
        web_service(),
    ]


def crd_files(paths: Paths) -> list[Path]:
    """Every CRD file of the operator's release, from ../shared."""
    folder = paths.repo.parent / "shared" / "crds" / SHARED_CRDS
    files = sorted(folder.glob("monitoring.coreos.com_*.yaml"))
    if not files:
        raise ClusterError(f"no Prometheus Operator CRDs in {folder}: ../shared is missing")
    return files


def apply(paths: Paths) -> None:
    """Install or update the CRDs, the operator and Prometheus, then wait for Prometheus."""
    apply_crds(paths, crd_files(paths), what="the Prometheus Operator CRDs")
    prometheus_image = images.ref(paths, "prometheus")
    objects = manifests(
        operator_image=images.ref(paths, "prometheus-operator"),
        reloader_image=images.ref(paths, "prometheus-config-reloader"),
        prometheus_image=prometheus_image,
        version=prometheus_image.rsplit(":", 1)[1],
    )
    apply_list(paths, objects, name=NAMESPACE)
    wait_ready(paths)


def wait_ready(paths: Paths) -> None:
    """Wait for the operator's rollout, then for Prometheus to be Available."""
    look = f"`kubectl --kubeconfig {paths.kubeconfig} -n {NAMESPACE}"
    kube.wait_rolled_out(
        paths, NAMESPACE, "deployment", OPERATOR, look=f"run {look} logs deployment/{OPERATOR}`"
    )
    with kube.api_client(paths) as api, heartbeat(f"prometheus/{NAME} to be Available"):
        kube.wait_in_cluster(
            functools.partial(
                client.CustomObjectsApi(api).list_namespaced_custom_object,
                "monitoring.coreos.com",
                "v1",
                NAMESPACE,
                "prometheuses",
            ),
            lambda found: any(kube.condition_true(p, "Available") for p in found),
            what=f"prometheus/{NAME} Available",
            timeout_seconds=AVAILABLE_TIMEOUT_SECONDS,
            look=f"run {look} describe prometheus/{NAME}` and read the operator's logs",
            field_selector=kube.named(NAME),
        )
