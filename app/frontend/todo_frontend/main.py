"""The frontend's FastAPI app: pages, sign-in and the page's JSON API."""

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from todo_common import health, web
from todo_common.ratelimit import RateLimiter
from todo_common.readiness import Readiness
from todo_common.startup import answer_database_errors, database_lifespan

from todo_frontend import migrations, static
from todo_frontend.api.deps import Services
from todo_frontend.api.routes import auth, pages, tasks
from todo_frontend.backend_client import BackendClient
from todo_frontend.core.config import Settings
from todo_frontend.core.headers import security_headers

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Form posts and chat messages are small; anything bigger is refused with 413.
MAX_BODY_BYTES = 16 * 1024
DATABASE_UNAVAILABLE = "Sign-in is unavailable right now; try again in a moment."
# Failed sign-ins allowed per client address and email (guessing one password) and per client
# address (trying many accounts) within the window; a real user mistypes a few times at most.
SIGN_IN_FAILURES_PER_ACCOUNT = 5
SIGN_IN_FAILURES_PER_CLIENT = 50
SIGN_IN_WINDOW_SECONDS = 300
# The window of Settings.SIGNUP_LIMIT_PER_CLIENT: long enough that a flood stays slow, short
# enough that a user refused behind a busy shared address only waits minutes.
SIGN_UP_WINDOW_SECONDS = 600


def create_app(settings: Settings) -> FastAPI:
    """Build the app; its lifespan opens the pools and migrates in the background."""
    readiness = Readiness()
    database_url = settings.DATABASE_URL.get_secret_value()
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.globals["static_url"] = static.static_url

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with database_lifespan(
            database_url,
            pool_name=f"frontend-{settings.INSTANCE_NAME}",
            namespace=migrations.NAMESPACE,
            migrations=migrations.MIGRATIONS,
            readiness=readiness,
        ) as pool:
            backend = BackendClient(
                base_url=settings.BACKEND_URL,
                secret=settings.BETTER_AUTH_SECRET.get_secret_value(),
                timeout_seconds=settings.BACKEND_TIMEOUT_SECONDS,
            )
            # todo_common.health reads `app.state.pool` and `app.state.readiness`.
            app.state.pool = pool
            app.state.services = Services(
                settings=settings,
                pool=pool,
                backend=backend,
                templates=templates,
                account_limiter=RateLimiter(
                    max_events=SIGN_IN_FAILURES_PER_ACCOUNT, window_seconds=SIGN_IN_WINDOW_SECONDS
                ),
                client_limiter=RateLimiter(
                    max_events=SIGN_IN_FAILURES_PER_CLIENT, window_seconds=SIGN_IN_WINDOW_SECONDS
                ),
                signup_limiter=RateLimiter(
                    max_events=settings.SIGNUP_LIMIT_PER_CLIENT,
                    window_seconds=SIGN_UP_WINDOW_SECONDS,
                ),
            )
            logger.info("frontend started", extra={"backend_url": settings.BACKEND_URL})
            try:
                yield
            finally:
                await backend.aclose()

    app = FastAPI(title="todo-chatbot frontend", lifespan=lifespan, **web.docs_urls(enabled=False))
    app.state.readiness = readiness
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(auth.router)
    app.include_router(tasks.router)
    app.include_router(static.router)

    answer_database_errors(app, detail=DATABASE_UNAVAILABLE, logger=logger)
    web.install(
        app,
        instance_name=settings.INSTANCE_NAME,
        max_body_bytes=MAX_BODY_BYTES,
        headers=security_headers(https=settings.secure_cookies),
    )
    return app
