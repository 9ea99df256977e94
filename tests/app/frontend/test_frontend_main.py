"""The entry point `python -m todo_frontend`: fail-fast configuration and graceful shutdown."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.app_process import AppProcess
from support.stack import AppFactory, make_client, sign_up

pytestmark = pytest.mark.app


def start_with(env: dict[str, str], tmp_path: Path) -> AppProcess:
    process = AppProcess("todo_frontend", env=env, log_dir=tmp_path)
    process.start(wait_ready=False)
    return process


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DATABASE_URL", None, "DATABASE_URL is missing"),
        ("BETTER_AUTH_SECRET", None, "BETTER_AUTH_SECRET is missing"),
        ("BACKEND_URL", None, "BACKEND_URL is missing"),
        ("PUBLIC_URL", None, "PUBLIC_URL is missing"),
        ("BETTER_AUTH_SECRET", "too-short-secret-s3cr3t", "BETTER_AUTH_SECRET is malformed"),
        ("DATABASE_URL", "mysql://u:hunter2-password@db/app", "DATABASE_URL is malformed"),
        ("BACKEND_URL", "backend-svc:8000", "BACKEND_URL is malformed"),
        ("PUBLIC_URL", "ftp://todo.example.com", "PUBLIC_URL is malformed"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL is malformed"),
        ("SIGNUP_LIMIT_PER_CLIENT", "0", "SIGNUP_LIMIT_PER_CLIENT is malformed"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, ingress", "TRUSTED_PROXIES is malformed"),
        ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES is malformed"),
    ],
)
def test_fails_when_a_variable_is_missing_or_malformed(
    frontend_env: dict[str, str], tmp_path: Path, variable: str, value: str | None, problem: str
) -> None:
    env = {"PUBLIC_URL": "http://127.0.0.1:3000", **frontend_env}
    if value is None:
        del env[variable]
    else:
        env[variable] = value
    process = start_with(env, tmp_path)
    assert process.wait_exit() == 2
    lines = process.output().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("config error: ")
    assert problem in lines[0]
    if value is not None:
        assert value not in lines[0]
        assert "hunter2" not in lines[0]


def test_stops_when_the_metrics_port_is_taken(frontend_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PUBLIC_URL": "http://127.0.0.1:3000", **frontend_env, "METRICS_PORT": str(port)}
        process = start_with(env, tmp_path)
        assert process.wait_exit() != 0
    assert f"{port}): address already in use" in process.output()


def test_never_reads_an_ai_key(frontend_env: dict[str, str], tmp_path: Path) -> None:
    # A key in its environment by mistake must not reach its logs.
    key = "sk-" + "k" * 40
    env = {"PUBLIC_URL": "http://127.0.0.1:3000", "OPENAI_API_KEY": key, **frontend_env}
    process = start_with(env, tmp_path)
    process.wait_ready()
    assert process.stop() == 0
    assert key not in process.output()


def test_sigterm_drains_then_exits_zero(start_frontend: AppFactory) -> None:
    frontend = start_frontend(SHUTDOWN_DRAIN_SECONDS="3")
    with make_client(frontend) as http:
        sign_up(http)
        frontend.terminate()
        # While draining it still serves, but tells the load balancer to go away.
        response = httpx.get(f"{frontend.url}/readyz")
        assert response.status_code == 503
        assert "shutting down" in response.json()["detail"]
        assert http.get("/healthz").status_code == 200
        assert http.get("/").status_code == 200
    assert frontend.wait_exit() == 0


def test_in_flight_request_finishes_during_shutdown(
    start_frontend: AppFactory, unresponsive_backend: str
) -> None:
    frontend = start_frontend(BACKEND_URL=unresponsive_backend, BACKEND_TIMEOUT_SECONDS="2")
    with make_client(frontend) as http:
        sign_up(http)
        answers: list[httpx.Response] = []
        request = threading.Thread(target=lambda: answers.append(http.get("/app/api/tasks")))
        request.start()
        # Give the request time to reach the (hung) backend before the signal.
        time.sleep(0.5)
        frontend.terminate()
        request.join(timeout=30)
    assert [answer.status_code for answer in answers] == [504]
    assert frontend.wait_exit() == 0
