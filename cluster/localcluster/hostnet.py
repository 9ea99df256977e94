"""The host side of the cluster's network: sysctls, bridge, routes, and the firewall we own.

Only additions: the bridge, two blackhole routes, a filter chain, mangle chains that keep
kube-router's health port on loopback, let the user's side reach the NodePorts and nothing else,
only the backends reach the AI stand-in and only the release namespaces' pods PostgreSQL, and a
routing table with its rules that keep pod and user traffic on the machine. `down` removes
those, and what appeared
since the snapshot taken before the first `up`: chains (and the rules that jump to them) and
ipsets created by our components; it puts changed sysctls back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import netns, settings
from .errors import ClusterError
from .shell import run

# Sysctls we set, or that the kubelet and kube-proxy set, restored by `down`.
TRACKED_SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/ipv4/conf/all/route_localnet",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
# Chains our components create: kube-proxy, the kubelet and kube-router (KUBE-), the CNI
# plugins (CNI-) and this runtime (TCB-).
OWNED_CHAIN_PREFIXES = ("KUBE-", "CNI-", "TCB-")
# The prefix only this runtime uses: such chains and ipsets are ours even without a snapshot.
OWN_CHAIN_PREFIX = "TCB-"
OUR_INTERFACES = (settings.BRIDGE, settings.USER_VETH_HOST)
OWNED_IPSET_PREFIXES = ("KUBE-", "kube-router", "inet6:KUBE-", "inet6:kube-router")
IPTABLES = {"ipv4": "iptables", "ipv6": "ip6tables"}
FORWARD_CHAIN = "TCB-FORWARD"
INPUT_CHAIN = "TCB-INPUT"
USER_FORWARD_CHAIN = "TCB-USER-FORWARD"
USER_INPUT_CHAIN = "TCB-USER-INPUT"
AI_STANDIN_CHAIN = "TCB-AI-STANDIN"
# The pods that may reach the AI stand-in (the backends'), kept current by ai_clients.
AI_CLIENTS_SET = "TCB-AI-CLIENTS"
DATABASE_CHAIN = "TCB-DATABASE"
# The pods that may reach PostgreSQL (the release namespaces'), kept by database_clients.
DATABASE_CLIENTS_SET = "TCB-DATABASE-CLIENTS"
# Our routing table and the priority of its rule (the `prohibit` rule follows at +1): numbers
# nothing else on this host uses (the preflight checks), ahead of the main table's 32766.
ROUTE_TABLE = 2244
RULE_PRIORITY = 2244
SYSCTL_DIR = Path("/proc/sys")
# An extra node's end of its veth pair, inside its namespace.
EXTRA_NODE_LINK = "eth0"


def read_sysctl(key: str) -> str | None:
    """The value of a sysctl, or None when this kernel lacks it."""
    try:
        return (SYSCTL_DIR / key).read_text().strip()
    except FileNotFoundError:
        return None


def write_sysctl(key: str, value: str) -> None:
    """Set a sysctl that exists."""
    (SYSCTL_DIR / key).write_text(value + "\n")


def parse_chains(save_text: str) -> dict[str, set[str]]:
    """Map each table of an `iptables-save` dump to the chains it declares."""
    chains: dict[str, set[str]] = {}
    table = ""
    for line in save_text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
            chains.setdefault(table, set())
        elif line.startswith(":") and table:
            chains[table].add(line[1:].split()[0])
    return chains


def removal_script(save_text: str, chains_before: dict[str, set[str]] | None) -> str:
    """An `iptables-restore --noflush` script removing the chains and rules we own.

    Ours are: every `TCB-` chain; with a snapshot (`chains_before`), also every `KUBE-`/`CNI-`
    chain that is new since it; and any other rule naming our interfaces or jumping to a chain
    of ours. Without a snapshot nothing tells our `KUBE-` chains from another cluster's on the
    same host, so those stay. Rules are deleted one by one (exact specs from the dump), so no
    rule anyone else owns moves or disappears.
    """
    out: list[str] = []
    current = parse_chains(save_text)
    table = ""
    deletions: dict[str, list[str]] = {}
    for line in save_text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith("-A ") and table:
            chain, _, spec = line[3:].partition(" ")
            owned = _owned(current[table], chains_before, table)
            if chain in owned:
                continue
            words = spec.split()
            targets = {words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-j", "-g")}
            devices = {words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-i", "-o")}
            if targets & owned or devices & set(OUR_INTERFACES):
                deletions.setdefault(table, []).append(f"-D {chain} {spec}")
    for table, chains in current.items():
        removed = sorted(_owned(chains, chains_before, table))
        if not removed and table not in deletions:
            continue
        out.append(f"*{table}")
        out.extend(deletions.get(table, []))
        out.extend(f"-F {chain}" for chain in removed)
        out.extend(f"-X {chain}" for chain in removed)
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


def _owned(
    chains: Iterable[str], chains_before: dict[str, set[str]] | None, table: str
) -> set[str]:
    before = chains_before.get(table, set()) if chains_before is not None else None
    return {
        c
        for c in chains
        if c.startswith(OWN_CHAIN_PREFIX)
        or (before is not None and c.startswith(OWNED_CHAIN_PREFIXES) and c not in before)
    }


def firewall_snapshot() -> dict[str, object]:
    """The chains of every table (IPv4 and IPv6) and the ipsets that exist now."""
    return {
        "chains": {
            family: {t: sorted(c) for t, c in parse_chains(_save(family)).items()}
            for family in IPTABLES
        },
        "ipsets": sorted(_ipsets()),
    }


def _save(family: str) -> str:
    return run([f"{IPTABLES[family]}-save"]).stdout


def _add_chains(family: str, table: str, chains: Sequence[str], rules: Sequence[str]) -> None:
    """Create our `chains` in `table` with `rules` (their own and the jumps into them), once.

    The first chain already there means an earlier `up` added them all: nothing is added twice.
    """
    if f":{chains[0]} " in _save(family):
        return
    script = "\n".join([f"*{table}", *(f":{chain} - [0:0]" for chain in chains), *rules, "COMMIT"])
    run([f"{IPTABLES[family]}-restore", "--noflush"], input_text=script + "\n")


def _ipsets() -> set[str]:
    return set(run(["ipset", "list", "-n"]).stdout.split())


def link_exists(name: str) -> bool:
    """True when a network interface of that name exists in the host namespace."""
    return Path(f"/sys/class/net/{name}").exists()


def set_up() -> None:
    """Enable forwarding, create the bridge with the node IP, add the routes and our chain."""
    write_sysctl("net/ipv4/ip_forward", "1")
    write_sysctl("net/bridge/bridge-nf-call-iptables", "1")
    if not link_exists(settings.BRIDGE):
        run(["ip", "link", "add", settings.BRIDGE, "type", "bridge"])
    address = f"{settings.NODE_IP}/{settings.NODE_POD_CIDR.prefixlen}"
    run(["ip", "addr", "replace", address, "dev", settings.BRIDGE])
    run(["ip", "link", "set", settings.BRIDGE, "up"])
    # Unrouted Service and pod addresses must never follow the default route off the machine.
    for network in (settings.SERVICE_CIDR, settings.POD_CIDR):
        run(["ip", "route", "replace", "blackhole", str(network)])
    _ensure_forward_chain()
    _ensure_input_chain()
    _ensure_user_link_chains()
    _ensure_ai_standin_chain()
    _ensure_database_chain()


def _ensure_forward_chain() -> None:
    """Keep pod and user traffic between our bridge and the user veth; drop anything else.

    The chain only drops or returns, never accepts, so kube-router's NetworkPolicy rules and
    kube-proxy's rules still decide what passes between the interfaces we own. kube-router and
    kube-proxy put their own jumps ahead of ours (and kube-router's accepts what its policies
    allow), so this is the second guard; `confine_routing` is the one that holds regardless.
    """
    bridge, user = settings.BRIDGE, settings.USER_VETH_HOST
    rules = [
        f"-A {FORWARD_CHAIN} -i {bridge} -o {bridge} -j RETURN",
        f"-A {FORWARD_CHAIN} -i {bridge} -o {user} -j RETURN",
        f"-A {FORWARD_CHAIN} -i {user} -o {bridge} -j RETURN",
    ]
    rules += [
        f'-A {FORWARD_CHAIN} {direction} {dev} -m comment --comment "todo-chatbot: stays local" '
        "-j DROP"
        for dev in (bridge, user)
        for direction in ("-i", "-o")
    ]
    _add_chains("ipv4", "filter", [FORWARD_CHAIN], [*rules, f"-I FORWARD 1 -j {FORWARD_CHAIN}"])


def _ensure_input_chain() -> None:
    """Refuse kube-router's health port except on loopback, for IPv4 and IPv6.

    kube-router v2.1.0 serves /healthz on every address and has no flag to bind one; only the
    kubelet's liveness probe, which reaches the node's own addresses through loopback, needs
    it. In the mangle table: kube-router puts its own INPUT chain first in the filter table
    and accepts pod traffic there before a filter rule of ours is reached.
    """
    port = settings.PORTS.kube_router_health
    rules = [
        f"-A {INPUT_CHAIN} -p tcp --dport {port} ! -i lo "
        '-m comment --comment "todo-chatbot: kube-router health on loopback only" -j DROP',
        f"-I INPUT 1 -j {INPUT_CHAIN}",
    ]
    for family in IPTABLES:
        _add_chains(family, "mangle", [INPUT_CHAIN], rules)


def _ensure_user_link_chains() -> None:
    """Let what arrives on the user link reach the NodePorts and nothing else.

    A client in the user's namespace can route the pod and Service ranges via the host; without
    these rules it would reach the apiserver, the kubelet, PostgreSQL, the AI stand-in, CoreDNS
    and every pod. Forwarded to the pods only when kube-proxy DNATed it from a NodePort on the
    host end of the link (conntrack's original destination), delivered to the host only as part
    of a connection the host opened. In the mangle table, which kube-router never rewrites and
    which runs before the filter table whose order kube-proxy and kube-router decide: a drop
    here holds whatever they accept later.
    """
    user = settings.USER_VETH_HOST
    first, last = settings.NODE_PORT_RANGE
    node_ports = (
        f"-m conntrack --ctstate DNAT --ctorigdst {settings.USER_HOST_IP} "
        f"--ctorigdstport {first}:{last}"
    )
    drop = '-m comment --comment "todo-chatbot: the user side reaches NodePorts only" -j DROP'
    replies = "-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN"
    extra_node_ports = f"-d {settings.EXTRA_NODE_ADDRESSES} -p tcp --dport {first}:{last}"
    chains = {
        "ipv4": [
            f"-A {USER_FORWARD_CHAIN} {node_ports} -j RETURN",
            # The extra nodes' NodePorts, their kube-proxy's to DNAT inside their namespace.
            f"-A {USER_FORWARD_CHAIN} {extra_node_ports} -j RETURN",
            f"-A {USER_FORWARD_CHAIN} {drop}",
            f"-A {USER_INPUT_CHAIN} {node_ports} -j RETURN",
            f"-A {USER_INPUT_CHAIN} {replies}",
            f"-A {USER_INPUT_CHAIN} {drop}",
        ],
        # No NodePort on IPv6; neighbour discovery keeps the link itself working.
        "ipv6": [
            f"-A {USER_FORWARD_CHAIN} {drop}",
            f"-A {USER_INPUT_CHAIN} -p ipv6-icmp -j RETURN",
            f"-A {USER_INPUT_CHAIN} {replies}",
            f"-A {USER_INPUT_CHAIN} {drop}",
        ],
    }
    jumps = [
        f"-I FORWARD 1 -i {user} -j {USER_FORWARD_CHAIN}",
        f"-I INPUT 1 -i {user} -j {USER_INPUT_CHAIN}",
    ]
    for family in IPTABLES:
        _add_chains(
            family, "mangle", [USER_FORWARD_CHAIN, USER_INPUT_CHAIN], [*chains[family], *jumps]
        )


def _ensure_ai_standin_chain() -> None:
    """Drop pod traffic to the AI stand-in's port unless it comes from a backend pod."""
    _ensure_host_service_chain(
        AI_STANDIN_CHAIN,
        AI_CLIENTS_SET,
        settings.PORTS.ai_standin,
        "only backend pods reach the AI stand-in",
    )


def _ensure_database_chain() -> None:
    """Drop pod traffic to PostgreSQL's port unless it comes from a release namespace's pod."""
    _ensure_host_service_chain(
        DATABASE_CHAIN,
        DATABASE_CLIENTS_SET,
        settings.PORTS.postgres,
        "only pods of the release namespaces reach PostgreSQL",
    )


def _ensure_host_service_chain(chain: str, clients: str, port: int, comment: str) -> None:
    """Drop pod traffic to a host service's `port` unless its source is in the set `clients`.

    The service runs on the host, where no NetworkPolicy reaches; the set starts empty (no
    pod gets in) until its watcher (ai_clients, database_clients) fills it. In the mangle table
    for the reason given in `_ensure_user_link_chains`.
    """
    run(["ipset", "create", clients, "hash:ip", "-exist"])
    rules = [
        f"-A {chain} -d {settings.NODE_IP} -p tcp --dport {port} "
        f'-m set ! --match-set {clients} src -m comment --comment "todo-chatbot: {comment}" '
        "-j DROP",
        f"-I INPUT 1 -i {settings.BRIDGE} -j {chain}",
    ]
    _add_chains("ipv4", "mangle", [chain], rules)


def confine_routing() -> None:
    """Route what arrives from the pods or the user's namespace only to our own interfaces.

    For each of our interfaces, one rule sends packets arriving on it to our table, which holds
    only our routes, and the next one prohibits anything that table does not route. Nothing from
    a pod or the user's namespace can take the host's default route, whatever the order of the
    FORWARD rules (kube-proxy and kube-router insert theirs ahead of ours). Host addresses (the
    node IP) are still delivered by the local table, which every rule here comes after.
    """
    routes = [
        [str(settings.NODE_POD_CIDR), "dev", settings.BRIDGE, "src", str(settings.NODE_IP)],
        [
            str(settings.USER_CIDR),
            "dev",
            settings.USER_VETH_HOST,
            "src",
            str(settings.USER_HOST_IP),
        ],
        ["blackhole", str(settings.SERVICE_CIDR)],
        ["blackhole", str(settings.POD_CIDR)],
    ]
    for route in routes:
        run(["ip", "route", "replace", *route, "table", str(ROUTE_TABLE)])
    present = our_rules(run(["ip", "-4", "rule", "show"]).stdout)
    for rule in RULES:
        if rule not in present:
            run(["ip", "-4", "rule", "add", *rule.args()])


@dataclass(frozen=True)
class Rule:
    """One policy routing rule of ours: packets arriving on `device` go to `action`."""

    priority: int
    device: str
    action: tuple[str, ...]

    def args(self) -> list[str]:
        """The words after `ip rule add` / `ip rule del`."""
        return ["priority", str(self.priority), "iif", self.device, *self.action]


RULES = tuple(
    rule
    for device in OUR_INTERFACES
    for rule in (
        Rule(RULE_PRIORITY, device, ("lookup", str(ROUTE_TABLE))),
        Rule(RULE_PRIORITY + 1, device, ("prohibit",)),
    )
)


def our_rules(rule_text: str) -> list[Rule]:
    """The rules in `ip -4 rule show` output that name one of our interfaces, in order.

    A rule whose interface is gone shows `[detached]`; it is still ours.
    """
    found = []
    for line in rule_text.splitlines():
        words = [w for w in line.split() if w != "[detached]"]
        if len(words) < 6 or words[1:4] != ["from", "all", "iif"]:
            continue
        if words[4] in OUR_INTERFACES:
            found.append(Rule(int(words[0].rstrip(":")), words[4], tuple(words[5:])))
    return found


def table_routes() -> str:
    """The routes of our table; empty when it does not exist (`ip` fails then)."""
    return run(["ip", "-4", "route", "show", "table", str(ROUTE_TABLE)], check=False).stdout


def tear_down(snapshot: dict[str, Any]) -> None:
    """Remove the bridge, our routes, rules, chains and ipsets, and restore the sysctls.

    Without a snapshot (`up` stopped before taking it, or the state folder was removed), only
    what is unmistakably ours goes: our interfaces, routes, rules and `TCB-` chains.
    """
    for rule in our_rules(run(["ip", "-4", "rule", "show"]).stdout):
        run(["ip", "-4", "rule", "del", *rule.args()], check=False)
    if table_routes().strip():
        run(["ip", "-4", "route", "flush", "table", str(ROUTE_TABLE)])
    if link_exists(settings.BRIDGE):
        run(["ip", "link", "del", settings.BRIDGE])
    routes = run(["ip", "-4", "route", "show", "type", "blackhole"]).stdout
    for network in (settings.SERVICE_CIDR, settings.POD_CIDR):
        if f"blackhole {network}" in routes:
            run(["ip", "route", "del", "blackhole", str(network)])
    chains_before = snapshot.get("chains")
    for family, command in IPTABLES.items():
        before = (
            None
            if chains_before is None
            else {t: set(c) for t, c in chains_before.get(family, {}).items()}
        )
        script = removal_script(_save(family), before)
        if script:
            run([f"{command}-restore", "--noflush"], input_text=script)
    remaining = _ipsets()
    for name in sorted(remaining):
        if name.startswith(OWN_CHAIN_PREFIX):
            run(["ipset", "destroy", name], check=False)
    if "ipsets" in snapshot:
        for name in sorted(remaining - set(snapshot["ipsets"])):
            if name.startswith(OWNED_IPSET_PREFIXES):
                run(["ipset", "destroy", name], check=False)
    for key, value in snapshot.get("sysctls", {}).items():
        if value is not None and read_sysctl(key) not in (None, value):
            try:
                write_sysctl(key, value)
            except OSError as exc:
                raise ClusterError(f"could not restore sysctl {key}={value}: {exc}") from exc


def set_up_extra_node(node: settings.Node) -> None:
    """The extra node's namespace, its veth on the bridge, its address and default route.

    Its pods' traffic leaves it only through the host, where `confine_routing` holds it; the
    Service range is a blackhole there too, and kube-router's health port stays on its
    loopback, as on the host. Idempotent.
    """
    namespace = str(node.netns)
    if not (netns.NETNS_DIR / namespace).exists():
        run(["ip", "netns", "add", namespace])
    if not link_exists(node.host_veth):
        run(
            [
                *("ip", "link", "add", node.host_veth, "type", "veth"),
                *("peer", "name", EXTRA_NODE_LINK, "netns", namespace),
            ]
        )
    run(["ip", "link", "set", node.host_veth, "master", settings.BRIDGE, "up"])
    inside = ["ip", "-n", namespace]
    address = f"{node.ip}/{settings.NODE_POD_CIDR.prefixlen}"
    run([*inside, "addr", "replace", address, "dev", EXTRA_NODE_LINK])
    run([*inside, "link", "set", EXTRA_NODE_LINK, "up"])
    run([*inside, "link", "set", "lo", "up"])
    run([*inside, "route", "replace", "default", "via", str(settings.NODE_IP)])
    run([*inside, "route", "replace", "blackhole", str(settings.SERVICE_CIDR)])
    with netns.entered(namespace):
        write_sysctl("net/ipv4/ip_forward", "1")
        write_sysctl("net/bridge/bridge-nf-call-iptables", "1")
        _ensure_input_chain()


def route_node_pods(node: settings.Node, pod_cidr: ipaddress.IPv4Network) -> None:
    """Route the node's pod range to its address, in the main table and in ours."""
    for table in ("main", str(ROUTE_TABLE)):
        run(
            [
                *("ip", "-4", "route", "replace", str(pod_cidr), "via", str(node.ip)),
                *("dev", settings.BRIDGE, "table", table),
            ]
        )


def remove_node_routes(node: settings.Node) -> None:
    """Delete the routes through the node's address from the main table and from ours."""
    for table in ("main", str(ROUTE_TABLE)):
        listed = run(["ip", "-4", "route", "show", "table", table], check=False).stdout
        for line in listed.splitlines():
            words = line.split()
            if f"via {node.ip} " in f"{line} ":
                run(["ip", "-4", "route", "del", words[0], "table", table], check=False)
