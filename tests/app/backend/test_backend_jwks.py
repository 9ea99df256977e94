"""JWKS mode: the backend checks Better Auth's EdDSA tokens against the frontend's key set.

A real key set server on loopback publishes the public half of real Ed25519 key pairs, as
Better Auth's `/api/auth/jwks` does; the backend process fetches it through AUTH_JWKS_URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.app_process import AppProcess
from support.secret import Secret, bearer

pytestmark = pytest.mark.app

BackendFactory = Callable[..., AppProcess]
ISSUER = "https://todo.example.com"
AUDIENCE = "https://todo.example.com"


class KeySet:
    """Ed25519 key pairs by key id; the server publishes the public keys of `published`."""

    def __init__(self) -> None:
        self.private: dict[str, Ed25519PrivateKey] = {}
        self.published: list[str] = []
        self.fetches = 0

    def add(self, kid: str, *, publish: bool = True) -> None:
        self.private[kid] = Ed25519PrivateKey.generate()
        if publish:
            self.published.append(kid)

    def document(self) -> bytes:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": "EdDSA"})
        return json.dumps({"keys": keys}).encode()


@pytest.fixture(scope="module")
def key_set() -> KeySet:
    keys = KeySet()
    keys.add("current")
    return keys


@pytest.fixture(scope="module")
def jwks_url(key_set: KeySet) -> Iterator[str]:
    """A key set server like Better Auth's /api/auth/jwks, on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            key_set.fetches += 1
            body = key_set.document()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/auth/jwks"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def backend(start_backend: BackendFactory, jwks_url: str) -> AppProcess:
    return start_backend(AUTH_JWKS_URL=jwks_url, AUTH_JWT_ISSUER=ISSUER, AUTH_JWT_AUDIENCE=AUDIENCE)


@pytest.fixture(scope="module")
def sign(key_set: KeySet, issued_tokens: list[str]) -> Any:
    """Return `sign(kid="current", signer=kid, expires_in=600, **claims)`: a Better Auth token.

    `signer` names the key that really signs, whatever key id the header claims.
    """

    def make(
        kid: str = "current", *, signer: str | None = None, expires_in: int = 600, **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "sub": "user-jwks",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + expires_in,
            **claims,
        }
        token = Secret(
            jwt.encode(
                payload, key_set.private[signer or kid], algorithm="EdDSA", headers={"kid": kid}
            )
        )
        issued_tokens.append(token)
        return token

    return make


@pytest.fixture
def client(backend: AppProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=backend.url, timeout=10) as http:
        yield http


def test_a_token_of_the_key_set_is_accepted(client: httpx.Client, sign: Any) -> None:
    created = client.post("/api/tasks", json={"title": "via jwks"}, headers=bearer(sign()))
    assert created.status_code == 201, created.text
    listed = client.get("/api/tasks", headers=bearer(sign()))
    assert [task["title"] for task in listed.json()["data"]] == ["via jwks"]


@pytest.mark.parametrize(
    ("make_headers", "detail"),
    [
        (
            lambda sign, make_token, keys: bearer(sign("unpublished")),
            "token is signed by an unknown key",
        ),
        (lambda sign, make_token, keys: bearer(sign(signer="unpublished")), "invalid token"),
        (
            lambda sign, make_token, keys: bearer(sign(expires_in=-120)),
            "token has expired, sign in again",
        ),
        (
            lambda sign, make_token, keys: bearer(sign(aud="https://other.example")),
            "token is meant for another audience",
        ),
        (
            lambda sign, make_token, keys: bearer(sign(iss="https://other.example")),
            "token comes from another issuer",
        ),
        (lambda sign, make_token, keys: bearer(make_token()), "invalid token"),
    ],
    ids=["other-key", "same-kid-other-key", "expired", "other-audience", "other-issuer", "hs256"],
)
def test_other_tokens_are_401(
    client: httpx.Client,
    sign: Any,
    make_token: Any,
    key_set: KeySet,
    make_headers: Any,
    detail: str,
) -> None:
    if "unpublished" not in key_set.private:
        key_set.add("unpublished", publish=False)
    response = client.get("/api/tasks", headers=make_headers(sign, make_token, key_set))
    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_new_key_is_fetched_when_a_token_names_it(
    start_backend: BackendFactory, jwks_url: str, sign: Any, key_set: KeySet
) -> None:
    rotating = start_backend(
        AUTH_JWKS_URL=jwks_url,
        AUTH_JWT_ISSUER=ISSUER,
        AUTH_JWT_AUDIENCE=AUDIENCE,
        AUTH_JWKS_COOLDOWN_SECONDS="0",
    )
    with httpx.Client(base_url=rotating.url, timeout=10) as http:
        assert http.get("/api/tasks", headers=bearer(sign())).status_code == 200
        fetches = key_set.fetches
        # Cached: a known key id does not fetch the set again.
        assert http.get("/api/tasks", headers=bearer(sign())).status_code == 200
        assert key_set.fetches == fetches
        key_set.add("rotated")
        response = http.get("/api/tasks", headers=bearer(sign("rotated")))
    assert response.status_code == 200, response.text
    assert key_set.fetches == fetches + 1


def test_unknown_key_ids_do_not_flood_the_key_set(
    client: httpx.Client, sign: Any, key_set: KeySet
) -> None:
    assert client.get("/api/tasks", headers=bearer(sign())).status_code == 200
    fetches = key_set.fetches
    for attempt in range(5):
        key_set.add(f"made-up-{attempt}", publish=False)
        response = client.get("/api/tasks", headers=bearer(sign(f"made-up-{attempt}")))
        assert response.status_code == 401
    # Within the default cooldown (30 s) at most one forced fetch.
    assert key_set.fetches <= fetches + 1


def test_an_unreachable_key_set_is_503(start_backend: BackendFactory, sign: Any) -> None:
    closed = start_backend(
        AUTH_JWKS_URL="http://127.0.0.1:9/api/auth/jwks",
        AUTH_JWT_ISSUER=ISSUER,
        AUTH_JWT_AUDIENCE=AUDIENCE,
    )
    with httpx.Client(base_url=closed.url, timeout=10) as http:
        response = http.get("/api/tasks", headers=bearer(sign()))
    assert response.status_code == 503
    assert response.json() == {"detail": "the signing keys are unavailable, try again shortly"}
