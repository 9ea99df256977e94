"""Checks that stop `up` before it changes anything, each with one line saying what to do.

Every check is a function from what it reads (file text, command output) to a problem message or
None, so the logic is tested without touching the host; `run` gathers the real inputs.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from toolchain.catalog import KUBERNETES_COMMANDS
from toolchain.resources import available_memory_mib, free_disk_mib

from . import hostnet, settings, shell
from .errors import ClusterError
from .settings import Paths

# Binaries built by tools/gotools.py into $CACHE/bin.
BUILT_BINARIES = ("etcd", *KUBERNETES_COMMANDS)
# Binaries from Debian packages that `make setup-cluster` installs.
HOST_BINARIES = (
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "runc",
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
    "ipset",
    "conntrack",
    "docker-registry",
    "skopeo",
    "openssl",
    "ip",
    "umount",
    "runuser",
    "unshare",
)
CNI_BIN_DIR = Path("/usr/lib/cni")
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
POSTGRES_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
POSTGRES_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")
# cgroup v1 controllers the kubelet needs with the cgroupfs driver.
CGROUP_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids", "blkio")
MIN_AVAILABLE_MEMORY_MIB = 3 * 1024
MIN_FREE_DISK_MIB = 8 * 1024
_TCP_LISTEN = "0A"


def check_root(euid: int) -> str | None:
    """The runtime creates interfaces, mounts and cgroups: only root can."""
    if euid != 0:
        return "the local cluster needs root (interfaces, mounts, cgroups): run it as root"
    return None


def check_kernel(
    *, sysctl_dir: Path, filesystems_text: str, cgroup_mounts: Iterable[str]
) -> str | None:
    """Bridge netfilter, IP forwarding, overlayfs and the cgroup v1 controllers must exist."""
    if not (sysctl_dir / "net/bridge/bridge-nf-call-iptables").exists():
        return (
            "kernel lacks bridge netfilter (net.bridge.bridge-nf-call-iptables): "
            "run `modprobe br_netfilter` (CONFIG_BRIDGE_NETFILTER)"
        )
    if not (sysctl_dir / "net/ipv4/ip_forward").exists():
        return "kernel lacks IPv4 forwarding (net.ipv4.ip_forward): enable CONFIG_INET"
    filesystems = {line.split()[-1] for line in filesystems_text.splitlines() if line.strip()}
    if "overlay" not in filesystems:
        return "kernel lacks overlayfs, containerd's snapshotter: run `modprobe overlay`"
    mounted = set(cgroup_mounts)
    missing = [c for c in CGROUP_CONTROLLERS if c not in mounted]
    if missing:
        return (
            f"cgroup v1 controllers not mounted under /sys/fs/cgroup: {', '.join(missing)} "
            "(the cluster needs the cgroup v1 or hybrid layout)"
        )
    return None


# Kernel features that /proc does not show until their module is loaded: (what, modules, the
# command that needs it). Each is tried for real, in order, in a throwaway network namespace
# (modules load on demand; the host's namespace is never touched). Without them kube-router or
# kube-proxy would fail minutes into `up`.
KERNEL_PROBES = (
    ("veth pairs", "veth", "ip link add tcbprobe0 type veth peer name tcbprobe1"),
    ("ipsets", "ip_set ip_set_hash_ip", "ipset create tcbprobe hash:ip"),
    (
        "the iptables set match",
        "xt_set",
        "iptables -w -A INPUT -m set --match-set tcbprobe src -j ACCEPT",
    ),
    (
        "connection tracking",
        "nf_conntrack xt_conntrack",
        "iptables -w -A INPUT -m conntrack --ctstate INVALID -j DROP",
    ),
    (
        "NAT",
        "nf_nat xt_nat",
        "iptables -w -t nat -A PREROUTING -p tcp -j DNAT --to-destination 127.0.0.1",
    ),
)


def kernel_probe_script(probes: Iterable[tuple[str, str, str]] = KERNEL_PROBES) -> str:
    """A shell script that prints the number of the first probe that fails, or nothing."""
    return "".join(
        f"{command} >/dev/null 2>&1 || {{ echo {number}; exit 0; }}\n"
        for number, (_, _, command) in enumerate(probes)
    )


def check_kernel_features(
    probe_output: str, probes: Sequence[tuple[str, str, str]] = KERNEL_PROBES
) -> str | None:
    """Name the first kernel feature whose probe failed (`kernel_probe_script`'s output)."""
    if not probe_output.strip():
        return None
    feature, modules, _ = probes[int(probe_output.split()[0])]
    return (
        f"kernel lacks {feature} (needed by kube-proxy, kube-router or the CNI plugins): "
        f"run `modprobe -a {modules}`, or use a kernel built with them"
    )


def probe_kernel() -> str:
    """Run the kernel probes in a throwaway network namespace; return the script's output."""
    with tempfile.TemporaryDirectory() as scratch:
        # A legacy iptables would otherwise create the host's /run/xtables.lock.
        env = {**os.environ, "XTABLES_LOCKFILE": str(Path(scratch) / "xtables.lock")}
        script = kernel_probe_script()
        return shell.run(["unshare", "--net", "sh", "-c", script], env=env).stdout


def check_memory(
    available_mib: int,
    *,
    nodes: int = 1,
    new_extra_nodes: int = 0,
    booted: bool = False,
    per_extra_node_mib: int = settings.EXTRA_NODE_MEMORY_MIB,
) -> str | None:
    """The control plane, the first node and the app need about 3 GiB; each extra node more.

    `booted`: the control plane runs already, its memory is in use; only the `new_extra_nodes`
    not running yet still need theirs.
    """
    needed = (0 if booted else MIN_AVAILABLE_MEMORY_MIB) + new_extra_nodes * per_extra_node_mib
    if needed and available_mib < needed:
        return (
            f"NODES={nodes} needs {needed} MiB of memory ({MIN_AVAILABLE_MEMORY_MIB} for the "
            f"control plane and the first node, {per_extra_node_mib} per extra node not yet "
            f"running), only {available_mib} MiB available: stop other workloads or lower NODES"
        )
    return None


def check_disk(path: Path, free_mib: int, minimum_mib: int = MIN_FREE_DISK_MIB) -> str | None:
    """Images, etcd and logs need room on the state folder's file system."""
    if free_mib < minimum_mib:
        return f"only {free_mib} MiB free under {path}, the cluster needs {minimum_mib} MiB"
    return None


def listening_ports(proc_net_tcp_texts: Iterable[str]) -> set[int]:
    """Parse /proc/net/tcp and /proc/net/tcp6 into the set of TCP ports in LISTEN state."""
    ports: set[int] = set()
    for text in proc_net_tcp_texts:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _TCP_LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def check_ports(
    listening: set[int], owners: Mapping[int, str], *, ours: Iterable[int] = ()
) -> str | None:
    """Every port of a component not already running must be free."""
    busy = sorted(set(owners) & listening - set(ours))
    if busy:
        port = busy[0]
        return (
            f"port {port} ({owners[port]}) is already in use: stop what listens there "
            f"(`ss -ltnp 'sport = :{port}'`) or run `make down`"
        )
    return None


_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "anycast", "throw", "nat"}
_DROP_TYPES = {"blackhole", "unreachable", "prohibit"}
_ADDRESS_TYPES = {"local", "broadcast", "multicast", "anycast"}


