"""Which client a request comes from, believing `X-Forwarded-For` only from trusted proxies.

Anyone can send `X-Forwarded-For`; only a proxy the operator named (`TRUSTED_PROXIES`) is
believed about who its client was. The client is the nearest address, walking the header
from the right, that is not itself a trusted proxy: hops further left were written by the
client and are whatever it likes.
"""

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Longer header values are cut: the key only has to tell clients apart.
MAX_KEY_CHARS = 64


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse comma-separated CIDRs ("10.0.0.0/8, fd00::/8"); a bare address is a /32 (/128)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError:
            raise ValueError(
                f"must be comma-separated CIDRs such as 10.0.0.0/8, got '{item}'"
            ) from None
    return tuple(networks)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_key(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or from `X-Forwarded-For` when the peer is trusted."""
    if not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:MAX_KEY_CHARS]
    # Only trusted hops (a proxy talking to us on its own behalf): the leftmost one.
    return hops[0][:MAX_KEY_CHARS] if hops else peer
