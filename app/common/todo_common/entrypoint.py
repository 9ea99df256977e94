"""What `python -m todo_backend` and `python -m todo_frontend` do: check, then serve."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from todo_common.config import AppSettingsT, load_settings
from todo_common.logs import configure_logging
from todo_common.runner import serve
from todo_common.web import metrics_app


def run(settings_class: type[AppSettingsT], create_app: Callable[[AppSettingsT], FastAPI]) -> None:
    """Fail fast on bad configuration (exit 2), then serve the app until SIGTERM.

    `create_app` must leave the app's metrics and readiness in `app.state` (as
    `todo_common.web.install` and the apps' factories do).
    """
    settings = load_settings(settings_class)
    configure_logging(settings.LOG_LEVEL)
    app = create_app(settings)
    serve(
        app,
        port=settings.PORT,
        metrics_app=metrics_app(app.state.metrics),
        metrics_port=settings.METRICS_PORT,
        readiness=app.state.readiness,
        drain_seconds=settings.SHUTDOWN_DRAIN_SECONDS,
    )