def check_routes(
    route_lines: Iterable[str],
    ranges: Mapping[str, ipaddress.IPv4Network],
    *,
    own_devices: Iterable[str],
) -> str | None:
    """The pod, Service and user ranges must not overlap a route the host already has.

    Input is `ip -4 route show table all`. Routes through our own devices, and blackhole routes of
    exactly our ranges, are ours from a previous `up` and are skipped; so are the local-table
    entries of single addresses, whose interfaces have their own unicast routes.
    """
    devices = set(own_devices)
    own_networks = set(ranges.values())
    for line in route_lines:
        words = line.split()
        if not words:
            continue
        kind = words[0] if words[0] in _ROUTE_TYPES | _DROP_TYPES else "unicast"
        target = words[0] if words[0] not in _ROUTE_TYPES | _DROP_TYPES else words[1]
        if target == "default" or kind in _ADDRESS_TYPES:
            continue
        device = words[words.index("dev") + 1] if "dev" in words else ""
        try:
            network = ipaddress.IPv4Network(target, strict=False)
        except ValueError:
            continue
        if device in devices or (kind == "blackhole" and network in own_networks):
            continue
        for name, wanted in ranges.items():
            if network.overlaps(wanted):
                return (
                    f"the {name} range {wanted} overlaps the host route `{line.strip()}`: "
                    "change it in cluster/localcluster/settings.py"
                )
    return None


