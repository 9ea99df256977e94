"""Prometheus on the local cluster, for real: the chart's ServiceMonitor and PrometheusRule at work.

`make up` runs the Prometheus Operator and a Prometheus in the `monitoring` namespace and deploys
its release with the chart's ServiceMonitor, which selects each component's metrics Service (the
NodePort frontend's too), and PrometheusRule. From the end user's side, Prometheus' HTTP API
answers on its NodePort; it scrapes both components (the scraper's namespace is admitted to their
metrics port) and the chart's recording rules give each component its request rate, error ratio,
availability and p95 latency. The user reaches no `/metrics`: the frontend's NodePort Service has
no metrics port, and neither its NodePort nor the Ingress serves it.

Runs against the release `make up` deployed; without a running cluster, the module boots one
and deploys the release, taken down at the end of the session.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from localcluster import deploy, monitoring, traefik
from localcluster.release import NAMESPACE, RELEASE
from support.live_cluster import deployed_release, eventually, kubectl, user_get
from todo_common.config import DEFAULT_METRICS_PORT

pytestmark = [pytest.mark.cluster, pytest.mark.live, pytest.mark.timeout(900)]

COMPONENTS = ("backend", "frontend")
# The deploy scrapes every 5 s and Prometheus evaluates every 10 s (localcluster.monitoring):
# a 5-minute rate needs two samples, and a new rule file reaches Prometheus within the kubelet's
# 10-s sync. The timeout leaves room for a loaded machine.
SERIES_TIMEOUT_SECONDS = 240


@pytest.fixture(scope="module")
def release() -> Iterator[None]:
    """The running cluster with `make up`'s release; booted and deployed here when none runs."""
    yield from deployed_release()


def api(path: str, **query: str) -> Any:
    """Ask Prometheus' HTTP API from the user's side; return its `data`."""
    url = f"{monitoring.url()}/api/v1/{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    status, body = user_get(url)
    assert status == "200", f"{url}: {status} {body[:300]}"
    answer = json.loads(body)
    assert answer["status"] == "success", answer
    return answer["data"]


def release_targets() -> list[dict[str, Any]]:
    """The active scrape targets of `make up`'s release."""
    targets: list[dict[str, Any]] = api("targets", state="active")["activeTargets"]
    return [
        target
        for target in targets
        if target["labels"].get("namespace") == NAMESPACE
        and target["labels"].get("app_kubernetes_io_instance") == RELEASE
    ]


def by_component(series: str) -> dict[str, float]:
    """The value of a recorded series for each component of `make up`'s release."""
    selector = f'{series}{{namespace="{NAMESPACE}",app_kubernetes_io_instance="{RELEASE}"}}'
    result = api("query", query=selector)["result"]
    return {
        item["metric"]["app_kubernetes_io_component"]: float(item["value"][1]) for item in result
    }


def test_prometheus_answers_from_the_users_side(release: None) -> None:
    build = api("status/buildinfo")
    image = kubectl(
        "-n", monitoring.NAMESPACE, "get", f"prometheus/{monitoring.NAME}",
        "-o", "jsonpath={.spec.version}",
    )  # fmt: skip
    assert f"v{build['version']}" == image


