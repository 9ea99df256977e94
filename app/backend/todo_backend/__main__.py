"""Entry point: `python -m todo_backend` loads the settings and serves on PORT (8000)."""

from todo_common.config import load_settings
from todo_common.logs import configure_logging
from todo_common.runner import serve
from todo_common.web import metrics_app

from todo_backend.core.config import Settings
from todo_backend.main import create_app


def main() -> None:
    """Fail fast on bad configuration, then serve until SIGTERM."""
    settings = load_settings(Settings)
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


if __name__ == "__main__":
    main()
