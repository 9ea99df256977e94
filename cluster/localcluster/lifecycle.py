"""`up`, `down` and `status` of the local cluster, in the order the parts depend on each other."""

from __future__ import annotations

import socket
import time

from . import (
    addons,
    ai_clients,
    ai_standin,
    app_secrets,
    containerd,
    control_plane,
    deploy,
    hostnet,
    images,
    node,
    pki,
    postgres,
    preflight,
    registry,
    settings,
    snapshot,
    supervisor,
    teardown,
    traefik,
    usernet,
)
from .progress import say, step
from .settings import Paths

# Which port each supervised process listens on, so a rerun of `up` skips their port checks.
PROCESS_PORTS = {
    "registry": [settings.PORTS.registry, settings.PORTS.registry_debug],
    "etcd": [settings.PORTS.etcd_client, settings.PORTS.etcd_peer],
    "kube-apiserver": [settings.PORTS.apiserver],
    "kube-controller-manager": [settings.PORTS.controller_manager],
    "kube-scheduler": [settings.PORTS.scheduler],
    "kubelet": [settings.PORTS.kubelet, settings.PORTS.kubelet_healthz],
    "kube-proxy": [settings.PORTS.kube_proxy_healthz, settings.PORTS.kube_proxy_metrics],
    "postgres": [settings.PORTS.postgres],
    "ai-standin": [settings.PORTS.ai_standin],
}


def _running_ports(paths: Paths) -> list[int]:
    ports = [
        port
        for name, owned in PROCESS_PORTS.items()
        if supervisor.running_pid(paths, name) is not None
        for port in owned
    ]
    # kube-router's DaemonSet pod listens on the host network while the kubelet runs it.
    if supervisor.running_pid(paths, "kubelet") is not None:
        ports.append(settings.PORTS.kube_router_health)
    return ports


def cluster_up(paths: Paths) -> None:
    """Boot (or finish booting) the cluster; every step is skipped when already done."""
    began = time.monotonic()
    with step("preflight"):
        booted = supervisor.running_pid(paths, "kube-apiserver") is not None
        preflight.run(paths, ours=_running_ports(paths), booted=booted)
    snapshot.take(paths)
    with step("host network (bridge, routes, firewall chain, user namespace, routing rules)"):
        hostnet.set_up()
        usernet.set_up()
        hostnet.confine_routing()
    with step("certificates and generated secrets"):
        pki.ensure_all(paths.pki, socket.gethostname())
        app_secrets.ensure(paths)
        control_plane.write_kubeconfigs(paths)
    with step("local registry and images"):
        registry.start(paths)
        images.push_all(paths)
    with step("containerd"):
        containerd.start(paths, pause_image=images.ref(paths, "pause"))
    with step("host services (PostgreSQL, AI stand-in)"):
        postgres.start(paths)
        ai_standin.start(paths)
    with step("control plane (etcd, apiserver, controller-manager, scheduler)"):
        control_plane.start_etcd(paths)
        control_plane.start_apiserver(paths)
        addons.apply_rbac(paths)
        control_plane.start_controller_manager(paths)
        control_plane.start_scheduler(paths)
    with step("node (kubelet, kube-proxy)"):
        node.start_kubelet(paths)
        node.start_kube_proxy(paths)
        addons.wait_node_ready(paths)
    with step("add-ons (kube-router, CoreDNS, metrics-server)"):
        addons.apply_all(paths)
    with step("ingress controller (Traefik: Ingress and Gateway API)"):
        traefik.apply(paths)
    with step("the AI stand-in's clients (the backend pods only)"):
        ai_clients.start(paths)
    say(f"cluster up in {time.monotonic() - began:.0f}s; kubeconfig: {paths.kubeconfig}")


def deploy_app(paths: Paths) -> str:
    """Push the newest images and install or upgrade the chart; return the user's URL."""
    with step("push images"):
        images.push_all(paths)
    with step("helm upgrade --install todo-chatbot"):
        return deploy.deploy(paths)


def cluster_down(paths: Paths) -> None:
    """Stop every process and remove everything `up` added."""
    with step("cluster down"):
        teardown.down(paths)


def status(paths: Paths) -> list[tuple[str, str]]:
    """Each supervised process with `running (pid N)` or `stopped`."""
    rows = []
    for name in reversed(teardown.PROCESSES):
        pid = supervisor.running_pid(paths, name)
        rows.append((name, f"running (pid {pid})" if pid else "stopped"))
    return rows