def test_prometheus_scrapes_both_components_through_the_charts_monitor(release: None) -> None:
    def pods() -> set[str]:
        listed = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
        return {
            pod["metadata"]["name"]
            for pod in listed
            if pod["metadata"]["labels"].get("app.kubernetes.io/component") in COMPONENTS
            and pod["status"].get("phase") == "Running"
            and "deletionTimestamp" not in pod["metadata"]
        }

    def scraped() -> dict[str, str]:
        return {target["labels"]["pod"]: target["health"] for target in release_targets()}

    # Each running pod of the release is a target, and every target is up.
    deadline = time.monotonic() + SERIES_TIMEOUT_SECONDS
    while (health := scraped()).keys() != (running := pods()) or set(health.values()) != {"up"}:
        assert time.monotonic() < deadline, f"targets {health}, running pods {running}"
        time.sleep(5)
    targets = release_targets()
    components = {target["labels"]["app_kubernetes_io_component"] for target in targets}
    assert components == set(COMPONENTS)
    # One target a pod, each through its component's metrics Service (the ServiceMonitor's
    # `service` label; a PodMonitor's targets have none): none through the app's Services.
    assert len(targets) == len(running)
    for target in targets:
        component = target["labels"]["app_kubernetes_io_component"]
        assert target["labels"]["service"].endswith(f"-{component}-metrics"), target["labels"]
    # The metrics port, never the app's.
    urls = {urllib.parse.urlsplit(target["scrapeUrl"]) for target in targets}
    assert {(url.port, url.path) for url in urls} == {(DEFAULT_METRICS_PORT, "/metrics")}


def test_the_charts_recording_rules_answer_per_component(release: None) -> None:
    # Traffic the frontend serves with a 2xx (its sign-in page) and the probes of both give
    # every component requests to rate.
    for _ in range(20):
        status, _ = user_get(f"{deploy.public_url()}/signin")
        assert status == "200"
    for series in (
        "todo_chatbot:http_requests:rate5m",
        "todo_chatbot:http_request_errors:ratio_rate5m",
        "todo_chatbot:availability:ratio_rate5m",
        "todo_chatbot:http_request_duration_seconds:p95_5m",
    ):
        values = eventually(
            f"{series} for both components",
            lambda series=series: (
                (found := by_component(series)).keys() == set(COMPONENTS) and found
            ),
            timeout_seconds=SERIES_TIMEOUT_SECONDS,
        )
        assert all(value >= 0 for value in values.values()), (series, values)
    rates = by_component("todo_chatbot:http_requests:rate5m")
    assert all(rate > 0 for rate in rates.values()), rates
    availability = by_component("todo_chatbot:availability:ratio_rate5m")
    assert all(0 <= value <= 1 for value in availability.values()), availability


def test_the_charts_alerts_are_loaded_and_evaluate(release: None) -> None:
    # The operator writes each PrometheusRule to a file named <namespace>-<name>-<uid>.yaml.
    def evaluated() -> list[dict[str, Any]]:
        groups = api("rules", type="alert")["groups"]
        rules = [rule for g in groups if f"/{NAMESPACE}-" in g["file"] for rule in g["rules"]]
        # A rule not evaluated yet has the health `unknown`.
        return rules if rules and all(rule["health"] == "ok" for rule in rules) else []

    rules = eventually(
        "the release's alerting rules evaluated", evaluated, timeout_seconds=SERIES_TIMEOUT_SECONDS
    )
    assert {rule["name"] for rule in rules} >= {
        "TodoChatbotErrorBudgetFastBurn",
        "TodoChatbotErrorBudgetSlowBurn",
        "TodoChatbotRestarts",
    }


def test_the_users_side_reaches_no_metrics(release: None) -> None:
    frontend = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=frontend"
    (service,) = json.loads(
        kubectl("-n", NAMESPACE, "get", "services", "-l", frontend, "-o", "json")
    )["items"]
    # A NodePort Service would give the metrics port a node port: the chart leaves it out.
    assert [port["name"] for port in service["spec"]["ports"]] == ["http"]
    metrics = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=frontend-metrics"
    (metrics_service,) = json.loads(
        kubectl("-n", NAMESPACE, "get", "services", "-l", metrics, "-o", "json")
    )["items"]
    assert metrics_service["spec"]["type"] == "ClusterIP"
    assert metrics_service["spec"]["clusterIP"] == "None"
    assert not [port for port in metrics_service["spec"]["ports"] if "nodePort" in port]
    for url, host in (
        (f"{deploy.public_url()}/metrics", None),
        (f"{traefik.ingress_url()}/metrics", deploy.INGRESS_HOST),
    ):
        status, body = user_get(url, host=host)
        assert status == "404", (url, status)
        assert "http_requests_total" not in body
