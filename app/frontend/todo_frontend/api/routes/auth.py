"""Sign-up, sign-in and sign-out: HTML form posts that set or clear the session cookie."""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from todo_frontend import crud
from todo_frontend.api.deps import (
    ClientAddress,
    ServicesDep,
    SessionDigest,
    require_same_origin,
)
from todo_frontend.api.routes.pages import render_auth_form
from todo_frontend.core import security
from todo_frontend.models import EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, User

logger = logging.getLogger(__name__)

router = APIRouter(tags=["auth"], dependencies=[Depends(require_same_origin)])

SESSION_LIFETIME = timedelta(days=7)
# Deliberately the same for an unknown email and a wrong password.
BAD_CREDENTIALS = "Email or password is incorrect."
SIGNED_UP = "/signin?signed-up"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# Bounds what a form field may hold before any parsing; the real limits come after.
FormText = Annotated[str, Form(max_length=1024)]


@dataclass(frozen=True)
class AuthForm:
    """A sign-up or sign-in form post: who sent it and the credentials it holds."""

    client: str
    email: str
    """Trimmed and lower-cased, as accounts are stored."""
    password: str


def _auth_form(client: ClientAddress, email: FormText, password: FormText) -> AuthForm:
    return AuthForm(client=client, email=email.strip().lower(), password=password)


AuthFormDep = Annotated[AuthForm, Depends(_auth_form)]

# Per form: the log line and the start of what the user reads when its limiter refuses.
_RATE_LIMITED = {
    "/signup": ("sign-up rate limited", "Too many sign-ups from your network"),
    "/signin": ("sign-in rate limited", "Too many failed sign-ins"),
}


async def _start_session(services: ServicesDep, user: User) -> Response:
    """Create a session for `user` and answer with the cookie and a redirect to the tasks."""
    token = security.new_session_token(services.secret)
    expires_at = datetime.now(UTC) + SESSION_LIFETIME
    async with services.pool.connection() as conn:
        await crud.create_session(
            conn, user_id=user.id, token_digest=token.digest, expires_at=expires_at
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        services.cookie_name,
        token.cookie_value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response


def _rate_limited(
    request: Request, services: ServicesDep, form: AuthForm, *, action: str, wait: int
) -> Response:
    """Show the form again with 429: why, and how long to wait, also as `Retry-After`."""
    log_line, reason = _RATE_LIMITED[action]
    logger.warning(log_line, extra={"client": form.client})
    return render_auth_form(
        request,
        services,
        action=action,
        email=form.email,
        error=f"{reason}; try again in {wait} seconds.",
        status_code=429,
        headers={"Retry-After": str(wait)},
    )


@router.post("/signup")
async def sign_up(request: Request, services: ServicesDep, form: AuthFormDep) -> Response:
    """Create an account, then send to sign-in; many from one client are slowed down (429)."""
    client, email, password = form.client, form.email, form.password
    wait = services.signup_limiter.retry_after(client)
    if wait:
        return _rate_limited(request, services, form, action="/signup", wait=wait)
    problem = None
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        problem = "Enter a valid email address."
    elif not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        problem = f"The password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters."
    elif security.is_common_password(password):
        problem = "This password is one of the most common ones; choose another."
    if problem:
        return render_auth_form(
            request, services, action="/signup", email=email, error=problem, status_code=422
        )
    # Counted before hashing, so a burst is refused while its first hashes are still running;
    # a taken email counts too, as it cost a hash.
    services.signup_limiter.record(client)
    # Hashed whether or not the email is taken, so both answers take as long.
    password_hash = await run_in_threadpool(security.hash_password, password)
    async with services.pool.connection() as conn:
        user = await crud.create_user(conn, email=email, password_hash=password_hash)
    if user is None:
        # The app sends no email, so the account's owner is not told; the address stays out
        # of the log like every other.
        logger.info("sign-up for a taken email; the account is unchanged")
    else:
        logger.info("user signed up", extra={"user_id": user.id})
    # The same answer either way, and no session: signing in right away would tell whether
    # the email was free. The sign-in page says what may have happened.
    return RedirectResponse(SIGNED_UP, status_code=303)


@router.post("/signin")
async def sign_in(request: Request, services: ServicesDep, form: AuthFormDep) -> Response:
    """Check the credentials and start a session; repeated failures are slowed down (429)."""
    client, email, password = form.client, form.email, form.password
    account_key = f"{client} {email}"
    wait = max(
        services.account_limiter.retry_after(account_key),
        services.client_limiter.retry_after(client),
    )
    if wait:
        return _rate_limited(request, services, form, action="/signin", wait=wait)
    async with services.pool.connection() as conn:
        found = await crud.get_user_with_hash(conn, email=email)
    # Runs even for an unknown email, so the answer takes as long either way.
    valid = await run_in_threadpool(security.verify_password, password, found[1] if found else None)
    if found is None or not valid:
        services.account_limiter.record(account_key)
        services.client_limiter.record(client)
        logger.info("sign-in failed", extra={"client": client})
        return render_auth_form(
            request, services, action="/signin", email=email, error=BAD_CREDENTIALS, status_code=401
        )
    user, password_hash = found
    services.account_limiter.reset(account_key)
    if security.password_needs_rehash(password_hash):
        new_hash = await run_in_threadpool(security.hash_password, password)
        async with services.pool.connection() as conn:
            await crud.update_password_hash(conn, user_id=user.id, password_hash=new_hash)
    logger.info("user signed in", extra={"user_id": user.id})
    return await _start_session(services, user)


@router.post("/signout")
async def sign_out(services: ServicesDep, digest: SessionDigest) -> Response:
    """End the session (if any) and go back to the sign-in page."""
    if digest is not None:
        async with services.pool.connection() as conn:
            await crud.delete_session(conn, token_digest=digest)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(
        services.cookie_name,
        path="/",
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response
