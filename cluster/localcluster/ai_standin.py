"""The AI provider's stand-in (app/ai_standin) on the host, where pods reach it like a SaaS API."""

from __future__ import annotations

import os

from . import app_secrets, settings, supervisor
from .settings import Paths
from .shell import output

KEY_ENV = "AI_STANDIN_KEY"
DEBUG_TOKEN_ENV = "AI_STANDIN_DEBUG_TOKEN"
URL = f"http://{settings.NODE_IP}:{settings.PORTS.ai_standin}"


def start(paths: Paths) -> None:
    """Serve the stand-in on the node IP with the generated key; wait for its health route."""
    python = output(["python3", "-m", "pipenv", "--py"]).strip()
    env = {
        **os.environ,
        "PYTHONPATH": str(paths.repo / "app"),
        KEY_ENV: app_secrets.read(paths, app_secrets.AI_API_KEY),
        DEBUG_TOKEN_ENV: app_secrets.read(paths, app_secrets.AI_STANDIN_DEBUG_TOKEN),
    }
    argv = [
        python,
        "-m",
        "ai_standin",
        "--host",
        str(settings.NODE_IP),
        "--port",
        str(settings.PORTS.ai_standin),
        "--expected-key-env",
        KEY_ENV,
        "--debug-token-env",
        DEBUG_TOKEN_ENV,
        # The e2e suite injects provider faults through the app, as a user would.
        "--test-mode",
    ]
    supervisor.start(paths, supervisor.Process("ai-standin", argv, env=env, cwd=paths.repo))
    supervisor.wait_healthy(
        paths,
        "ai-standin",
        lambda: supervisor.http_ok(f"{URL}/_standin/health"),
        timeout_seconds=30,
    )


def debug_headers(paths: Paths) -> dict[str, str]:
    """The headers that open the stand-in's debug routes (`/_standin/requests`, `/mode`)."""
    token = app_secrets.read(paths, app_secrets.AI_STANDIN_DEBUG_TOKEN)
    return {"Authorization": f"Bearer {token}"}
