"""User story 3 in Prometheus: a killed pod shows as a restart and as a dip in availability.

The release is monitored as `make up`'s is (`deploy.monitored_values()`: the chart's ServiceMonitor,
scraped every 5 s, and PrometheusRule), so the cluster's Prometheus scrapes it and evaluates the
chart's rules. Under steady traffic from the user, the backend's process is killed from the host
(SIGKILL): the frontend answers what it cannot pass on with a 5xx, which the chart's availability
rule for the frontend records as a dip below 1, and the backend's new process start time is a
restart (`changes(process_start_time_seconds)`, and the chart's TodoChatbotRestarts alert fires).
Prometheus is asked through its HTTP API from the user's side.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.parse
from typing import Any

import pytest
from conftest import ReleaseFactory, installed_and_served
from e2e_cluster import Release, component_of, host_pid, is_ready
from e2e_user import AppUser, Load, UserAgent
from localcluster import deploy, monitoring
from support.live_cluster import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# A new release's pods become targets and its rule file is loaded within a few minutes: the
# operator regenerates the configuration, the reloader notices, Prometheus reloads.
SERIES_TIMEOUT_SECONDS = 300
# After the kill, one rule evaluation (10 s) and a scrape or two.
DIP_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def watched(new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    """A release the cluster's Prometheus scrapes, with the chart's rules."""
    release = new_release("prom", 30109, values=deploy.monitored_values())
    return installed_and_served(release, user_agent)


def query(agent: UserAgent, expr: str) -> list[dict[str, Any]]:
    """An instant query to Prometheus' API from the user's side; its result vector."""
    url = f"{monitoring.url()}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    reply = agent.request("GET", url)
    assert reply.status == 200, (url, reply.status, reply.error, reply.text[:300])
    answer = json.loads(reply.text)
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def test_a_killed_backend_shows_in_prometheus_as_a_restart_and_an_availability_dip(
    watched: Release, user_agent: UserAgent
) -> None:
    namespace = watched.namespace
    frontend = f"namespace='{namespace}',app_kubernetes_io_component='frontend'"
    backend = f"namespace='{namespace}',app_kubernetes_io_component='backend'"
    availability = f"todo_chatbot:availability:ratio_rate5m{{{frontend}}}"
    restarts = f"changes(process_start_time_seconds{{{backend}}}[10m])"

    def values(expr: str) -> list[float]:
        return [float(item["value"][1]) for item in query(user_agent, expr)]

    user = AppUser(user_agent, watched.url).sign_up()
    with Load(user, workers=4) as load:
        # Before the kill: the rule answers for this release, without a failure yet.
        before = eventually(
            "the frontend's recorded availability and the backend's start time",
            lambda: values(availability) if values(restarts) else [],
            timeout_seconds=SERIES_TIMEOUT_SECONDS,
        )
        assert before == [1.0]
        assert values(restarts) == [0.0]
        [pod] = watched.pods("backend")
        count = pod["status"]["containerStatuses"][0]["restartCount"]
        os.kill(host_pid(pod), signal.SIGKILL)

        def restarted(pods: list[dict[str, Any]]) -> bool:
            [pod] = pods
            return bool(
                pod["status"]["containerStatuses"][0]["restartCount"] > count and is_ready(pod)
            )

        watched.wait_pods(
            restarted, what="a Ready restart", timeout=120, selector=component_of("backend")
        )
        # Traffic after the restart: the new process is scraped with the load flowing again.
        time.sleep(10)
    # What the user saw: requests the frontend could not pass on while the backend was gone.
    assert load.failures, load.summary
    answered = [failure.get("status", 0) for failure in load.failures]
    assert all(500 <= status < 600 for status in answered), load.failures
    dip = eventually(
        "the frontend's recorded availability below 1",
        lambda: [v for v in values(availability) if v < 1],
        timeout_seconds=DIP_TIMEOUT_SECONDS,
    )
    assert 0 < dip[0] < 1
    assert values(restarts) == [1.0]
    firing = eventually(
        "the chart's restart alert firing",
        lambda: query(
            user_agent,
            f"ALERTS{{alertname='TodoChatbotRestarts',alertstate='firing',{backend}}}",
        ),
        timeout_seconds=DIP_TIMEOUT_SECONDS,
    )
    assert [alert["metric"]["pod"] for alert in firing] == [pod["metadata"]["name"]]
