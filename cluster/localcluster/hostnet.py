"""The host side of the cluster's network: sysctls, bridge, routes, and the firewall we own.

Only additions: the bridge, two blackhole routes and one filter chain of our own. `down` removes
exactly what appeared since the snapshot taken before the first `up`: chains (and the rules that
jump to them) and ipsets created by our components, and it puts changed sysctls back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import settings
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
OWNED_IPSET_PREFIXES = ("KUBE-", "kube-router", "inet6:KUBE-", "inet6:kube-router")
IPTABLES = {"ipv4": "iptables", "ipv6": "ip6tables"}
FORWARD_CHAIN = "TCB-FORWARD"
SYSCTL_DIR = Path("/proc/sys")


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


def removal_script(save_text: str, chains_before: dict[str, set[str]]) -> str:
    """An `iptables-restore --noflush` script removing the chains we own and the jumps to them.

    A chain is ours when it is new since the snapshot and carries one of our prefixes. Rules in
    other chains that jump to ours are deleted one by one (exact specs from the dump), so no rule
    anyone else owns moves or disappears.
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
            owned = _owned(current[table], chains_before.get(table, set()))
            if chain in owned:
                continue
            words = spec.split()
            targets = {words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-j", "-g")}
            if targets & owned:
                deletions.setdefault(table, []).append(f"-D {chain} {spec}")
    for table, chains in current.items():
        removed = sorted(_owned(chains, chains_before.get(table, set())))
        if not removed and table not in deletions:
            continue
        out.append(f"*{table}")
        out.extend(deletions.get(table, []))
        out.extend(f"-F {chain}" for chain in removed)
        out.extend(f"-X {chain}" for chain in removed)
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


def _owned(chains: Iterable[str], before: set[str]) -> set[str]:
    return {c for c in chains if c.startswith(OWNED_CHAIN_PREFIXES) and c not in before}


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


def _ensure_forward_chain() -> None:
    """Keep pod and user traffic between our bridge and the user veth; drop anything else.

    The chain only drops or returns, never accepts, so kube-router's NetworkPolicy rules and
    kube-proxy's rules still decide what passes between the interfaces we own.
    """
    if f":{FORWARD_CHAIN} " in _save("ipv4"):
        return
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
    script = "\n".join(
        [
            "*filter",
            f":{FORWARD_CHAIN} - [0:0]",
            *rules,
            f"-I FORWARD 1 -j {FORWARD_CHAIN}",
            "COMMIT",
        ]
    )
    run(["iptables-restore", "--noflush"], input_text=script + "\n")


def tear_down(snapshot: dict[str, Any]) -> None:
    """Remove the bridge, our routes, chains and ipsets, and restore the recorded sysctls."""
    if link_exists(settings.BRIDGE):
        run(["ip", "link", "del", settings.BRIDGE])
    routes = run(["ip", "-4", "route", "show", "type", "blackhole"]).stdout
    for network in (settings.SERVICE_CIDR, settings.POD_CIDR):
        if f"blackhole {network}" in routes:
            run(["ip", "route", "del", "blackhole", str(network)])
    chains_before = snapshot.get("chains", {})
    for family, command in IPTABLES.items():
        before = {t: set(c) for t, c in chains_before.get(family, {}).items()}
        script = removal_script(_save(family), before)
        if script:
            run([f"{command}-restore", "--noflush"], input_text=script)
    ipsets_before = set(snapshot.get("ipsets", []))
    for name in sorted(_ipsets() - ipsets_before):
        if name.startswith(OWNED_IPSET_PREFIXES):
            run(["ipset", "destroy", name], check=False)
    for key, value in snapshot.get("sysctls", {}).items():
        if value is not None and read_sysctl(key) not in (None, value):
            try:
                write_sysctl(key, value)
            except OSError as exc:
                raise ClusterError(f"could not restore sysctl {key}={value}: {exc}") from exc
