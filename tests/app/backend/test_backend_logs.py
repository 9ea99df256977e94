"""The backend's log: JSON lines that never contain a secret, even at debug level."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support.logs import assert_json_log_without_secrets, secret_values_of_database_url
from support.postgres import PostgresServer
from support.secret import bearer
from support.standin import StandIn

pytestmark = pytest.mark.app


def test_debug_log_of_good_and_failing_calls_holds_no_secret(
    start_backend: Any,
    fresh_standin: StandIn,
    postgres: PostgresServer,
    database_url: str,
    auth_secret: str,
    ai_key: str,
    make_token: Any,
    issued_tokens: list[str],
) -> None:
    backend = start_backend(LOG_LEVEL="debug")
    good = bearer(make_token("log-user"))
    forged = bearer(make_token("log-user", secret=auth_secret[::-1]))
    with httpx.Client(base_url=backend.url, timeout=15) as client:
        assert client.post("/api/tasks", json={"title": "logged"}, headers=good).status_code == 201
        assert client.get("/api/tasks", headers=forged).status_code == 401
        malformed = client.post(
            "/api/tasks", content=b"{", headers={**good, "Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert client.post("/api/chat", json={"message": "list"}, headers=good).status_code == 200
        failing = client.post("/api/chat", json={"message": "list [[error500]]"}, headers=good)
        assert failing.status_code == 502
        postgres.stop()
        try:
            assert client.get("/api/tasks", headers=good).status_code == 503
        finally:
            postgres.start()

    entries = assert_json_log_without_secrets(
        backend.output(),
        [*secret_values_of_database_url(database_url), auth_secret, ai_key, *issued_tokens],
    )
    requests = {(e.get("route"), e.get("status")) for e in entries if e["message"] == "request"}
    assert {
        ("/api/tasks", 201),
        ("/api/tasks", 401),
        ("/api/tasks", 400),
        ("/api/chat", 200),
        ("/api/chat", 502),
        ("/api/tasks", 503),
    } <= requests
    assert any(e["level"] == "debug" for e in entries)
    assert any(e["message"] == "AI provider answered with an error" for e in entries)
