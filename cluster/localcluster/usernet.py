"""The end user's "machine": a network namespace wired to the host by one veth pair.

The namespace has a /30 with the host-side veth and no other route, so from inside it the only
thing reachable is the host's veth address, where the frontend's NodePort answers; it never sees
the pod or Service networks directly.
"""

from __future__ import annotations

from pathlib import Path

from . import settings
from .hostnet import link_exists
from .shell import run


def netns_exists(name: str = settings.USER_NETNS) -> bool:
    """True when the named network namespace is mounted under /run/netns."""
    return Path("/run/netns", name).exists()


def set_up() -> None:
    """Create the namespace, the veth pair and the /30 addresses; idempotent."""
    prefix = settings.USER_CIDR.prefixlen
    if not netns_exists():
        run(["ip", "netns", "add", settings.USER_NETNS])
    ns = ["ip", "-n", settings.USER_NETNS]
    if not link_exists(settings.USER_VETH_HOST):
        run(
            [
                "ip",
                "link",
                "add",
                settings.USER_VETH_HOST,
                "type",
                "veth",
                "peer",
                "name",
                settings.USER_VETH_NS,
                "netns",
                settings.USER_NETNS,
            ]
        )
    run(
        [
            "ip",
            "addr",
            "replace",
            f"{settings.USER_HOST_IP}/{prefix}",
            "dev",
            settings.USER_VETH_HOST,
        ]
    )
    run(["ip", "link", "set", settings.USER_VETH_HOST, "up"])
    run([*ns, "addr", "replace", f"{settings.USER_NS_IP}/{prefix}", "dev", settings.USER_VETH_NS])
    run([*ns, "link", "set", settings.USER_VETH_NS, "up"])
    run([*ns, "link", "set", "lo", "up"])


def route_to_extra_nodes() -> None:
    """Let the user reach the extra nodes' NodePorts too, through the host (several entry points).

    The host forwards only their NodePorts (hostnet's user-link chains) and drops the rest.
    """
    nodes = str(settings.EXTRA_NODE_ADDRESSES)
    run(
        [
            "ip",
            "-n",
            settings.USER_NETNS,
            "route",
            "replace",
            nodes,
            "via",
            str(settings.USER_HOST_IP),
        ]
    )


def tear_down() -> None:
    """Delete the veth pair (both ends go together), then the namespace."""
    if link_exists(settings.USER_VETH_HOST):
        run(["ip", "link", "del", settings.USER_VETH_HOST])
    if netns_exists():
        run(["ip", "netns", "del", settings.USER_NETNS])
