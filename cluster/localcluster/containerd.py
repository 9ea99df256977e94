"""The project's own containerd: CRI for the kubelet, pulling from the local registry."""

from __future__ import annotations

import hashlib
from pathlib import Path

from . import settings, supervisor
from .render import render
from .settings import Paths
from .shell import run

NAMESPACE = "k8s.io"
# Where every containerd's runc shims put their sockets, whatever its own root and state are.
SHIM_SOCKET_DIR = Path("/run/containerd/s")


def configure(paths: Paths, *, pause_image: str) -> None:
    """Render containerd's config, the registry's hosts.toml and the CNI network."""
    render(
        paths,
        "containerd.toml",
        paths.config / "containerd.toml",
        root=paths.state / "containerd",
        state=paths.run / "containerd",
        socket=paths.containerd_socket,
        runc_root=paths.run / "runc",
        pause_image=pause_image,
        cni_conf_dir=paths.config / "cni",
        registry_config_dir=paths.config / "registry-hosts",
    )
    render(
        paths,
        "hosts.toml",
        paths.config / "registry-hosts" / settings.REGISTRY / "hosts.toml",
        port=settings.PORTS.registry,
    )
    render(
        paths,
        "cni.conflist",
        paths.config / "cni" / "10-todo-chatbot.conflist",
        bridge=settings.BRIDGE,
        node_pod_cidr=settings.NODE_POD_CIDR,
        node_ip=settings.NODE_IP,
        ipam_dir=paths.state / "cni" / "ipam",
    )


def ctr(paths: Paths, *args: str) -> list[str]:
    """The `ctr` command line for our containerd's Kubernetes namespace."""
    return ["ctr", "--address", str(paths.containerd_socket), "--namespace", NAMESPACE, *args]


def healthy(paths: Paths) -> bool:
    """True when our containerd answers on its socket."""
    if not paths.containerd_socket.exists():
        return False
    return run(ctr(paths, "version"), check=False, timeout=10).returncode == 0


def start(paths: Paths, *, pause_image: str) -> None:
    """Start containerd with `pause_image` as every pod's sandbox and wait until it answers."""
    configure(paths, pause_image=pause_image)
    supervisor.start(
        paths,
        supervisor.Process(
            "containerd", ["containerd", "--config", paths.config / "containerd.toml"]
        ),
    )
    supervisor.wait_healthy(paths, "containerd", lambda: healthy(paths), timeout_seconds=30)


def shim_socket(paths: Paths, sandbox_id: str) -> Path:
    """The socket of the shim serving one of our pod sandboxes.

    containerd names it after sha256(<containerd address>/<namespace>/<sandbox id>); a shim
    that is killed rather than asked to exit leaves it behind.
    """
    key = f"{paths.containerd_socket}/{NAMESPACE}/{sandbox_id}"
    return SHIM_SOCKET_DIR / hashlib.sha256(key.encode()).hexdigest()
