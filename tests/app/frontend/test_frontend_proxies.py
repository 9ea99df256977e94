"""Who the client is, behind trusted proxies or not (todo_frontend.core.proxies)."""

from __future__ import annotations

import pytest
from todo_frontend.core.proxies import client_key, parse_networks

pytestmark = pytest.mark.app

INGRESS = parse_networks("10.244.0.0/24, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # No trusted proxy in front: the header is the client's own claim.
        ("10.250.0.2", "198.51.100.7", "10.250.0.2"),
        ("10.250.0.2", "", "10.250.0.2"),
        # The ingress appended the client's address last; what is left of it was claimed.
        ("10.244.0.17", "10.250.0.2", "10.250.0.2"),
        ("10.244.0.17", "192.0.2.1, 10.250.0.2", "10.250.0.2"),
        # Trusted hops are skipped from the right, up to the first untrusted one.
        ("10.244.0.17", "192.0.2.1, 10.250.0.2, 10.244.0.9", "10.250.0.2"),
        ("fd00::5", "2001:db8::1", "2001:db8::1"),
        # A trusted peer without the header is its own client.
        ("10.244.0.17", "", "10.244.0.17"),
        ("10.244.0.17", "10.244.0.3, 10.244.0.9", "10.244.0.3"),
        # A hop that is not an address is not trusted: it keys the client, cut short.
        ("10.244.0.17", "x" * 100, "x" * 64),
    ],
)
def test_client_key(peer: str, forwarded_for: str, client: str) -> None:
    assert client_key(peer, forwarded_for, INGRESS) == client


def test_nothing_is_trusted_by_default() -> None:
    assert parse_networks("") == ()
    assert client_key("127.0.0.1", "198.51.100.7", ()) == "127.0.0.1"


def test_a_bare_address_is_one_host() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.1 ,10.1.0.0/16,")] == [
        "10.0.0.1/32",
        "10.1.0.0/16",
    ]


def test_fails_when_a_proxy_is_not_a_cidr() -> None:
    with pytest.raises(
        ValueError, match=r"^must be comma-separated CIDRs such as 10.0.0.0/8, got 'ingress'$"
    ):
        parse_networks("10.0.0.0/8, ingress")
