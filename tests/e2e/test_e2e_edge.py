"""Edge cases of the spec: bad resources and secrets, crash loops, start-up races, outages.

The database outage stops the host's PostgreSQL for 20 s: every release on the cluster
(the `make up` one included) is unready meanwhile and recovers by itself afterwards.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest
from conftest import ReleaseFactory, installed_and_served, wait_until_served
from e2e_cluster import (
    BACKEND,
    FRONTEND,
    FULLNAME,
    Release,
    component_of,
    helm,
    host_pid,
    is_ready,
    kubectl,
    kubectl_json,
    live,
    paths,
)
from e2e_user import AppUser, Load, UserAgent, run_browser
from localcluster import kube, postgres
from support.live_api import core
from todo_chatbot.workload import METRICS_PORT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

OUTAGE_SECONDS = 20
# What the page says when the backend is gone: refused connections read "unavailable"; with
# the NetworkPolicy, connections to a Service without endpoints are dropped instead, so the
# user gets the timeout's sentence after BACKEND_TIMEOUT_SECONDS.
FRIENDLY = re.compile(
    r"^The task service is (unavailable right now|taking too long to answer); try again"
)


def warnings(release: Release) -> list[dict[str, Any]]:
    """The namespace's Warning events."""
    events: list[dict[str, Any]] = kubectl_json(
        "-n", release.namespace, "get", "events", "--field-selector=type=Warning"
    )["items"]
    return events


def test_requests_beyond_the_node_fail_the_install_with_an_actionable_reason(
    new_release: ReleaseFactory,
) -> None:
    node = kubectl_json("get", "nodes")["items"][0]["status"]["allocatable"]
    too_much = {
        "backend": {"resources": {"requests": {"cpu": "64"}, "limits": {"cpu": "64"}}},
        "frontend": {"resources": {"requests": {"memory": "1Ti"}, "limits": {"memory": "1Ti"}}},
    }
    release = new_release("resources", 30106, values=too_much)
    began = time.monotonic()
    result = release.helm("install", args=("--wait", "--timeout=60s"))
    elapsed = time.monotonic() - began
    assert result.returncode != 0
    assert elapsed < 90, f"helm took {elapsed:.0f} s to give up"
    pods = kubectl_json("-n", release.namespace, "get", "pods")["items"]
    assert {p["status"]["phase"] for p in pods} == {"Pending"}
    reasons = {
        e["involvedObject"]["name"].rsplit("-", 2)[0]: e["message"]
        for e in warnings(release)
        if e["reason"] == "FailedScheduling"
    }
    assert "Insufficient cpu" in reasons[BACKEND], (node, reasons)
    assert "Insufficient memory" in reasons[FRONTEND], (node, reasons)


@pytest.mark.parametrize(
    ("case", "secrets", "message"),
    [
        ("no-url", {"databaseUrl": ""}, "secrets.databaseUrl is required"),
        (
            "bad-url",
            {"databaseUrl": "mysql://u:p@db/todo"},
            "secrets.databaseUrl must be a PostgreSQL URL",
        ),
        (
            "short-auth",
            {"betterAuthSecret": "short-secret"},
            "secrets.betterAuthSecret must be at least 32",
        ),
        (
            "no-ai-key",
            {"openaiApiKey": ""},
            "secrets.openaiApiKey is required when ai.provider is openai",
        ),
    ],
)
def test_missing_or_malformed_secrets_are_refused_at_install(
    new_release: ReleaseFactory, case: str, secrets: dict[str, str], message: str
) -> None:
    release = new_release(f"refused-{case}", 30107, chart_managed=True)
    result = release.helm("install", extra={"secrets": secrets}, args=("--wait",))
    assert result.returncode != 0
    assert message in result.stderr
    for value in [*release.secret_values(), *secrets.values()]:
        if len(value) >= 8:
            assert value not in result.stderr + result.stdout, "a secret value was printed"
    assert helm("list", "--namespace", release.namespace, "-q").stdout.strip() == ""
    assert kubectl("-n", release.namespace, "get", "all,secrets,configmaps", "-o", "name") in (
        "",
        "configmap/kube-root-ca.crt\n",
    )


