"""The node: kubelet on our containerd, and kube-proxy in iptables mode."""

from __future__ import annotations

import json
from pathlib import Path

from . import settings, supervisor
from .settings import CGROUP_NAME, CGROUP_ROOT, Paths

START_TIMEOUT_SECONDS = 90


def create_cgroup_root() -> None:
    """Create the kubelet's cgroupRoot in every v1 hierarchy (the kubelet requires it to exist).

    cpuset children start with empty cpus and mems, so they are copied from the parent.
    """
    for hierarchy in CGROUP_ROOT.iterdir():
        if not (hierarchy / "cgroup.procs").exists() or hierarchy.name == "unified":
            continue
        folder = hierarchy / CGROUP_NAME
        folder.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (folder / name).exists() and not (folder / name).read_text().strip():
                (folder / name).write_text((hierarchy / name).read_text())


def kubelet_config(paths: Paths) -> dict[str, object]:
    """The KubeletConfiguration (v1beta1) of the node."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": str(settings.NODE_IP),
        "port": settings.PORTS.kubelet,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": settings.PORTS.kubelet_healthz,
        "tlsCertFile": str(paths.pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(paths.pki / "kubelet-serving.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(paths.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{CGROUP_NAME}",
        "cgroupsPerQOS": True,
        # cgroup v1 is deprecated from v1.31 on; this node runs on a v1 host on purpose.
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
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
        "podLogsDir": str(paths.state / "pod-logs"),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "maxPods": 110,
    }


def start_kubelet(paths: Paths) -> None:
    """Start the kubelet and wait for its health endpoint."""
    create_cgroup_root()
    config = paths.config / "kubelet.json"
    config.write_text(json.dumps(kubelet_config(paths), indent=2) + "\n")
    argv: list[str | Path] = [
        paths.bin / "kubelet",
        f"--config={config}",
        f"--kubeconfig={paths.config / 'kubelet-client.kubeconfig'}",
        f"--hostname-override={settings.NODE_NAME}",
        f"--node-ip={settings.NODE_IP}",
        f"--root-dir={paths.state / 'kubelet'}",
        f"--cert-dir={paths.state / 'kubelet' / 'pki'}",
    ]
    supervisor.start(paths, supervisor.Process("kubelet", argv))
    url = f"http://127.0.0.1:{settings.PORTS.kubelet_healthz}/healthz"
    supervisor.wait_healthy(
        paths, "kubelet", lambda: supervisor.http_ok(url), timeout_seconds=START_TIMEOUT_SECONDS
    )


def kube_proxy_config(paths: Paths) -> dict[str, object]:
    """The KubeProxyConfiguration (v1alpha1): iptables mode, NodePorts on our addresses only."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(paths.config / "kube-proxy.kubeconfig")},
        "hostnameOverride": settings.NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": str(settings.POD_CIDR),
        "bindAddress": str(settings.NODE_IP),
        "healthzBindAddress": f"127.0.0.1:{settings.PORTS.kube_proxy_healthz}",
        "metricsBindAddress": f"127.0.0.1:{settings.PORTS.kube_proxy_metrics}",
        # The end user reaches NodePorts on the user veth; nothing listens on the uplink.
        "nodePortAddresses": [str(settings.USER_CIDR), f"{settings.NODE_IP}/32"],
        # Leave the host's conntrack sysctls alone (as hack/local-up-cluster.sh does).
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def start_kube_proxy(paths: Paths) -> None:
    """Start kube-proxy and wait until it answers on its health port."""
    config = paths.config / "kube-proxy.json"
    text = json.dumps(kube_proxy_config(paths), indent=2) + "\n"
    # A running kube-proxy exits as soon as its config file is written, even with the same
    # content: a rerun of `up` on a running cluster must leave the file alone.
    if not config.is_file() or config.read_text() != text:
        config.write_text(text)
    supervisor.start(
        paths, supervisor.Process("kube-proxy", [paths.bin / "kube-proxy", f"--config={config}"])
    )
    url = f"http://127.0.0.1:{settings.PORTS.kube_proxy_healthz}/livez"
    supervisor.wait_healthy(
        paths, "kube-proxy", lambda: supervisor.http_ok(url), timeout_seconds=START_TIMEOUT_SECONDS
    )
