"""Dependencies of the routes: shared services, the signed-in user, the origin check."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from psycopg_pool import AsyncConnectionPool
from todo_common.ratelimit import RateLimiter

from todo_frontend import crud
from todo_frontend.backend_client import BackendClient
from todo_frontend.core.config import Settings
from todo_frontend.core.origin import is_same_origin
from todo_frontend.core.proxies import client_key
from todo_frontend.core.security import session_digest_from_cookie
from todo_frontend.models import User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, kw_only=True)
class Services:
    """What the routes share for the life of the process (`app.state.services`)."""

    settings: Settings
    pool: AsyncConnectionPool
    backend: BackendClient
    templates: Jinja2Templates
    # Failed sign-ins per client address and email (guessing one password)...
    account_limiter: RateLimiter
    # ...and per client address (trying many accounts).
    client_limiter: RateLimiter
    # Sign-ups per client address (each costs a password hash and leaves an account).
    signup_limiter: RateLimiter

    @property
    def cookie_name(self) -> str:
        """The session cookie; `__Host-` makes browsers insist on Secure, Path=/, no Domain."""
        return "__Host-session" if self.settings.secure_cookies else "session"

    @property
    def secret(self) -> str:
        """BETTER_AUTH_SECRET, the key of session cookies and backend JWTs."""
        return self.settings.BETTER_AUTH_SECRET.get_secret_value()


def get_services(request: Request) -> Services:
    """Return the services set up by the app's lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def session_digest(request: Request, services: ServicesDep) -> bytes | None:
    """Return the database digest of the request's session cookie, if it is genuine."""
    cookie = request.cookies.get(services.cookie_name)
    return session_digest_from_cookie(services.secret, cookie) if cookie else None


SessionDigest = Annotated[bytes | None, Depends(session_digest)]


async def get_optional_user(services: ServicesDep, digest: SessionDigest) -> User | None:
    """Return the signed-in user, or `None` without a valid, unexpired session."""
    if digest is None:
        return None
    # A connection of its own, returned before the route calls the backend (which can
    # take seconds), so slow backend calls never hold database connections.
    async with services.pool.connection() as conn:
        return await crud.get_session_user(
            conn,
            token_digest=digest,
            idle_timeout=timedelta(minutes=services.settings.SESSION_IDLE_MINUTES),
        )


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_current_user(user: OptionalUser) -> User:
    """Return the signed-in user; 401 without one."""
    if user is None:
        raise HTTPException(401, "sign in first")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_same_origin(request: Request, services: ServicesDep) -> None:
    """Refuse (403) a state-changing request that does not come from this app's pages."""
    if request.method in SAFE_METHODS:
        return
    if not is_same_origin(
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        host=request.headers.get("host"),
        public_origin=services.settings.public_origin,
    ):
        raise HTTPException(403, "cross-site request refused")


def client_address(request: Request, services: ServicesDep) -> str:
    """Return the client's address, the key of the sign-in and sign-up limits.

    Behind an ingress every connection comes from the ingress, so the address it appended to
    `X-Forwarded-For` tells users apart; that header is believed only from TRUSTED_PROXIES,
    so a client reaching the pod directly cannot pick its own key and escape the limits.
    """
    peer = request.client.host if request.client else "unknown"
    return client_key(
        peer, request.headers.get("x-forwarded-for", ""), services.settings.trusted_proxies
    )


ClientAddress = Annotated[str, Depends(client_address)]
