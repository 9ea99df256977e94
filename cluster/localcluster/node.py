"""A node's kubelet on its own containerd, and its kube-proxy in iptables mode.

The first node's run on the host; an extra node's in its network namespace (nodes.py), where
their health ports on loopback are that namespace's.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import netns, settings, supervisor
from .settings import CGROUP_ROOT, FIRST_NODE, Node, Paths

START_TIMEOUT_SECONDS = 90


def create_cgroup_root(node: Node = FIRST_NODE) -> None:
    """Create the kubelet's cgroupRoot in every v1 hierarchy (the kubelet requires it to exist).

    cpuset children start with empty cpus and mems, so they are copied from the parent, level
    by level.
    """
    for hierarchy in CGROUP_ROOT.iterdir():
        if not (hierarchy / "cgroup.procs").exists() or hierarchy.name == "unified":
            continue
        parent = hierarchy
        for part in node.cgroup.split("/"):
            folder = parent / part
            folder.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (folder / name).exists() and not (folder / name).read_text().strip():
                    (folder / name).write_text((parent / name).read_text())
            parent = folder


def kubelet_config(paths: Paths, node: Node = FIRST_NODE) -> dict[str, object]:
    """The KubeletConfiguration (v1beta1) of the node."""
    serving = "kubelet-serving" if node.first else f"kubelet-serving-{node.name}"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": str(node.ip),
        "port": settings.PORTS.kubelet,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": settings.PORTS.kubelet_healthz,
        "tlsCertFile": str(paths.pki / f"{serving}.crt"),
        "tlsPrivateKeyFile": str(paths.pki / f"{serving}.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(paths.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{node.cgroup}",
        "cgroupsPerQOS": True,
        # cgroup v1 is deprecated from v1.31 on; this node runs on a v1 host on purpose.
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket(paths)}",
        "failSwapOn": False,
        # Images come preloaded from the local registry; never collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # The defaults (10-15% free disk) would evict pods on a busy build machine.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
        },
        "clusterDNS": [str(settings.DNS_SERVICE_IP)],
        "clusterDomain": settings.CLUSTER_DOMAIN,
        # No host resolver in pods: no DNS query may leave the machine.
        "resolvConf": "",
        "podLogsDir": str(node.state(paths) / "pod-logs"),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "maxPods": 110,
        # Secret volumes follow their Secret at each pod sync (default: every minute). The
        # Prometheus configuration is such a Secret, which the operator rewrites for each new
        # release's monitor: 10 s lets a release be scraped within seconds of its install, for
        # a little more kubelet work on a few dozen pods.
        "syncFrequency": "10s",
    }


def kubelet_client(node: Node) -> str:
    """The name of the node's client certificate and kubeconfig (`system:node:<name>`)."""
    return "kubelet-client" if node.first else f"kubelet-client-{node.name}"


def start_kubelet(paths: Paths, node: Node = FIRST_NODE) -> None:
    """Start the node's kubelet and wait for its health endpoint."""
    create_cgroup_root(node)
    config = node.config(paths) / "kubelet.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(kubelet_config(paths, node), indent=2) + "\n")
    root = node.state(paths) / "kubelet"
    argv: list[str | Path] = [
        *netns.command(node.netns),
        paths.bin / "kubelet",
        f"--config={config}",
        f"--kubeconfig={paths.config / f'{kubelet_client(node)}.kubeconfig'}",
        f"--hostname-override={node.name}",
        f"--node-ip={node.ip}",
        # Registration labels: NodeRestriction lets a kubelet set topology.kubernetes.io/*.
        f"--node-labels={settings.ZONE_LABEL}={node.zone}",
        f"--root-dir={root}",
        f"--cert-dir={root / 'pki'}",
    ]
    health_url = f"http://127.0.0.1:{settings.PORTS.kubelet_healthz}/healthz"
    _start_until_healthy(paths, node, "kubelet", argv, health_url=health_url)


def kube_proxy_config(paths: Paths, node: Node = FIRST_NODE) -> dict[str, object]:
    """The KubeProxyConfiguration (v1alpha1): iptables mode, NodePorts on our addresses only.

    The end user reaches the first node's NodePorts on the user veth's host end, an extra
    node's on its own address; nothing listens on the host's uplink.
    """
    user_side = [str(settings.USER_CIDR)] if node.first else []
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(paths.config / "kube-proxy.kubeconfig")},
        "hostnameOverride": node.name,
        "mode": "iptables",
        "clusterCIDR": str(settings.POD_CIDR),
        "bindAddress": str(node.ip),
        "healthzBindAddress": f"127.0.0.1:{settings.PORTS.kube_proxy_healthz}",
        "metricsBindAddress": f"127.0.0.1:{settings.PORTS.kube_proxy_metrics}",
        "nodePortAddresses": [*user_side, f"{node.ip}/32"],
        # Leave the host's conntrack sysctls alone (as hack/local-up-cluster.sh does).
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def start_kube_proxy(paths: Paths, node: Node = FIRST_NODE) -> None:
    """Start the node's kube-proxy and wait until it answers on its health port."""
    config = node.config(paths) / "kube-proxy.json"
    text = json.dumps(kube_proxy_config(paths, node), indent=2) + "\n"
    # A running kube-proxy exits as soon as its config file is written, even with the same
    # content: a rerun of `up` on a running cluster must leave the file alone.
    if not config.is_file() or config.read_text() != text:
        config.write_text(text)
    argv: list[str | Path] = [
        *netns.command(node.netns),
        paths.bin / "kube-proxy",
        f"--config={config}",
    ]
    health_url = f"http://127.0.0.1:{settings.PORTS.kube_proxy_healthz}/livez"
    _start_until_healthy(paths, node, "kube-proxy", argv, health_url=health_url)


def _start_until_healthy(
    paths: Paths, node: Node, component: str, argv: list[str | Path], *, health_url: str
) -> None:
    """Start the node's `component` and wait until `health_url` answers in its network namespace."""
    name = node.process(component)
    supervisor.start(paths, supervisor.Process(name, argv))
    supervisor.wait_healthy(
        paths,
        name,
        lambda: netns.call(node.netns, lambda: supervisor.http_ok(health_url)),
        timeout_seconds=START_TIMEOUT_SECONDS,
    )