def check_route_table(rule_lines: Iterable[str], table_lines: Iterable[str]) -> str | None:
    """Our policy routing table (hostnet.ROUTE_TABLE) must be free for us.

    Input is `ip -4 rule show` and `ip -4 route show table <ours>`. Rules and routes of our own
    interfaces, and blackholes of our ranges, are ours from a previous `up`.
    """
    table = str(hostnet.ROUTE_TABLE)
    ours = set(hostnet.OUR_INTERFACES)
    for line in rule_lines:
        words = line.split()
        uses_ours = "lookup" in words and words[words.index("lookup") + 1] == table
        if uses_ours and not ("iif" in words and words[words.index("iif") + 1] in ours):
            return (
                f"routing table {table} is used by the host rule `{line.strip()}`: "
                "change ROUTE_TABLE in cluster/localcluster/hostnet.py"
            )
    own_blackholes = [["blackhole", str(n)] for n in (settings.SERVICE_CIDR, settings.POD_CIDR)]
    for line in table_lines:
        words = line.split()
        if not words:
            continue
        device = words[words.index("dev") + 1] if "dev" in words else ""
        if device in ours or words[:2] in own_blackholes:
            continue
        return (
            f"routing table {table} already holds the route `{line.strip()}`: "
            "change ROUTE_TABLE in cluster/localcluster/hostnet.py"
        )
    return None


def check_binaries(
    *,
    bin_dir: Path,
    built: Iterable[str],
    host: Iterable[str],
    which: Callable[[str], str | None] = shutil.which,
) -> str | None:
    """The built Kubernetes binaries and the Debian tools (names or absolute paths) must exist."""
    for name in built:
        if not os.access(bin_dir / name, os.X_OK):
            return f"{name} is not built in {bin_dir}: run `make cluster-tools`"
    for name in host:
        found = os.access(name, os.X_OK) if Path(name).is_absolute() else which(name) is not None
        if not found:
            return f"{name} is not installed: run `make setup-cluster`"
    return None


def _host_tools() -> list[str]:
    return [
        *HOST_BINARIES,
        *(str(CNI_BIN_DIR / p) for p in CNI_PLUGINS),
        *(str(POSTGRES_BIN_DIR / p) for p in POSTGRES_BINARIES),
    ]


def run(
    paths: Paths,
    *,
    ours: Iterable[int] = (),
    booted: bool = False,
    nodes: int = 1,
    new_extra_nodes: int | None = None,
) -> None:
    """Run every check on this host; raise ClusterError with the first problem found.

    `ours` lists the ports of components already running from a previous `up`. `booted` says
    the control plane already runs (a warm `up`): the memory it needs is in use already, and
    only the extra nodes of `nodes` not running yet (`new_extra_nodes`, all by default) need
    theirs.
    """
    if new_extra_nodes is None:
        new_extra_nodes = nodes - 1

    def read(path: str) -> str:
        return Path(path).read_text()

    checks: list[Callable[[], str | None]] = [
        lambda: check_root(os.geteuid()),
        lambda: check_binaries(bin_dir=paths.bin, built=BUILT_BINARIES, host=_host_tools()),
        lambda: check_kernel(
            sysctl_dir=Path("/proc/sys"),
            filesystems_text=read("/proc/filesystems"),
            cgroup_mounts=_cgroup_v1_controllers(read("/proc/mounts")),
        ),
        lambda: check_kernel_features(probe_kernel()),
        lambda: check_memory(
            available_memory_mib(read("/proc/meminfo")),
            nodes=nodes,
            new_extra_nodes=new_extra_nodes,
            booted=booted,
        ),
        lambda: check_disk(paths.state, free_disk_mib(paths.state)),
        lambda: check_ports(
            listening_ports(read(f"/proc/net/{n}") for n in ("tcp", "tcp6")),
            settings.PORTS.owners(),
            ours=ours,
        ),
        lambda: check_routes(
            shell.output(["ip", "-4", "route", "show", "table", "all"]).splitlines(),
            {
                "pod": settings.POD_CIDR,
                "Service": settings.SERVICE_CIDR,
                "user": settings.USER_CIDR,
            },
            own_devices=[settings.BRIDGE, settings.USER_VETH_HOST],
        ),
        lambda: check_route_table(
            shell.output(["ip", "-4", "rule", "show"]).splitlines(),
            hostnet.table_routes().splitlines(),
        ),
    ]
    for check in checks:
        problem = check()
        if problem:
            raise ClusterError(f"preflight: {problem}")


def _cgroup_v1_controllers(mounts_text: str) -> set[str]:
    """Return the cgroup v1 controllers mounted anywhere (a mount may carry several)."""
    controllers: set[str] = set()
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2] == "cgroup":
            controllers.update(fields[3].split(","))
    return controllers
