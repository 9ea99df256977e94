"""Dependencies of the routes: settings, database connection, signed-in user, AI client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from todo_common.readiness import Readiness

from todo_backend.ai_client import ChatCompletionsClient
from todo_backend.core.config import Settings
from todo_backend.core.tokens import KeysUnavailable, TokenRejected, TokenVerifier

_bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> AsyncConnectionPool:
    """The connection pool; 503 until the schema is ready."""
    readiness: Readiness = request.app.state.readiness
    if readiness.not_ready_reason == "starting":
        raise HTTPException(status_code=503, detail="the service is starting, try again shortly")
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


async def get_conn(
    pool: Annotated[AsyncConnectionPool, Depends(get_pool)],
) -> AsyncIterator[AsyncConnection]:
    """A pooled connection (autocommit) for the whole request."""
    async with pool.connection() as conn:
        yield conn


def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The user id (`sub`) of a valid bearer token (todo_backend.core.tokens)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        claims = verifier.claims(credentials.credentials)
    except TokenRejected as exc:
        raise _unauthorized(exc.detail) from None
    except KeysUnavailable:
        raise HTTPException(
            status_code=503, detail="the signing keys are unavailable, try again shortly"
        ) from None
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not user_id.strip():
        raise _unauthorized("token has an empty or non-string 'sub' claim")
    return user_id


def get_ai_client(request: Request) -> ChatCompletionsClient:
    """The chat-completions client of the configured provider."""
    client: ChatCompletionsClient = request.app.state.ai_client
    return client


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
CurrentUser = Annotated[str, Depends(get_current_user)]
AIClientDep = Annotated[ChatCompletionsClient, Depends(get_ai_client)]
