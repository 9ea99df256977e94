"""Each node's own containerd: CRI for its kubelet, pulling from the local registry."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path

from . import netns, settings, supervisor
from .render import render
from .settings import FIRST_NODE, Node, Paths
from .shell import run

NAMESPACE = "k8s.io"
# Where every containerd's runc shims put their sockets, whatever its own root and state are.
SHIM_SOCKET_DIR = Path("/run/containerd/s")


def configure(paths: Paths, *, pause_image: str, node: Node = FIRST_NODE) -> None:
    """Render the node's containerd config and the registry's hosts.toml.

    The first node's CNI network is known now; an extra node's once the controller-manager has
    given it a pod range (`write_cni`).
    """
    state, run_dir, config = node.state(paths), node.run(paths), node.config(paths)
    render(
        paths,
        "containerd.toml",
        config / "containerd.toml",
        root=state / "containerd",
        state=run_dir / "containerd",
        socket=node.containerd_socket(paths),
        runc_root=run_dir / "runc",
        pause_image=pause_image,
        cni_conf_dir=config / "cni",
        registry_config_dir=config / "registry-hosts",
    )
    render(
        paths,
        "hosts.toml",
        config / "registry-hosts" / settings.REGISTRY / "hosts.toml",
        port=settings.PORTS.registry,
    )
    if node.first:
        # The top of the first node's /24 holds the extra nodes' own addresses.
        write_cni(paths, node, settings.NODE_POD_CIDR, range_end=settings.FIRST_NODE_POD_RANGE_END)


def write_cni(
    paths: Paths,
    node: Node,
    pod_cidr: ipaddress.IPv4Network,
    *,
    range_end: ipaddress.IPv4Address | None = None,
) -> None:
    """The node's CNI network: its pods on the bridge of its namespace, in `pod_cidr`."""
    render(
        paths,
        "cni.conflist",
        node.config(paths) / "cni" / "10-todo-chatbot.conflist",
        bridge=settings.BRIDGE,
        node_pod_cidr=pod_cidr,
        gateway=pod_cidr.network_address + 1,
        range_end=range_end or pod_cidr.broadcast_address - 1,
        ipam_dir=node.state(paths) / "cni" / "ipam",
    )


def ctr(paths: Paths, *args: str, node: Node = FIRST_NODE) -> list[str]:
    """The `ctr` command line for a node's containerd's Kubernetes namespace."""
    socket = str(node.containerd_socket(paths))
    return ["ctr", "--address", socket, "--namespace", NAMESPACE, *args]


def healthy(paths: Paths, node: Node = FIRST_NODE) -> bool:
    """True when the node's containerd answers on its socket."""
    if not node.containerd_socket(paths).exists():
        return False
    return run(ctr(paths, "version", node=node), check=False, timeout=10).returncode == 0


def start(paths: Paths, *, pause_image: str, node: Node = FIRST_NODE) -> None:
    """Start the node's containerd in its namespace, `pause_image` as every pod's sandbox."""
    configure(paths, pause_image=pause_image, node=node)
    name = node.process("containerd")
    argv: list[str | Path] = [
        *netns.command(node.netns),
        "containerd",
        "--config",
        node.config(paths) / "containerd.toml",
    ]
    supervisor.start(paths, supervisor.Process(name, argv))
    supervisor.wait_healthy(paths, name, lambda: healthy(paths, node), timeout_seconds=30)


def shim_socket(socket: Path, sandbox_id: str) -> Path:
    """The socket of the shim serving a pod sandbox of the containerd listening on `socket`.

    containerd names it after sha256(<containerd address>/<namespace>/<sandbox id>); a shim
    that is killed rather than asked to exit leaves it behind.
    """
    key = f"{socket}/{NAMESPACE}/{sandbox_id}"
    return SHIM_SOCKET_DIR / hashlib.sha256(key.encode()).hexdigest()
