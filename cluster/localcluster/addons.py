"""Cluster add-ons applied as manifests: RBAC for the apiserver, CoreDNS, metrics-server and
kube-router (NetworkPolicy)."""

from __future__ import annotations

from kubernetes import client

from . import images, kube, settings
from .kubectl import kubectl
from .progress import heartbeat
from .render import render
from .settings import Paths

# hack/local-up-cluster.sh: the apiserver's client identity towards the kubelet (logs, exec,
# port-forward, metrics proxying) needs the kubelet API.
APISERVER_TO_KUBELET = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kube-apiserver-kubelet-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: kube-apiserver
"""


def apply_rbac(paths: Paths) -> None:
    """Let the apiserver reach the kubelet API."""
    kubectl(paths, "apply", "-f", "-", input_text=APISERVER_TO_KUBELET)


def apply_all(paths: Paths) -> None:
    """Render and apply every add-on, then wait for each rollout."""
    manifests: dict[str, dict[str, object]] = {
        "kube-router": {
            "image": images.ref(paths, "kube-router"),
            "api_host": settings.NODE_IP,
            "api_port": settings.PORTS.apiserver,
            "health_port": settings.PORTS.kube_router_health,
        },
        "coredns": {
            "image": images.ref(paths, "coredns"),
            "cluster_domain": settings.CLUSTER_DOMAIN,
            "dns_ip": settings.DNS_SERVICE_IP,
        },
        "metrics-server": {"image": images.ref(paths, "metrics-server")},
    }
    for name, values in manifests.items():
        target = render(
            paths, f"addons/{name}.yaml", paths.config / "addons" / f"{name}.yaml", **values
        )
        kubectl(paths, "apply", "-f", str(target))
    for kind, name in (
        ("daemonset", "kube-router"),
        ("deployment", "coredns"),
        ("deployment", "metrics-server"),
    ):
        look = (
            f"run `kubectl --kubeconfig {paths.kubeconfig} -n kube-system describe {kind}/{name}` "
            f"and read {paths.log('kubelet')}"
        )
        kube.wait_rolled_out(paths, "kube-system", kind, name, look=look)


def wait_node_ready(
    paths: Paths, node: settings.Node = settings.FIRST_NODE, *, timeout_seconds: float = 120
) -> None:
    """Wait until the node has registered and reports Ready."""
    with kube.api_client(paths) as api, heartbeat(f"node {node.name} to be Ready"):
        kube.wait_in_cluster(
            client.CoreV1Api(api).list_node,
            lambda nodes: any(kube.condition_true(item, "Ready") for item in nodes),
            what=f"node {node.name} Ready",
            timeout_seconds=timeout_seconds,
            look=f"read {paths.log(node.process('kubelet'))}",
            field_selector=kube.named(node.name),
        )
