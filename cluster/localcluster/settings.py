"""Where the local cluster keeps its files, which addresses and ports it uses, and which versions.

Everything the runtime creates on the host is named here, so `down` can remove exactly that and
the preflight can check exactly that. Addresses were picked against this machine's routes (only
192.0.2.0/24 and a default route exist); the preflight re-checks them on every machine.
"""

from __future__ import annotations

import ipaddress
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from toolchain import pins

# The Kubernetes version the cluster runs (the live tests check the node's kubelet): the pin its
# binaries are built from (and why v1.33) in tools/toolchain/pins.py.
KUBERNETES_VERSION = pins.KUBERNETES_VERSION

NODE_NAME = "todo-chatbot"
# Every interface, chain and netns name starts with this, so ownership is visible at a glance.
PREFIX = "tcb"

POD_CIDR = ipaddress.IPv4Network("10.244.0.0/16")
# The node's share of POD_CIDR: the controller-manager hands the first /24 to the only node.
NODE_POD_CIDR = ipaddress.IPv4Network("10.244.0.0/24")
SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/16")
# The user's "machine": a /30 between a veth on the host and one inside the netns.
USER_CIDR = ipaddress.IPv4Network("10.250.0.0/30")

BRIDGE = f"{PREFIX}0"
USER_NETNS = "todo-user"
USER_VETH_HOST = f"{PREFIX}u0"
USER_VETH_NS = f"{PREFIX}u1"

# The bridge's gateway address doubles as the node IP: the apiserver advertises it, the kubelet
# reports it, and pods reach the host's "external" services (PostgreSQL, the AI stand-in) on it.
NODE_IP = NODE_POD_CIDR.network_address + 1
API_SERVICE_IP = SERVICE_CIDR.network_address + 1
DNS_SERVICE_IP = SERVICE_CIDR.network_address + 10
USER_HOST_IP = USER_CIDR.network_address + 1
USER_NS_IP = USER_CIDR.network_address + 2
CLUSTER_DOMAIN = "cluster.local"

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The kubelet's cgroupRoot: every pod's cgroup lives below /todo-chatbot, in every hierarchy.
CGROUP_NAME = "todo-chatbot"

# `make up NODES=n`: the first node is the host itself; each extra node n (2, 3, ...) is a network
# namespace on the bridge with its own containerd, kubelet and kube-proxy (nodes.py). Their
# addresses are the top /28 of the first node's /24, which its pods' IPAM never hands out.
MAX_NODES = 5
EXTRA_NODE_ADDRESSES = ipaddress.IPv4Network("10.244.0.240/28")
FIRST_NODE_POD_RANGE_END = EXTRA_NODE_ADDRESSES.network_address - 1
# What the preflight asks for each extra node: its containerd, kubelet, kube-proxy, relay and
# kube-router pod at rest (measured: cluster/README.md), with room for its share of the pods.
EXTRA_NODE_MEMORY_MIB = 512
# Two zones, so the chart's zone spread has something to spread over: nodes alternate.
ZONE_LABEL = "topology.kubernetes.io/zone"
ZONES = ("zone-a", "zone-b")


@dataclass(frozen=True)
class Node:
    """One node of the cluster: number 1 is the host's own, the others live in a namespace.

    Each node has its own containerd (root, state, socket), kubelet and kube-proxy, processes
    named after the node, and its own kubelet cgroup parent below /todo-chatbot.
    """

    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= MAX_NODES:
            raise ValueError(f"node number {self.number} is outside 1..{MAX_NODES}")

    @property
    def first(self) -> bool:
        """The host's own node, which runs in the host's network namespace."""
        return self.number == 1

    @property
    def name(self) -> str:
        """The Node object's name (and the kubelet's client certificate's `system:node:`)."""
        return NODE_NAME if self.first else f"{NODE_NAME}-{self.number}"

    @property
    def ip(self) -> ipaddress.IPv4Address:
        """The node's address on the bridge."""
        return NODE_IP if self.first else EXTRA_NODE_ADDRESSES.network_address + self.number

    @property
    def zone(self) -> str:
        """Its `topology.kubernetes.io/zone`: the nodes alternate between the two zones."""
        return ZONES[(self.number - 1) % len(ZONES)]

    @property
    def netns(self) -> str | None:
        """The node's network namespace; None for the first node (the host's own)."""
        return None if self.first else f"{PREFIX}-n{self.number}"

    @property
    def host_veth(self) -> str:
        """The host end, enslaved to the bridge, of the extra node's veth pair."""
        return f"{PREFIX}n{self.number}"

    @property
    def cgroup(self) -> str:
        """The kubelet's cgroupRoot, below the project's cgroup in every hierarchy."""
        return CGROUP_NAME if self.first else f"{CGROUP_NAME}/{self.name}"

    def process(self, component: str) -> str:
        """The supervised process name (pid and log file) of one of the node's components."""
        return component if self.first else f"{component}-{self.name}"

    def state(self, paths: Paths) -> Path:
        """The node's own state folder (kubelet root, containerd root, pod logs, IPAM)."""
        return paths.state if self.first else paths.state / "nodes" / self.name

    def run(self, paths: Paths) -> Path:
        """The node's own run folder (containerd state and socket, runc root)."""
        return paths.run if self.first else paths.run / "nodes" / self.name

    def config(self, paths: Paths) -> Path:
        """The node's rendered configuration files."""
        return paths.config if self.first else self.state(paths) / "config"

    def containerd_socket(self, paths: Paths) -> Path:
        """The socket of the node's own containerd."""
        return self.run(paths) / "containerd" / "containerd.sock"


FIRST_NODE = Node(1)