def test_an_existing_secret_without_a_key_stops_only_the_pod_that_needs_it(
    new_release: ReleaseFactory, user_agent: UserAgent
) -> None:
    release = new_release("nokey", 30107)
    del release.credentials["OPENAI_API_KEY"]
    release.create_secret()
    result = release.helm("install")
    assert result.returncode == 0, release.explain(result)

    release.wait_ready("frontend", 1)
    events = kube.wait_for(
        core().list_namespaced_event,
        lambda events: any("OPENAI_API_KEY" in e["message"] for e in events),
        what="a warning about OPENAI_API_KEY",
        timeout_seconds=60,
        namespace=release.namespace,
        field_selector="type=Warning",
    )
    [event] = [e for e in events if "OPENAI_API_KEY" in e["message"]][:1]
    assert event["involvedObject"]["name"].startswith(BACKEND)
    secret = f"{release.namespace}/{release.secret_name}"
    assert f"couldn't find key OPENAI_API_KEY in Secret {secret}" in event["message"]
    [backend] = release.pods("backend")
    waiting = backend["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerConfigError"
    # The rest of the release works: the frontend serves the user.
    wait_until_served(release, user_agent)
    assert user_agent.request("GET", release.url + "/signin").status == 200


@pytest.fixture(scope="module")
def fleet(new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    """Three backends installed at once on an empty database (so they migrate together)."""
    release = new_release("fleet", 30108, values={"backend": {"replicaCount": 3}})
    return installed_and_served(release, user_agent)


def test_backends_starting_together_migrate_once(fleet: Release) -> None:
    pods = fleet.ready_pods("backend")
    assert len(pods) == 3
    rows = fleet.schema.query(
        "SELECT namespace, version, count(*) FROM schema_migrations GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert rows == [
        ("backend", 1, 1),
        ("backend", 2, 1),
        ("backend", 3, 1),
        ("frontend", 1, 1),
        ("frontend", 2, 1),
    ]
    applied = []
    for pod in pods:
        for line in kubectl("-n", fleet.namespace, "logs", pod).splitlines():
            entry = json.loads(line)
            assert entry["level"] not in ("error", "critical"), (pod, entry)
            if entry["message"] == "migration applied":
                applied.append(entry["version"])
    assert sorted(applied) == [1, 2, 3], "each migration runs exactly once across the replicas"


def test_concurrent_writes_through_every_backend_are_neither_lost_nor_doubled(
    fleet: Release, user_agent: UserAgent
) -> None:
    user = AppUser(user_agent, fleet.url).sign_up()
    with Load(user, workers=8, create_every=1) as load:
        time.sleep(6)
    assert load.failures == []
    created = load.summary["created"]
    assert len(created) > 50
    rows = fleet.schema.query(
        "SELECT t.id, t.title FROM tasks t JOIN auth_users u ON u.id::text = t.user_id"
        " WHERE u.email = %s",
        [user.email],
    )
    assert sorted(row[0] for row in rows) == sorted(created)
    assert len({row[1] for row in rows}) == len(rows), "a title was stored twice"
    for pod in fleet.ready_pods("backend"):
        [(_, text)] = fleet.http_in_pod(pod, [{"url": f"http://127.0.0.1:{METRICS_PORT}/metrics"}])
        assert 'route="/api/tasks",status="201"' in text, f"{pod} took no write"


def test_a_crash_looping_backend_backs_off_while_the_others_keep_serving(
    fleet: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    """One replica's process is killed each time it starts; users never notice after the first."""
    user = AppUser(user_agent, fleet.url).sign_up()
    target = fleet.ready_pods("backend")[0]
    kills: list[float] = []
    reasons: set[str] = set()
    containers: set[str] = set()

    def kill_each_start(pods: list[dict[str, Any]]) -> bool:
        """On every change of the pod: kill a container that just started; done after 4 kills."""
        [pod] = pods
        status = pod["status"]["containerStatuses"][0]
        reasons.add(status["state"].get("waiting", {}).get("reason", ""))
        if "running" in status["state"] and status["containerID"] not in containers:
            containers.add(status["containerID"])
            os.kill(host_pid(pod), signal.SIGKILL)
            kills.append(time.monotonic() - began)
        return len(kills) == 4

    with Load(user, workers=4) as load:
        time.sleep(2)
        began = time.monotonic()
        fleet.wait_pods(
            kill_each_start,
            what=f"4 kills of {target}",
            timeout=120,
            name=target,
        )
        time.sleep(2)
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(kills)]
    figures["crash_loop_restart_gaps_seconds"] = gaps
    print(f"crash loop: kills at {[round(k, 1) for k in kills]} s, gaps {gaps} s")
    assert "CrashLoopBackOff" in reasons
    assert gaps[2] > gaps[1] > gaps[0], "the restarts did not back off"
    # Requests in flight at the first kill may fail; none after the endpoints dropped it.
    late = [f for f in load.failures if f["at"] > 2 + kills[0] + 3]
    figures.setdefault("failed_requests", {})["crash loop (first kill)"] = len(load.failures)
    assert late == [], load.failures
    assert load.succeeded > 50
    assert len(fleet.ready_pods("backend")) >= 2


def test_backend_at_zero_shows_a_friendly_error_and_the_page_recovers(
    fleet: Release, user_agent: UserAgent
) -> None:
    def act(checkpoint: str) -> None:
        replicas = 0 if checkpoint == "backend-stopped" else 1
        kubectl("-n", fleet.namespace, "scale", f"deployment/{BACKEND}", f"--replicas={replicas}")
        if replicas:
            fleet.wait_ready("backend", 1)
        else:
            fleet.wait_pods(
                lambda pods: not pods,
                what="no backend pod",
                timeout=60,
                selector=component_of("backend"),
            )
            user = AppUser(user_agent, fleet.url).sign_up()
            reply = user.call("GET", "/app/api/tasks")
            assert reply.status in (503, 504)
            assert FRIENDLY.match(reply.json()["detail"]), reply.text

    result = run_browser("outage", fleet.url, act)
    assert FRIENDLY.match(result["message"]), result["message"]
    assert result["tasks"] == 2
    assert result["javascript_errors"] == []


def test_database_outage_makes_pods_unready_not_crash_and_loses_nothing(
    fleet: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    user = AppUser(user_agent, fleet.url).sign_up()
    titles = [f"before the outage {n}" for n in range(5)]
    for title in titles:
        user.create_task(title)
    restarts = fleet.restarts()
    backends = len(fleet.pods("backend"))
    components = ("backend", "frontend")
    print(f"stopping the host PostgreSQL for {OUTAGE_SECONDS} s", file=sys.stderr)
    assert postgres.stop(paths())
    stopped = time.monotonic()
    try:
        fleet.wait_pods(
            lambda pods: not any(is_ready(p) for p in live(pods)),
            what="pods unready without a database",
            timeout=OUTAGE_SECONDS,
            selector=f"app.kubernetes.io/component in ({','.join(components)})",
        )
        unready_after = time.monotonic() - stopped
        time.sleep(max(0.0, OUTAGE_SECONDS - unready_after))
    finally:
        postgres.start(paths())
    restarted = time.monotonic()
    fleet.wait_ready("backend", backends, timeout=60)
    fleet.wait_ready("frontend", 1, timeout=60)
    recovered = time.monotonic() - restarted
    figures["database_outage"] = {
        "unready_after_seconds": round(unready_after, 1),
        "ready_after_database_back_seconds": round(recovered, 1),
    }
    print(f"database outage: unready after {unready_after:.1f} s, Ready {recovered:.1f} s after")
    assert fleet.restarts() == restarts, "a pod restarted instead of waiting for the database"
    wait_until_served(fleet, user_agent)
    assert [t["title"] for t in user.tasks()] == titles
    user.create_task("after the outage")


def _ingress_controller() -> Any:
    """The local cluster's ingress controller module (localcluster.traefik), if it has one."""
    if importlib.util.find_spec("localcluster.traefik") is None:
        return None
    return importlib.import_module("localcluster.traefik")


def _through_the_ingress(agent: UserAgent, controller: Any, host: str) -> int | None:
    reply = agent.request("GET", controller.ingress_url() + "/signin", headers={"Host": host})
    return reply.status


def _fallbacks_reach_the_frontend(app: Release, agent: UserAgent) -> None:
    """The NodePort from the user's namespace, `kubectl port-forward` from the operator's host."""
    user = AppUser(agent, app.url).sign_up()
    assert user.create_task("via the node port")["title"] == "via the node port"
    # kubectl on purpose: `kubectl port-forward` is the operator's fallback under test.
    forward = subprocess.Popen(
        [
            str(paths().bin / "kubectl"), f"--kubeconfig={paths().kubeconfig}",
            "-n", app.namespace, "port-forward", f"service/{FRONTEND}", "18080:80",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert forward.stdout is not None
        assert "Forwarding from 127.0.0.1:18080" in forward.stdout.readline()
        with urllib.request.urlopen("http://127.0.0.1:18080/signin", timeout=5) as page:
            assert page.status == 200
            assert b"<form" in page.read()
    finally:
        forward.send_signal(signal.SIGINT)
        forward.wait(timeout=10)


def test_with_the_ingress_controller_stopped_nodeport_and_port_forward_reach_the_frontend(
    app: Release, user_agent: UserAgent
) -> None:
    """The shared release has an Ingress; the controller serving it is stopped, then restored.

    Stopping it interrupts every release's ingress on the cluster for a few seconds. On a
    cluster without an ingress controller the Ingress is simply unserved, which is the same
    situation: the fallbacks are checked either way.
    """
    ingress = kubectl_json("-n", app.namespace, "get", "ingress", FULLNAME)
    host = ingress["spec"]["rules"][0]["host"]
    controller = _ingress_controller()
    if controller is None:
        print("no ingress controller on this cluster: the Ingress is unserved", file=sys.stderr)
        assert ingress["status"].get("loadBalancer", {}).get("ingress") is None
        _fallbacks_reach_the_frontend(app, user_agent)
        return

    # The controller picks a new Ingress up on its next sync.
    deadline = time.monotonic() + 30
    while (status := _through_the_ingress(user_agent, controller, host)) != 200:
        assert time.monotonic() < deadline, (status, ingress["spec"], ingress["status"])
        time.sleep(1)
    deployment = ("-n", controller.NAMESPACE, f"deployment/{controller.NAME}")
    replicas = kubectl_json("get", *deployment)["spec"]["replicas"]
    kubectl("scale", *deployment, "--replicas=0")
    try:
        deadline = time.monotonic() + 60
        while _through_the_ingress(user_agent, controller, host) == 200:
            assert time.monotonic() < deadline, "the ingress still answers"
            time.sleep(1)
        _fallbacks_reach_the_frontend(app, user_agent)
    finally:
        kubectl("scale", *deployment, f"--replicas={replicas}")
        kube.wait_rolled_out(
            paths(), controller.NAMESPACE, "deployment", controller.NAME, look="its pods' events"
        )
