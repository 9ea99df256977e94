"""etcd and the Kubernetes control plane: apiserver, controller-manager, scheduler.

Flags follow hack/local-up-cluster.sh of the pinned Kubernetes tag, trimmed to one node: etcd
on loopback, the apiserver on the node IP only (nothing listens on the host's uplink), the
controller-manager and scheduler on loopback.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from . import pki, settings, supervisor
from .settings import Paths

ETCD_URL = f"http://127.0.0.1:{settings.PORTS.etcd_client}"
START_TIMEOUT_SECONDS = 90
# The node-loss timings of the local cluster, shorter than production's so the node-loss
# scenario (tests/e2e/test_e2e_nodes.py) measures recovery in under a minute; cluster/README.md
# has both sets.
NODE_MONITOR_GRACE_SECONDS = 20
NODE_LOSS_TOLERATION_SECONDS = 20


def write_kubeconfigs(paths: Paths) -> None:
    """One kubeconfig per client identity, and the admin one at $STATE/kubeconfig."""
    for user in ("controller-manager", "scheduler", "kube-proxy", "kubelet-client"):
        pki.write_kubeconfig(
            paths.config / f"{user}.kubeconfig", pki=paths.pki, user=user, server=settings.API_URL
        )
    pki.write_kubeconfig(paths.kubeconfig, pki=paths.pki, user="admin", server=settings.API_URL)


def start_etcd(paths: Paths) -> None:
    """Start a one-member etcd on loopback with its data under the state folder."""
    peer = f"http://127.0.0.1:{settings.PORTS.etcd_peer}"
    argv: list[str | Path] = [
        paths.bin / "etcd",
        "--name=todo-chatbot",
        f"--data-dir={paths.state / 'etcd'}",
        f"--listen-client-urls={ETCD_URL}",
        f"--advertise-client-urls={ETCD_URL}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=todo-chatbot={peer}",
        "--log-level=warn",
    ]
    supervisor.start(paths, supervisor.Process("etcd", argv))
    supervisor.wait_healthy(
        paths, "etcd", lambda: supervisor.http_ok(f"{ETCD_URL}/health"), timeout_seconds=30
    )


def start_apiserver(paths: Paths) -> None:
    """Start kube-apiserver with RBAC, the Node authorizer and the aggregation layer."""
    p = paths.pki
    argv: list[str | Path] = [
        paths.bin / "kube-apiserver",
        f"--advertise-address={settings.NODE_IP}",
        f"--bind-address={settings.NODE_IP}",
        f"--secure-port={settings.PORTS.apiserver}",
        f"--etcd-servers={ETCD_URL}",
        f"--service-cluster-ip-range={settings.SERVICE_CIDR}",
        f"--client-ca-file={p / 'ca.crt'}",
        f"--tls-cert-file={p / 'apiserver.crt'}",
        f"--tls-private-key-file={p / 'apiserver.key'}",
        f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={p / 'ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP",
        f"--service-account-key-file={p / 'service-account.pub'}",
        f"--service-account-signing-key-file={p / 'service-account.key'}",
        "--service-account-issuer=https://kubernetes.default.svc",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        # kube-router's DaemonSet needs privileged containers to program the host firewall.
        "--allow-privileged=true",
        f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
        # The host has a blackhole route for the Service range, so the aggregator reaches
        # metrics-server at its pod IP instead of its ClusterIP.
        "--enable-aggregator-routing=true",
        # How long pods stay bound to an unreachable or not-ready node before they are evicted
        # and replaced elsewhere (the node-loss scenario); production default 300 s.
        f"--default-unreachable-toleration-seconds={NODE_LOSS_TOLERATION_SECONDS}",
        f"--default-not-ready-toleration-seconds={NODE_LOSS_TOLERATION_SECONDS}",
        "--profiling=false",
    ]
    supervisor.start(paths, supervisor.Process("kube-apiserver", argv))
    context = ssl.create_default_context(cafile=str(p / "ca.crt"))
    supervisor.wait_healthy(
        paths,
        "kube-apiserver",
        lambda: supervisor.http_ok(f"{settings.API_URL}/readyz", context=context),
        timeout_seconds=START_TIMEOUT_SECONDS,
    )


def start_controller_manager(paths: Paths) -> None:
    """Start kube-controller-manager; it also hands the node its pod CIDR."""
    p = paths.pki
    _start_on_loopback(
        paths,
        "kube-controller-manager",
        settings.PORTS.controller_manager,
        f"--service-account-private-key-file={p / 'service-account.key'}",
        f"--root-ca-file={p / 'ca.crt'}",
        f"--cluster-signing-cert-file={p / 'ca.crt'}",
        f"--cluster-signing-key-file={p / 'ca.key'}",
        "--use-service-account-credentials=true",
        "--allocate-node-cidrs=true",
        f"--cluster-cidr={settings.POD_CIDR}",
        f"--node-cidr-mask-size={settings.NODE_POD_CIDR.prefixlen}",
        f"--service-cluster-ip-range={settings.SERVICE_CIDR}",
        # A node silent this long is marked NotReady and its pods' endpoints leave the
        # Services (production default 50 s since v1.32, checked every 5 s).
        f"--node-monitor-grace-period={NODE_MONITOR_GRACE_SECONDS}s",
        "--node-monitor-period=2s",
    )


def start_scheduler(paths: Paths) -> None:
    """Start kube-scheduler."""
    _start_on_loopback(paths, "kube-scheduler", settings.PORTS.scheduler)


def _start_on_loopback(paths: Paths, name: str, port: int, *flags: str) -> None:
    """Start a controller that serves HTTPS on loopback `port`; wait for its /healthz.

    It authenticates to the apiserver, and checks its own clients, with its kubeconfig;
    one instance runs, so it needs no leader election.
    """
    kubeconfig = paths.config / f"{name.removeprefix('kube-')}.kubeconfig"
    argv: list[str | Path] = [
        paths.bin / name,
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        *flags,
        "--leader-elect=false",
        "--profiling=false",
    ]
    supervisor.start(paths, supervisor.Process(name, argv))
    url = f"https://127.0.0.1:{port}/healthz"
    context = supervisor.insecure_context()
    supervisor.wait_healthy(
        paths,
        name,
        lambda: supervisor.http_ok(url, context=context),
        timeout_seconds=START_TIMEOUT_SECONDS,
    )
