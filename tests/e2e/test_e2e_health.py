"""User story 3, health: probes and metrics on every pod; a killed or hung backend comes back.

The faults are made from the host, as a crash or a deadlock would: SIGKILL or SIGSTOP to the
container's main process (found through containerd). Inside the container that process is
PID 1, which ignores signals sent from its own namespace, so `kubectl exec kill` could not.
"""

from __future__ import annotations

import os
import re
import signal
import time
from typing import Any

import pytest
from conftest import ReleaseFactory, installed_and_served
from e2e_cluster import Release, component_of, host_pid, is_ready
from e2e_user import AppUser, UserAgent
from todo_chatbot.workload import METRICS_PORT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PORTS = {"backend": 8000, "frontend": 3000}
FAULT_TO_READY_LIMIT_SECONDS = 30


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(selector) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(r"^" + pattern + "$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape(release: Release, pod: str, port: int, path: str) -> tuple[int, str]:
    [(status, body)] = release.http_in_pod(pod, [{"url": f"http://127.0.0.1:{port}{path}"}])
    return status, body


@pytest.fixture(scope="module")
def faulty(new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    """A release whose backend the tests crash and hang."""
    return installed_and_served(new_release("health", 30103), user_agent)


def test_probes_and_metrics_answer_on_every_pod(app: Release) -> None:
    for component, port in PORTS.items():
        for pod in app.ready_pods(component):
            assert scrape(app, pod, port, "/healthz") == (200, '{"status":"ok"}')
            assert scrape(app, pod, port, "/readyz") == (200, '{"status":"ready"}')
            status, text = scrape(app, pod, METRICS_PORT, "/metrics")
            assert status == 200
            for name in (
                "process_uptime_seconds",
                "http_requests_total",
                "http_request_duration_seconds_bucket",
                "http_request_failures_total",
            ):
                assert f"# TYPE {name.removesuffix('_bucket')} " in text, (pod, name)


def test_metrics_show_uptime_latency_and_failures(app: Release, user_agent: UserAgent) -> None:
    [backend] = app.ready_pods("backend")
    before = scrape(app, backend, METRICS_PORT, "/metrics")[1]
    user = AppUser(user_agent, app.url).sign_up()
    user.create_task("measured")
    # The AI stand-in fails this one message with a 500: the backend answers 502 with a
    # sentence for the user, which the frontend passes on.
    failed = user.call("POST", "/app/api/chat", json_body={"message": "hi [[error500]]"})
    assert failed.status == 502, failed.text
    assert "The AI provider failed (HTTP 500)" in failed.text
    after = scrape(app, backend, METRICS_PORT, "/metrics")[1]

    assert metric(after, "process_uptime_seconds") > metric(before, "process_uptime_seconds") > 0
    chat = {"route": "/api/chat"}
    assert metric(after, "http_request_failures_total", **chat) == (
        metric(before, "http_request_failures_total", **chat) + 1
    )
    bad_gateway = {"route": "/api/chat", "method": "POST", "status": "502"}
    assert metric(after, "http_requests_total", **bad_gateway) == (
        metric(before, "http_requests_total", **bad_gateway) + 1
    )
    created = {"route": "/api/tasks", "method": "POST", "status": "201"}
    assert metric(after, "http_requests_total", **created) == (
        metric(before, "http_requests_total", **created) + 1
    )
    tasks = {"route": "/api/tasks", "status_class": "2xx"}
    assert metric(after, "http_request_duration_seconds_count", **tasks) > metric(
        before, "http_request_duration_seconds_count", **tasks
    )
    assert metric(after, "http_request_duration_seconds_sum", **tasks) > 0


def _fault_to_ready(release: Release, fault: signal.Signals) -> float:
    """Send `fault` to the backend's process; return the seconds until a restarted one is Ready."""
    [pod] = release.pods("backend")
    name = pod["metadata"]["name"]
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    pid = host_pid(pod)

    def restarted(pods: list[dict[str, Any]]) -> bool:
        assert [p["metadata"]["name"] for p in pods] == [name], (
            "the pod was replaced, not restarted"
        )
        [pod] = pods
        return bool(
            pod["status"]["containerStatuses"][0]["restartCount"] > restarts and is_ready(pod)
        )

    began = time.monotonic()
    os.kill(pid, fault)
    release.wait_pods(
        restarted, what="a Ready restart", timeout=120, selector=component_of("backend")
    )
    return time.monotonic() - began


def _record(figures: dict[str, Any], key: str, seconds: float) -> None:
    figures[key] = round(seconds, 1)
    print(f"{key}: {seconds:.1f} s")


def test_a_killed_backend_is_restarted_and_ready_within_30s(
    faulty: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    seconds = _fault_to_ready(faulty, signal.SIGKILL)
    _record(figures, "restart_after_kill_seconds", seconds)
    assert seconds < FAULT_TO_READY_LIMIT_SECONDS
    user = AppUser(user_agent, faulty.url).sign_up()
    assert user.create_task("after the crash")["title"] == "after the crash"


def test_a_hung_backend_is_restarted_by_liveness_and_ready_within_30s(
    faulty: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    seconds = _fault_to_ready(faulty, signal.SIGSTOP)
    _record(figures, "restart_after_hang_seconds", seconds)
    [pod] = faulty.pods("backend")
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] != 0
    assert seconds < FAULT_TO_READY_LIMIT_SECONDS
    user = AppUser(user_agent, faulty.url).sign_up()
    assert user.create_task("after the hang")["title"] == "after the hang"
