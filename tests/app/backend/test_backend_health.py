"""Probes, metrics and behaviour during a database outage, on a real backend process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.app_process import AppProcess, assert_probes_pass
from support.postgres import PostgresServer
from support.secret import bearer
from support.standin import StandIn

pytestmark = pytest.mark.app


def wait_for(condition: Callable[[], bool], *, timeout_seconds: float = 15) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def status_of(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def test_healthz_and_readyz_answer_200(client: httpx.Client) -> None:
    assert_probes_pass(client)


def test_metrics_use_route_templates_and_count_failures(
    client: httpx.Client, backend: AppProcess, fresh_standin: StandIn, make_token: Any
) -> None:
    headers = bearer(make_token("metrics-user"))
    task = client.post("/api/tasks", json={"title": "measured"}, headers=headers).json()
    client.get(f"/api/tasks/{task['id']}", headers=headers)
    client.get("/api/tasks/999999", headers=headers)
    client.post("/api/chat", json={"message": "list [[error500]]"}, headers=headers)

    response = httpx.get(f"{backend.metrics_url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "process_uptime_seconds " in text
    assert 'http_requests_total{method="POST",route="/api/tasks",status="201"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/api/tasks/{task_id}",status="200"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/api/tasks/{task_id}",status="404"} 1.0' in text
    assert f"/api/tasks/{task['id']}" not in text
    duration = "http_request_duration_seconds"
    assert f'{duration}_bucket{{le="0.5",route="/api/tasks",status_class="2xx"}}' in text
    assert f'{duration}_count{{route="/api/tasks/{{task_id}}",status_class="2xx"}} 1.0' in text
    assert f'{duration}_count{{route="/api/tasks/{{task_id}}",status_class="4xx"}} 1.0' in text
    assert f'{duration}_count{{route="/api/chat",status_class="5xx"}} 1.0' in text
    assert 'http_request_failures_total{route="/api/chat"} 1.0' in text
    # Routes that served without a failure export their failure series at 0.
    assert 'http_request_failures_total{route="/api/tasks"} 0.0' in text
    assert 'http_request_failures_total{route="/api/tasks/{task_id}"} 0.0' in text


def test_unknown_paths_share_one_label(client: httpx.Client, backend: AppProcess) -> None:
    for index in range(3):
        assert client.get(f"/random/{index}").status_code == 404
    text = httpx.get(f"{backend.metrics_url}/metrics", timeout=5).text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 3.0' in text
    assert "/random/" not in text


# After the test above, which counts the unmatched requests of its module.
def test_metrics_are_on_the_metrics_port_only(client: httpx.Client, backend: AppProcess) -> None:
    assert client.get("/metrics").status_code == 404
    assert httpx.get(f"{backend.metrics_url}/metrics", timeout=5).status_code == 200
    assert httpx.get(f"{backend.metrics_url}/api/tasks", timeout=5).status_code == 404


def test_database_outage_turns_readyz_503_and_recovers(
    backend: AppProcess, postgres: PostgresServer, make_token: Any
) -> None:
    headers = bearer(make_token("outage-user"))
    before = httpx.post(
        f"{backend.url}/api/tasks", json={"title": "survives the outage"}, headers=headers
    )
    assert before.status_code == 201

    postgres.stop()
    try:
        wait_for(lambda: status_of(f"{backend.url}/readyz") == 503)
        ready = httpx.get(f"{backend.url}/readyz", timeout=5)
        assert ready.json() == {"detail": "not ready: database unavailable"}
        assert httpx.get(f"{backend.url}/healthz", timeout=5).status_code == 200
        during = httpx.get(f"{backend.url}/api/tasks", headers=headers, timeout=15)
        assert during.status_code == 503
        assert during.json() == {"detail": "the database is unavailable, try again shortly"}
        assert backend.returncode is None
    finally:
        postgres.start()

    wait_for(lambda: status_of(f"{backend.url}/readyz") == 200)
    after = httpx.get(f"{backend.url}/api/tasks", headers=headers, timeout=5)
    assert after.status_code == 200
    assert [t["title"] for t in after.json()["data"]] == ["survives the outage"]


def test_backend_started_without_database_becomes_ready_when_it_appears(
    start_backend: Any, postgres: PostgresServer, make_token: Any
) -> None:
    postgres.stop()
    try:
        backend = start_backend(wait_ready=False)
        wait_for(lambda: status_of(f"{backend.url}/healthz") == 200)
        readyz = httpx.get(f"{backend.url}/readyz", timeout=5)
        assert readyz.status_code == 503
        assert readyz.json() == {"detail": "not ready: starting"}
        api = httpx.get(
            f"{backend.url}/api/tasks", headers=bearer(make_token("early-user")), timeout=5
        )
        assert api.status_code == 503
        assert api.json() == {"detail": "the service is starting, try again shortly"}
    finally:
        postgres.start()
    backend.wait_ready(timeout_seconds=20)
    assert backend.returncode is None
