"""Passwords, session tokens and the backend JWT.

Passwords are hashed with argon2id. A session is a random token: the database keeps only
its SHA-256 (a leaked table cannot be replayed) and the cookie carries the token plus an
HMAC with BETTER_AUTH_SECRET, so a forged cookie is rejected before any database lookup.
The backend trusts a short-lived HS256 JWT whose `sub` is the user id.
"""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

BACKEND_TOKEN_SECONDS = 300

_hasher = PasswordHasher()
# Each argon2id hash takes 64 MiB for its duration. Sign-ins run in a thread pool of 40, so
# a burst of them would take the pod past its memory limit (OOM-killed with three at once
# at 192 Mi); beyond this many at a time they queue instead.
HASHING_CONCURRENCY = 2
_hashing = threading.BoundedSemaphore(HASHING_CONCURRENCY)
# Verifying against this hash when the email is unknown makes a failed sign-in take the
# same time whether or not the account exists.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


# zxcvbn's list of the 30,000 passwords most seen in leaks, lower-cased: the first ones an
# attacker tries against every account.
_COMMON_PASSWORDS: frozenset[str] = frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """Tell whether `password` is on the list of common passwords, ignoring case."""
    return password.lower() in _COMMON_PASSWORDS


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    with _hashing:
        return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Tell whether `password` matches `password_hash`; `None` (no such user) never matches."""
    try:
        with _hashing:
            _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def password_needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash uses older parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class SessionToken:
    """A new session: the cookie value for the browser, the digest for the database."""

    cookie_value: str
    digest: bytes


def _signature(secret: str, token: str) -> str:
    mac = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_digest(token: str) -> bytes:
    """Return the SHA-256 of a session token, the form the database stores."""
    return hashlib.sha256(token.encode()).digest()


def new_session_token(secret: str) -> SessionToken:
    """Make a random session token, signed for the cookie and hashed for the database."""
    token = secrets.token_urlsafe(32)
    return SessionToken(
        cookie_value=f"{token}.{_signature(secret, token)}", digest=token_digest(token)
    )


def session_digest_from_cookie(secret: str, cookie_value: str) -> bytes | None:
    """Return the database digest of a signed cookie, or `None` when the signature is bad."""
    token, _, signature = cookie_value.partition(".")
    expected = _signature(secret, token).encode()
    # Bytes, not str: compare_digest rejects non-ASCII str, and cookies are client input.
    if not token or not hmac.compare_digest(signature.encode(), expected):
        return None
    return token_digest(token)


def backend_token(secret: str, user_id: str) -> str:
    """Issue the short-lived JWT that authenticates one backend call as `user_id`."""
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + BACKEND_TOKEN_SECONDS}
    return jwt.encode(claims, secret, algorithm="HS256")
