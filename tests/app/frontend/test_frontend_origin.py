"""The origin check against cross-site requests (todo_frontend.core.origin)."""

import pytest
from todo_frontend.core.origin import is_same_origin, origin_of

pytestmark = pytest.mark.app

PUBLIC = "https://todo.example.com"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Todo.Example.com/path?q=1", "https://todo.example.com"),
        ("https://todo.example.com:443", "https://todo.example.com"),
        ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("ftp://todo.example.com", None),
        ("null", None),
        ("http://", None),
        ("http://host:99999", None),
    ],
)
def test_origin_of_normalizes_or_rejects(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_public_origin_is_accepted() -> None:
    assert is_same_origin(origin=PUBLIC, referer=None, host="10.0.0.5:3000", public_origin=PUBLIC)


def test_origin_matching_the_host_header_is_accepted() -> None:
    # A port-forward: the browser talks to localhost:8080, which is also the Host header.
    assert is_same_origin(
        origin="http://localhost:8080", referer=None, host="localhost:8080", public_origin=PUBLIC
    )


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8080", "http://[::1]:8080"])
def test_a_port_forward_on_loopback_may_use_plain_http(origin: str) -> None:
    host = origin.removeprefix("http://")
    assert is_same_origin(origin=origin, referer=None, host=host, public_origin=PUBLIC)


def test_a_plain_http_page_of_the_same_host_is_refused() -> None:
    # Anyone on the network path can forge what http://todo.example.com serves.
    assert not is_same_origin(
        origin="http://todo.example.com",
        referer=None,
        host="todo.example.com",
        public_origin=PUBLIC,
    )
    assert not is_same_origin(
        origin="http://todo.internal:8080",
        referer=None,
        host="todo.internal:8080",
        public_origin=PUBLIC,
    )


def test_referer_is_used_when_origin_is_missing() -> None:
    assert is_same_origin(
        origin=None, referer=f"{PUBLIC}/signin", host="todo.example.com", public_origin=PUBLIC
    )


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        ("https://evil.example", None),
        ("null", f"{PUBLIC}/"),
        (None, "https://evil.example/page"),
        (None, None),
        ("https://todo.example.com.evil.example", None),
    ],
)
def test_other_origins_are_refused(origin: str | None, referer: str | None) -> None:
    assert not is_same_origin(
        origin=origin, referer=referer, host="todo.example.com", public_origin=PUBLIC
    )
