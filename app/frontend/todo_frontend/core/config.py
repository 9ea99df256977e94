"""The frontend's environment variables (docs/contract.md), checked at start-up."""

from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, Field
from todo_common.config import (
    AuthSecret,
    CommonSettings,
    DatabaseUrl,
)

from todo_frontend.core.origin import origin_of
from todo_frontend.core.proxies import Network, parse_networks


def _http_url(value: str) -> str:
    if origin_of(value) is None:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value.strip().rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _cidrs(value: str) -> str:
    parse_networks(value)
    return value


Cidrs = Annotated[str, AfterValidator(_cidrs)]


class Settings(CommonSettings):
    """Variables of the frontend image; the secrets have no defaults."""

    DATABASE_URL: DatabaseUrl
    # Signs the backend JWTs and the session cookies.
    BETTER_AUTH_SECRET: AuthSecret
    BACKEND_URL: HttpUrl
    # The address users open; `https://` turns on the Secure cookie flag.
    PUBLIC_URL: HttpUrl
    PORT: int = Field(default=3000, ge=1, le=65535)
    # One task call; the page shows a "try again" message after it.
    BACKEND_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0, le=120)
    # One chat turn, which waits for the AI provider (the backend's AI_TIMEOUT_SECONDS).
    CHAT_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0, le=600)
    # Sign-ups per client address per 10 minutes, per replica; more get 429. Each one costs an
    # argon2 hash on the two slots sign-ins wait for, and leaves an account behind: 5 lets a
    # household or office behind one address sign up together, while a flood gets one account
    # (and one hash) every two minutes. Load tests from one address raise it.
    SIGNUP_LIMIT_PER_CLIENT: int = Field(default=5, ge=1)
    # Comma-separated CIDRs of the proxies (the ingress) whose `X-Forwarded-For` is believed;
    # empty: none, the limits are keyed on the connection's peer address.
    TRUSTED_PROXIES: Cidrs = ""
    # A session unused for this long ends (each request restarts the count), besides its
    # 7-day limit: a cookie left on a shared computer stops working soon after its user leaves.
    SESSION_IDLE_MINUTES: int = Field(default=120, ge=1, le=7 * 24 * 60)

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies get the `Secure` flag (users reach the app over https)."""
        return self.public_origin.startswith("https://")

    @cached_property
    def trusted_proxies(self) -> tuple[Network, ...]:
        """TRUSTED_PROXIES, parsed."""
        return parse_networks(self.TRUSTED_PROXIES)

    @property
    def public_origin(self) -> str:
        """The origin (`scheme://host[:port]`) browsers send in `Origin` for this app."""
        origin = origin_of(self.PUBLIC_URL)
        assert origin is not None, "validated as an http(s) URL with a host"
        return origin
