"""The backend's FastAPI app factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from todo_common import web
from todo_common.readiness import Readiness
from todo_common.startup import answer_database_errors, database_lifespan

from todo_backend.ai_client import AIProviderError, ChatCompletionsClient
from todo_backend.api.main import api_router
from todo_backend.chat_limits import ChatLimits
from todo_backend.core.config import Settings
from todo_backend.core.tokens import verifier_for
from todo_backend.db import MIGRATION_NAMESPACE, MIGRATIONS

logger = logging.getLogger(__name__)

# Every answer may carry a user's tasks or chat: no cache keeps it, no browser sniffs it.
DATABASE_UNAVAILABLE = "the database is unavailable, try again shortly"
RESPONSE_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


def create_app(settings: Settings) -> FastAPI:
    """Return the app; its lifespan opens the pool and migrates the schema in the background."""
    readiness = Readiness()
    database_url = settings.DATABASE_URL.get_secret_value()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            database_lifespan(
                database_url,
                pool_name=f"backend-{settings.INSTANCE_NAME}",
                namespace=MIGRATION_NAMESPACE,
                migrations=MIGRATIONS,
                readiness=readiness,
            ) as pool,
            httpx.AsyncClient(follow_redirects=False) as http,
        ):
            app.state.pool = pool
            app.state.ai_client = ChatCompletionsClient(
                http=http,
                base_url=settings.ai_base_url,
                api_key=settings.ai_api_key,
                model=settings.AI_MODEL,
                timeout_seconds=settings.AI_TIMEOUT_SECONDS,
            )
            logger.info(
                "backend started",
                extra={"instance": settings.INSTANCE_NAME, "ai_provider": settings.AI_PROVIDER},
            )
            yield

    app = FastAPI(
        title="todo-chatbot backend",
        lifespan=lifespan,
        **web.docs_urls(enabled=settings.API_DOCS),
    )
    app.state.settings = settings
    app.state.chat_limits = ChatLimits(
        turns_per_minute=settings.CHAT_TURNS_PER_MINUTE, concurrent=settings.CHAT_CONCURRENT_TURNS
    )
    app.state.readiness = readiness
    app.state.token_verifier = verifier_for(settings)
    web.install(app, instance_name=settings.INSTANCE_NAME, headers=RESPONSE_HEADERS)
    app.add_exception_handler(AIProviderError, _on_ai_provider_error)
    answer_database_errors(app, detail=DATABASE_UNAVAILABLE, logger=logger)
    app.include_router(api_router)
    return app


async def _on_ai_provider_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AIProviderError)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
