"""The bearer tokens the backend accepts: HS256 (the Python frontend) or a JWKS (Better Auth).

HS256 mode checks the token with BETTER_AUTH_SECRET, the secret both components hold. JWKS
mode (`AUTH_JWKS_URL`) checks a token that Better Auth's JWT plugin signed with its private
key (EdDSA by default) against the public keys the frontend publishes, plus its `iss` and
`aud`: the backend then holds nothing that can issue a token. The key set is cached
(`JWKS_CACHE_SECONDS`) and fetched again when a token names a key id it does not hold, so
a key rotation on the frontend needs no backend restart; such forced fetches are at least
AUTH_JWKS_COOLDOWN_SECONDS apart, so tokens with made-up key ids cannot turn the backend
into a flood of requests to the frontend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from todo_backend.core.config import Settings

# Seconds of clock difference tolerated between the frontend that signs and this backend.
JWT_LEEWAY_SECONDS = 5
# How long a fetched key set is used before it is fetched again.
JWKS_CACHE_SECONDS = 300
# One key set request; past it the call answers 503.
JWKS_TIMEOUT_SECONDS = 5
# The algorithms of Better Auth's key pairs (EdDSA is its default): public-key only, so a
# symmetric key slipped into the key set could never verify a token.
JWKS_ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]
_REQUIRED_CLAIMS = ["sub", "exp"]


class TokenRejected(Exception):
    """The token is not accepted: 401 with `detail`."""

    def __init__(self, detail: str) -> None:
        """Keep the sentence the client gets."""
        super().__init__(detail)
        self.detail = detail


class KeysUnavailable(Exception):
    """The key set could not be fetched: 503, the token may well be valid."""


class TokenVerifier(Protocol):
    """Turns a bearer token into its claims, or raises TokenRejected or KeysUnavailable."""

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`."""


@dataclass(frozen=True)
class SecretVerifier:
    """HS256 with the shared secret (BETTER_AUTH_SECRET)."""

    secret: str

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of an HS256 token signed with the secret."""
        return _decode(token, self.secret, algorithms=["HS256"])


class JwksVerifier:
    """A public key from the issuer's key set, and the token's `iss` and `aud`."""

    def __init__(
        self, jwks_url: str, *, issuer: str, audience: str, cooldown_seconds: float
    ) -> None:
        """Prepare the key set client; nothing is fetched before the first token."""
        self._keys = jwt.PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=JWKS_CACHE_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=cooldown_seconds,
        )
        self._issuer = issuer
        self._audience = audience

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a token signed by a key of the set, for this issuer and audience."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise TokenRejected("invalid token") from None
        # An HS256 token (or alg "none") is refused before any key set fetch.
        if algorithm not in JWKS_ALGORITHMS:
            raise TokenRejected("invalid token")
        try:
            # PyJWKClient fetches the set again when the token's kid is not in the cached one.
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise KeysUnavailable from None
        except jwt.PyJWKClientError:
            raise TokenRejected("token is signed by an unknown key") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("invalid token") from None
        return _decode(
            token,
            key,
            algorithms=JWKS_ALGORITHMS,
            issuer=self._issuer,
            audience=self._audience,
            required=["iss", "aud"],
        )


def verifier_for(settings: Settings) -> TokenVerifier:
    """JWKS mode when AUTH_JWKS_URL is set, else HS256 with BETTER_AUTH_SECRET."""
    if settings.AUTH_JWKS_URL is None:
        return SecretVerifier(settings.BETTER_AUTH_SECRET.get_secret_value())
    assert settings.AUTH_JWT_ISSUER and settings.AUTH_JWT_AUDIENCE, "checked by Settings"
    return JwksVerifier(
        str(settings.AUTH_JWKS_URL),
        issuer=settings.AUTH_JWT_ISSUER,
        audience=settings.AUTH_JWT_AUDIENCE,
        cooldown_seconds=settings.AUTH_JWKS_COOLDOWN_SECONDS,
    )


def _decode(
    token: str,
    key: Any,
    *,
    algorithms: list[str],
    issuer: str | None = None,
    audience: str | None = None,
    required: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=issuer,
            audience=audience,
            options={"require": [*_REQUIRED_CLAIMS, *required]},
            leeway=JWT_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("token has expired, sign in again") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected(f"token lacks the '{exc.claim}' claim") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("token is meant for another audience") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("token comes from another issuer") from None
    except jwt.InvalidTokenError:
        raise TokenRejected("invalid token") from None
    return claims
