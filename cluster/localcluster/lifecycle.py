"""The local cluster as a library: a `Cluster` that goes `up`, deploys the app, goes `down`.

`up` runs its steps in the order the parts depend on each other, each announced with how it
ended; `python -m localcluster` is a thin command line over it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import (
    addons,
    ai_clients,
    ai_standin,
    app_secrets,
    containerd,
    control_plane,
    database_clients,
    deploy,
    hostnet,
    images,
    monitoring,
    node,
    pki,
    postgres,
    preflight,
    registry,
    release,
    settings,
    snapshot,
    supervisor,
    teardown,
    traefik,
    user_kubeconfig,
    usernet,
)
from . import nodes as node_set
from .progress import say, step
from .settings import Paths, paths_from_env


@dataclass(frozen=True)
class Cluster:
    """The local cluster whose files live in `paths`, run for the user whose environment is `env`.

    `env` decides which kubeconfig `up` adds the cluster's context to ($KUBECONFIG or
    ~/.kube/config); `down` finds it again from the state folder.
    """

    paths: Paths
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def from_env(cls) -> Cluster:
        """The cluster of $STATE, $RUN_DIR and $CACHE, for the user running this process."""
        return cls(paths_from_env(), dict(os.environ))

    def up(self, nodes: int = 1) -> None:
        """Boot (or finish booting) a cluster of `nodes` nodes; every step is skipped when done.

        Extra nodes already running stay, and so do those beyond `nodes` (`down` removes all).
        """
        paths = self.paths
        began = time.monotonic()
        extra_nodes = node_set.extra(nodes)
        with step("preflight"):
            booted = supervisor.running_pid(paths, "kube-apiserver") is not None
            missing = [n for n in extra_nodes if not node_set.running(paths, n)]
            preflight.run(
                paths,
                ours=_running_ports(paths),
                booted=booted,
                nodes=nodes,
                new_extra_nodes=len(missing),
            )
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
        for extra in extra_nodes:
            with step(f"node {extra.name} ({extra.zone}; containerd, kubelet, kube-proxy)"):
                node_set.start(paths, extra, pause_image=images.ref(paths, "pause"))
        with step("add-ons (kube-router, CoreDNS, metrics-server)"):
            addons.apply_all(paths)
        with step("ingress controller (Traefik: Ingress and Gateway API)"):
            traefik.apply(paths)
        with step("monitoring (Prometheus Operator, Prometheus)"):
            monitoring.apply(paths)
        with step("the AI stand-in's clients (the backend pods only)"):
            ai_clients.start(paths)
        with step("PostgreSQL's clients (the release namespaces' pods only)"):
            database_clients.start(paths)
        with step(f"kubectl context {user_kubeconfig.CONTEXT}"):
            merged = user_kubeconfig.merge(paths, self.env)
        say(f"cluster up in {time.monotonic() - began:.0f}s; kubeconfig: {paths.kubeconfig}")
        if merged is not None:
            say(f"kubectl now uses the context {user_kubeconfig.CONTEXT} (in {merged})")

    def deploy(self, *, frontend: str = "python") -> str:
        """Push the newest images and install or upgrade the chart; return the user's URL.

        `frontend`: `python` (app/frontend) or `next` (app/frontend-next; deploy.FRONTENDS).
        """
        with step("push images"):
            images.push_all(self.paths)
        with step(f"helm upgrade --install {release.RELEASE} ({frontend} frontend)"):
            return deploy.deploy(self.paths, frontend=frontend)

    def down(self) -> None:
        """Stop every process and remove everything `up` added."""
        with step("cluster down"):
            teardown.down(self.paths, self.env)

    def status(self) -> list[tuple[str, str]]:
        """Each supervised process, in start order, with `running (pid N)` or `stopped`."""
        names = [process.name for process in settings.HOST_PROCESSES]
        for extra in teardown.extra_nodes(self.paths):
            names += [extra.process(c) for c in reversed(settings.NODE_PROCESS_COMPONENTS)]
        rows = []
        for name in names:
            pid = supervisor.running_pid(self.paths, name)
            rows.append((name, f"running (pid {pid})" if pid else "stopped"))
        return rows


def _running_ports(paths: Paths) -> list[int]:
    """The ports of the processes already running, which the preflight finds in use."""
    ports = [
        port
        for process in settings.HOST_PROCESSES
        if supervisor.running_pid(paths, process.name) is not None
        for port in process.ports
    ]
    # kube-router's DaemonSet pod listens on the host network while the kubelet runs it.
    if supervisor.running_pid(paths, "kubelet") is not None:
        ports.append(settings.PORTS.kube_router_health)
    return ports
