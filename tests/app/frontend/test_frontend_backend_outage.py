"""The page keeps working when the backend is down or slow, and heals by itself."""

from __future__ import annotations

import httpx
import pytest
from support.stack import AppFactory, make_client, sign_up

pytestmark = pytest.mark.app

UNAVAILABLE = "The task service is unavailable right now; your changes were not lost"


def test_backend_down_gives_a_friendly_error_then_recovers(
    start_backend: AppFactory, start_frontend: AppFactory
) -> None:
    backend = start_backend()
    frontend = start_frontend(BACKEND_URL=backend.url)
    with make_client(frontend) as http:
        sign_up(http)
        assert http.post("/app/api/tasks", json={"title": "before"}).status_code == 201

        assert backend.stop() == 0
        for method, path, body in [
            ("GET", "/app/api/tasks", None),
            ("POST", "/app/api/tasks", {"title": "during"}),
            ("POST", "/app/api/chat", {"message": "add a task to buy milk"}),
        ]:
            response = http.request(method, path, json=body)
            assert response.status_code == 503
            assert response.json()["detail"].startswith(UNAVAILABLE)
        # The frontend stays in rotation: it can still sign people in and show errors.
        assert httpx.get(f"{frontend.url}/readyz").status_code == 200
        assert http.get("/").status_code == 200

        backend.start()
        # Same session, no reload, no frontend restart: the next call just works.
        response = http.get("/app/api/tasks")
        assert response.status_code == 200
        assert [task["title"] for task in response.json()["data"]] == ["before"]


def test_slow_backend_times_out_with_a_message(
    start_frontend: AppFactory, unresponsive_backend: str
) -> None:
    frontend = start_frontend(
        BACKEND_URL=unresponsive_backend, BACKEND_TIMEOUT_SECONDS="1", CHAT_TIMEOUT_SECONDS="1"
    )
    with make_client(frontend) as http:
        sign_up(http)
        for method, path, body in [
            ("GET", "/app/api/tasks", None),
            ("POST", "/app/api/chat", {"message": "hello"}),
        ]:
            # The hung backend never answers: only the timeout can produce this 504.
            response = http.request(method, path, json=body)
            assert response.status_code == 504
            assert "taking too long" in response.json()["detail"]
