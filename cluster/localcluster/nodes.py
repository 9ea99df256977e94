"""Extra nodes (`make up NODES=n`): real nodes as kind makes them, without a container engine.

Node n (2, 3, ...) is a network namespace `tcb-n<n>` with one veth on the bridge and the address
`settings.Node(n).ip`, in which run its own containerd (own root, state and socket), kubelet
(own client certificate `system:node:todo-chatbot-<n>`, own cgroup parent, zone label) and
kube-proxy, and a relay that makes the host's registry its `localhost:5001`. Its pods get the
pod range the controller-manager gives the node, on a bridge of the namespace; the host routes
that range to the node's address. A node that cannot start is removed whole before the error
is raised: nothing of it is left half-made.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path

from kubernetes import client

from . import (
    addons,
    containerd,
    hostnet,
    kube,
    netns,
    node,
    pki,
    settings,
    supervisor,
    teardown,
    usernet,
)
from .errors import ClusterError
from .preflight import check_ports, listening_ports
from .settings import Node, Paths

START_TIMEOUT_SECONDS = 120


def extra(count: int) -> list[Node]:
    """The extra nodes of a cluster of `count` nodes."""
    if not 1 <= count <= settings.MAX_NODES:
        raise ClusterError(f"NODES={count}: the local cluster runs 1 to {settings.MAX_NODES} nodes")
    return [Node(number) for number in range(2, count + 1)]


def running(paths: Paths, extra_node: Node) -> bool:
    """True when the node's kubelet runs: its memory is in use already, and a failing rerun of
    `up` keeps it."""
    return supervisor.running_pid(paths, extra_node.process("kubelet")) is not None


def start(paths: Paths, extra_node: Node, *, pause_image: str) -> None:
    """Bring the node up and Ready (what runs already is kept); raise one line on a failure.

    A node that was not running is then removed whole; one that was (a rerun of `up`) stays.
    """
    was_running = running(paths, extra_node)
    try:
        _start(paths, extra_node, pause_image=pause_image)
    except (ClusterError, OSError, TimeoutError) as exc:
        if was_running:
            raise ClusterError(f"node {extra_node.name}: {exc}") from exc
        teardown.remove_extra_node(paths, extra_node)
        _forget(paths, extra_node)
        raise ClusterError(
            f"node {extra_node.name} could not start, so it was removed: {exc}"
        ) from exc


def _start(paths: Paths, extra_node: Node, *, pause_image: str) -> None:
    hostnet.set_up_extra_node(extra_node)
    problem = check_ports(
        netns.call(extra_node.netns, _listening), _node_port_owners(), ours=_ours(paths, extra_node)
    )
    if problem:
        raise ClusterError(f"in its network namespace {extra_node.netns}, {problem}")
    _ensure_credentials(paths, extra_node)
    _start_relay(paths, extra_node)
    containerd.start(paths, pause_image=pause_image, node=extra_node)
    node.start_kubelet(paths, extra_node)
    pod_cidr = _wait_pod_cidr(paths, extra_node)
    containerd.write_cni(paths, extra_node, pod_cidr)
    hostnet.route_node_pods(extra_node, pod_cidr)
    usernet.route_to_extra_nodes()
    node.start_kube_proxy(paths, extra_node)
    addons.wait_node_ready(paths, extra_node, timeout_seconds=START_TIMEOUT_SECONDS)


def _listening() -> set[int]:
    """The TCP ports listening in this thread's network namespace."""
    return listening_ports(
        Path(f"/proc/thread-self/net/{name}").read_text() for name in ("tcp", "tcp6")
    )


def _node_port_owners() -> dict[int, str]:
    """The ports an extra node's processes and its kube-router pod listen on in its namespace."""
    ports = settings.PORTS
    wanted = (
        ports.kubelet,
        ports.kubelet_healthz,
        ports.kube_proxy_healthz,
        ports.kube_proxy_metrics,
        ports.kube_router_health,
        ports.registry,
    )
    owners = ports.owners()
    return {port: owners[port] for port in wanted}


def _ours(paths: Paths, extra_node: Node) -> list[int]:
    """The node's ports whose process already runs (a rerun of `up`)."""
    ports = settings.PORTS
    by_process = {
        "kubelet": (ports.kubelet, ports.kubelet_healthz, ports.kube_router_health),
        "kube-proxy": (ports.kube_proxy_healthz, ports.kube_proxy_metrics),
        "registry-relay": (ports.registry,),
    }
    return [
        port
        for component, owned in by_process.items()
        if supervisor.running_pid(paths, extra_node.process(component)) is not None
        for port in owned
    ]


def _ensure_credentials(paths: Paths, extra_node: Node) -> None:
    """The node's own client and serving certificates and its kubelet's kubeconfig."""
    client_name = node.kubelet_client(extra_node)
    pki.ensure_leaf(
        paths.pki,
        pki.Leaf(client_name, f"system:node:{extra_node.name}", ["system:nodes"], client=True),
    )
    pki.ensure_leaf(
        paths.pki,
        pki.Leaf(
            f"kubelet-serving-{extra_node.name}",
            f"system:node:{extra_node.name}",
            dns_names=[extra_node.name],
            ip_addresses=[extra_node.ip],
            server=True,
        ),
    )
    pki.write_kubeconfig(
        paths.config / f"{client_name}.kubeconfig",
        pki=paths.pki,
        user=client_name,
        server=settings.API_URL,
    )


def _start_relay(paths: Paths, extra_node: Node) -> None:
    name = extra_node.process("registry-relay")
    env = {**os.environ, "PYTHONPATH": str(paths.repo / "cluster")}
    argv = [sys.executable, "-m", "localcluster.registry_relay", str(extra_node.netns)]
    supervisor.start(paths, supervisor.Process(name, argv, env=env))

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", settings.PORTS.registry), timeout=2).close()
        except OSError:
            return False
        return True

    supervisor.wait_healthy(
        paths, name, lambda: netns.call(extra_node.netns, answers), timeout_seconds=30
    )


def _wait_pod_cidr(paths: Paths, extra_node: Node) -> ipaddress.IPv4Network:
    """Wait until the node has registered and the controller-manager gave it a pod range."""
    with kube.api_client(paths) as api:
        try:
            found = kube.wait_for(
                client.CoreV1Api(api).list_node,
                lambda nodes: any(n.get("spec", {}).get("podCIDR") for n in nodes),
                what=f"node {extra_node.name} registered with a pod range",
                timeout_seconds=START_TIMEOUT_SECONDS,
                field_selector=kube.named(extra_node.name),
            )
        except TimeoutError as error:
            look = paths.log(extra_node.process("kubelet"))
            raise ClusterError(f"{error}: read {look}") from None
    return ipaddress.IPv4Network(found[0]["spec"]["podCIDR"])


def _forget(paths: Paths, extra_node: Node) -> None:
    """Delete the node's Node object, if it had registered (the apiserver runs during `up`)."""
    with kube.api_client(paths) as api:
        try:
            client.CoreV1Api(api).delete_node(extra_node.name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise ClusterError(
                    f"could not delete node {extra_node.name}: {exc.reason}"
                ) from exc
