"""Passwords, session cookies and the backend JWT (todo_frontend.core.security)."""

import secrets
import threading
import time
from collections.abc import Callable

import jwt
import pytest
from todo_frontend.core import security

pytestmark = pytest.mark.app


@pytest.fixture
def secret() -> str:
    return secrets.token_urlsafe(32)


def test_password_hash_is_argon2id_and_verifies() -> None:
    password = secrets.token_urlsafe(12)
    password_hash = security.hash_password(password)
    assert password_hash.startswith("$argon2id$")
    assert password not in password_hash
    assert security.verify_password(password, password_hash)
    assert not security.verify_password(password + "x", password_hash)


def test_unknown_user_never_verifies() -> None:
    assert not security.verify_password("anything", None)


def test_session_cookie_round_trips_to_the_stored_digest(secret: str) -> None:
    token = security.new_session_token(secret)
    assert security.session_digest_from_cookie(secret, token.cookie_value) == token.digest
    # The database holds only the digest, never the token itself.
    assert token.cookie_value.split(".")[0].encode() not in token.digest


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
        lambda value: "x" + value,
        lambda value: value.split(".")[0],
        lambda value: value + "é",
        lambda value: "",
    ],
)
def test_tampered_session_cookie_is_rejected(secret: str, tamper: Callable[[str], str]) -> None:
    cookie = security.new_session_token(secret).cookie_value
    assert security.session_digest_from_cookie(secret, tamper(cookie)) is None


def test_session_cookie_signed_with_another_secret_is_rejected(secret: str) -> None:
    cookie = security.new_session_token(secrets.token_urlsafe(32)).cookie_value
    assert security.session_digest_from_cookie(secret, cookie) is None


def test_backend_token_is_short_lived_hs256_for_the_user(secret: str) -> None:
    token = security.backend_token(secret, "user-1")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    assert claims["sub"] == "user-1"
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_password_hashing_is_bounded_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of sign-ins queues for the hasher instead of taking 64 MiB each at once."""
    running = 0
    most = 0
    lock = threading.Lock()

    class SlowHasher:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return "hashed"

    monkeypatch.setattr(security, "_hasher", SlowHasher())
    threads = [threading.Thread(target=security.hash_password, args=("pw",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == security.HASHING_CONCURRENCY
