"""The backend's FastAPI app factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from todo_common import web
from todo_common.database import create_pool
from todo_common.readiness import Readiness
from todo_common.startup import prepare_database

from todo_backend.ai_client import AIProviderError, ChatCompletionsClient
from todo_backend.api.main import api_router
from todo_backend.chat_limits import ChatLimits
from todo_backend.core.config import Settings
from todo_backend.db import MIGRATION_NAMESPACE, MIGRATIONS

logger = logging.getLogger(__name__)

# Every answer may carry a user's tasks or chat: no cache keeps it, no browser sniffs it.
RESPONSE_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


def create_app(settings: Settings) -> FastAPI:
    """Return the app; its lifespan opens the pool and migrates the schema in the background."""
    readiness = Readiness()
    database_url = settings.DATABASE_URL.get_secret_value()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = create_pool(database_url, name=f"backend-{settings.INSTANCE_NAME}")
        await pool.open(wait=False)
        async with httpx.AsyncClient(follow_redirects=False) as http:
            app.state.pool = pool
            app.state.ai_client = ChatCompletionsClient(
                http=http,
                base_url=settings.ai_base_url,
                api_key=settings.ai_api_key,
                model=settings.AI_MODEL,
                timeout_seconds=settings.AI_TIMEOUT_SECONDS,
            )
            preparing = asyncio.create_task(
                prepare_database(
                    database_url,
                    namespace=MIGRATION_NAMESPACE,
                    migrations=MIGRATIONS,
                    readiness=readiness,
                )
            )
            logger.info(
                "backend started",
                extra={"instance": settings.INSTANCE_NAME, "ai_provider": settings.AI_PROVIDER},
            )
            try:
                yield
            finally:
                readiness.mark_shutting_down()
                preparing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await preparing
                await pool.close()

    docs = settings.API_DOCS
    app = FastAPI(
        title="todo-chatbot backend",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.chat_limits = ChatLimits(
        turns_per_minute=settings.CHAT_TURNS_PER_MINUTE, concurrent=settings.CHAT_CONCURRENT_TURNS
    )
    app.state.readiness = readiness
    web.install(app, instance_name=settings.INSTANCE_NAME, headers=RESPONSE_HEADERS)
    app.add_exception_handler(AIProviderError, _on_ai_provider_error)
    app.add_exception_handler(psycopg.OperationalError, _on_database_unavailable)
    app.add_exception_handler(PoolTimeout, _on_database_unavailable)
    app.include_router(api_router)
    return app


async def _on_ai_provider_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AIProviderError)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)


async def _on_database_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable", extra={"error": type(exc).__name__})
    return JSONResponse(
        {"detail": "the database is unavailable, try again shortly"}, status_code=503
    )