def node_named(name: str) -> Node:
    """The node whose Node object is called `name` (a pod's `spec.nodeName`)."""
    for number in range(1, MAX_NODES + 1):
        if Node(number).name == name:
            return Node(number)
    raise ValueError(f"{name!r} is not a node of the local cluster")


@dataclass(frozen=True)
class Ports:
    """TCP ports the cluster listens on, with the component that owns each one."""

    etcd_client: int = 2379
    etcd_peer: int = 2380
    apiserver: int = 6443
    kubelet: int = 10250
    kubelet_healthz: int = 10248
    kube_proxy_metrics: int = 10249
    kube_proxy_healthz: int = 10256
    controller_manager: int = 10257
    scheduler: int = 10259
    registry: int = 5001
    registry_debug: int = 5002
    kube_router_health: int = 20244
    postgres: int = 15432
    ai_standin: int = 18090

    def owners(self) -> dict[int, str]:
        """Map each port to the name of the component that listens on it."""
        return {port: name.replace("_", "-") for name, port in vars(self).items()}


PORTS = Ports()


@dataclass(frozen=True)
class HostProcess:
    """A process the runtime starts on the host and supervises by its pid file.

    `ports` are those it listens on (a rerun of `up` skips their checks while it runs); `node`
    marks the node's own processes, which run the pods; `stop_signal` asks it to stop.
    """

    name: str
    ports: tuple[int, ...] = ()
    node: bool = False
    stop_signal: signal.Signals = signal.SIGTERM


# In the order `up` starts them (but for the watchers); `down` stops them in the reverse order:
# the node's processes first, so nothing restarts the pods killed next, then the control plane
# and the host services (pods that still watch the apiserver would hold its shutdown).
HOST_PROCESSES = (
    HostProcess("registry", (PORTS.registry, PORTS.registry_debug)),
    HostProcess("containerd"),
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
    HostProcess("postgres", (PORTS.postgres,), stop_signal=signal.SIGINT),
    HostProcess("ai-standin", (PORTS.ai_standin,)),
    HostProcess("etcd", (PORTS.etcd_client, PORTS.etcd_peer)),
    HostProcess("kube-apiserver", (PORTS.apiserver,)),
    HostProcess("kube-controller-manager", (PORTS.controller_manager,)),
    HostProcess("kube-scheduler", (PORTS.scheduler,)),
    # Started last (they watch the pods), but stopped with the control plane.
    HostProcess("ai-clients"),
    HostProcess("database-clients"),
    HostProcess("kubelet", (PORTS.kubelet, PORTS.kubelet_healthz), node=True),
    HostProcess("kube-proxy", (PORTS.kube_proxy_healthz, PORTS.kube_proxy_metrics), node=True),
)

# An extra node's own processes (nodes.py), in the order `down` stops them: the kubelet first,
# so nothing restarts the containers removed next, the relay to the registry last.
NODE_PROCESS_COMPONENTS = ("kubelet", "kube-proxy", "containerd", "registry-relay")

# kube-apiserver's default --service-node-port-range, which the control plane keeps: the only
# ports the user's side may reach (hostnet's user-link chains).
NODE_PORT_RANGE = (30000, 32767)
# The local registry (docker-registry on loopback): the one definition of `localhost:5001`, which
# the images are tagged for and the chart's default image registry names.
REGISTRY = f"localhost:{PORTS.registry}"
# The apiserver's URL, in every kubeconfig of the cluster; it also tells a kube context that
# points at this cluster from one that points elsewhere.
API_URL = f"https://{NODE_IP}:{PORTS.apiserver}"


@dataclass(frozen=True)
class Paths:
    """Folders and files of one cluster instance.

    `state` survives a reboot (etcd data, certificates, secrets, images, logs) and is removed by
    `down`; `run` holds sockets and pid files; `cache` holds the built binaries and is kept.
    """

    state: Path
    run: Path
    cache: Path
    repo: Path

    @property
    def bin(self) -> Path:
        """The built binaries (kube-*, etcd, kubectl, helm) from tools/gotools.py."""
        return self.cache / "bin"

    @property
    def logs(self) -> Path:
        """One `<component>.log` per process the runtime starts."""
        return self.state / "logs"

    @property
    def pki(self) -> Path:
        """Certificates and keys of the cluster."""
        return self.state / "pki"

    @property
    def secrets(self) -> Path:
        """Generated passwords and keys of the app (mode 0600, never printed)."""
        return self.state / "secrets"

    @property
    def config(self) -> Path:
        """Rendered configuration files of every component."""
        return self.state / "config"

    @property
    def pids(self) -> Path:
        """One `<component>.pid` per running process."""
        return self.run / "pids"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig users and tests point kubectl at."""
        return self.state / "kubeconfig"

    @property
    def host_snapshot(self) -> Path:
        """What the host looked like before the first `up`, so `down` can restore it."""
        return self.state / "host-snapshot.json"

    @property
    def containerd_socket(self) -> Path:
        """The socket of the first node's containerd, the project's own (never the system one)."""
        return self.run / "containerd" / "containerd.sock"

    @property
    def templates(self) -> Path:
        """Configuration templates shipped in the repository."""
        return self.repo / "cluster" / "templates"

    def log(self, component: str) -> Path:
        """The log file of one component."""
        return self.logs / f"{component}.log"


def paths_from_env() -> Paths:
    """Build the Paths from $STATE, $RUN_DIR and $CACHE, with the documented defaults."""
    env = os.environ
    repo = Path(__file__).resolve().parents[2]
    return Paths(
        state=Path(env.get("STATE") or "/var/lib/todo-chatbot"),
        run=Path(env.get("RUN_DIR") or "/run/todo-chatbot"),
        cache=Path(env.get("CACHE") or Path.home() / ".cache" / "todo-chatbot"),
        repo=repo,
    )
