"""User story 4 (scaling, autoscaling) and rolling changes under continuous traffic.

The traffic is real users' traffic: e2e_agent.py in the user's namespace, several concurrent
clients listing and creating tasks through the frontend's NodePort, counting every failed
request (an error status or a broken connection). Every change here must lose none, and every
task a client was told was created must be in the list afterwards.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from conftest import ReleaseFactory, assert_lossless, installed_and_served
from e2e_cluster import BACKEND, RELEASE, Release, helm, kubectl, kubectl_json
from e2e_user import AppUser, Load, UserAgent
from localcluster import kube
from support.live_api import autoscaling
from todo_chatbot.workload import METRICS_PORT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SCALE_LIMIT_SECONDS = 120
# Long enough for a change to roll (or a scale to settle) while the clients keep sending.
SETTLE_SECONDS = 3
# How soon a new replica must get its share of continuous traffic.
NEW_REPLICA_GRACE_SECONDS = 5


@pytest.fixture(scope="module")
def scaled(new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    """A release the tests scale and reconfigure."""
    return installed_and_served(new_release("scale", 30104), user_agent)


@pytest.fixture
def user(scaled: Release, user_agent: UserAgent) -> AppUser:
    return AppUser(user_agent, scaled.url).sign_up()


def set_replicas(release: Release, count: int, component: str = "backend") -> None:
    """Precondition of a test: exactly `count` Ready pods of `component`, `.spec.replicas`
    owned by Helm."""
    release.upgrade({component: {"replicaCount": count}}, force_conflicts=True)
    release.wait_ready(component, count)


def backend_requests(release: Release) -> dict[str, float]:
    """Task list requests each backend pod has served so far (its own metrics)."""
    served = {}
    for pod in release.ready_pods("backend"):
        [(status, text)] = release.http_in_pod(
            pod, [{"url": f"http://127.0.0.1:{METRICS_PORT}/metrics"}]
        )
        assert status == 200
        found = re.search(
            r'^http_requests_total\{method="GET",route="/api/tasks",status="200"\} (\S+)$',
            text,
            re.MULTILINE,
        )
        served[pod] = float(found.group(1)) if found else 0.0
    return served


def pod_names(release: Release) -> set[str]:
    return {p["metadata"]["name"] for c in ("backend", "frontend") for p in release.pods(c)}


def test_helm_upgrade_gives_two_ready_backends_that_both_serve(
    scaled: Release, user: AppUser, figures: dict[str, Any]
) -> None:
    set_replicas(scaled, 1)
    seconds = scaled.upgrade({"backend": {"replicaCount": 2}})
    scaled.wait_ready("backend", 2, timeout=5)
    figures["scale_1_to_2_helm_seconds"] = round(seconds, 1)
    print(f"helm upgrade --set backend.replicaCount=2: {seconds:.1f} s")
    assert seconds < SCALE_LIMIT_SECONDS

    before = backend_requests(scaled)
    with Load(user, workers=6):
        time.sleep(SETTLE_SECONDS * 2)
    after = backend_requests(scaled)
    assert len(after) == 2
    assert all(after[pod] > before.get(pod, 0) for pod in after), (before, after)


def test_a_backend_added_under_continuous_traffic_gets_requests(
    scaled: Release, user: AppUser
) -> None:
    """What an autoscaler adds must take load at once, not only new clients' load."""
    set_replicas(scaled, 1)
    with Load(user, workers=6):
        time.sleep(SETTLE_SECONDS)
        kubectl("-n", scaled.namespace, "scale", f"deployment/{BACKEND}", "--replicas=2")
        scaled.wait_ready("backend", 2)
        before = backend_requests(scaled)
        time.sleep(NEW_REPLICA_GRACE_SECONDS)
        after = backend_requests(scaled)
    assert all(after[pod] > before.get(pod, 0) for pod in after), (before, after)


def test_kubectl_scale_gives_two_ready_backends(scaled: Release, figures: dict[str, Any]) -> None:
    set_replicas(scaled, 1)
    # kubectl on purpose: `kubectl scale` is what an operator types.
    kubectl("-n", scaled.namespace, "scale", f"deployment/{BACKEND}", "--replicas=2")
    seconds = scaled.wait_ready("backend", 2)
    figures["scale_1_to_2_kubectl_seconds"] = round(seconds, 1)
    print(f"kubectl scale 1 -> 2: {seconds:.1f} s")
    assert seconds < SCALE_LIMIT_SECONDS


@pytest.mark.parametrize("how", ["helm upgrade", "kubectl scale"])
def test_scaling_from_two_to_one_under_traffic_loses_no_request(
    scaled: Release, user: AppUser, figures: dict[str, Any], how: str
) -> None:
    set_replicas(scaled, 2)
    with Load(user, create_every=5) as load:
        time.sleep(SETTLE_SECONDS)
        if how == "helm upgrade":
            # Earlier tests scaled with kubectl too: Helm 4 applies server-side and must
            # force its way back to owning `.spec.replicas`.
            scaled.upgrade({"backend": {"replicaCount": 1}}, force_conflicts=True)
        else:
            # kubectl on purpose: `kubectl scale` is what an operator types.
            kubectl("-n", scaled.namespace, "scale", f"deployment/{BACKEND}", "--replicas=1")
        scaled.wait_ready("backend", 1, timeout=60)
        time.sleep(SETTLE_SECONDS)
    figures.setdefault("failed_requests", {})[f"scale 2->1 ({how})"] = len(load.failures)
    assert_lossless(load, user, scaled)


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_deleting_a_pod_under_traffic_loses_no_request(
    scaled: Release, user: AppUser, figures: dict[str, Any], component: str
) -> None:
    set_replicas(scaled, 2, component)
    victim = scaled.ready_pods(component)[0]
    with Load(user, create_every=5) as load:
        time.sleep(SETTLE_SECONDS)
        kubectl("-n", scaled.namespace, "delete", "pod", victim, "--wait=true")
        scaled.wait_ready(component, 2)
        time.sleep(SETTLE_SECONDS)
    figures.setdefault("failed_requests", {})[f"{component} pod deleted"] = len(load.failures)
    assert victim not in scaled.ready_pods(component)
    assert_lossless(load, user, scaled)


def test_config_upgrade_and_rollback_roll_every_pod_without_a_failed_request(
    scaled: Release, user: AppUser, figures: dict[str, Any]
) -> None:
    set_replicas(scaled, 1)
    before = pod_names(scaled)

    with Load(user, create_every=5) as upgrade:
        time.sleep(SETTLE_SECONDS)
        scaled.upgrade({"config": {"logLevel": "debug"}})
        time.sleep(SETTLE_SECONDS)
    upgraded = pod_names(scaled)
    assert upgraded.isdisjoint(before), "the config change left pods running"
    assert log_level(scaled) == "debug"

    revision = _revision(scaled)
    with Load(user, create_every=5) as rollback:
        time.sleep(SETTLE_SECONDS)
        result = helm(
            "rollback", RELEASE, str(revision - 1), "--namespace", scaled.namespace,
            "--wait", "--timeout=120s",
        )  # fmt: skip
        assert result.returncode == 0, scaled.explain(result)
        time.sleep(SETTLE_SECONDS)
    assert pod_names(scaled).isdisjoint(upgraded), "the rollback left pods running"
    assert log_level(scaled) == "info"

    failed = figures.setdefault("failed_requests", {})
    failed["helm upgrade (config)"] = len(upgrade.failures)
    failed["helm rollback"] = len(rollback.failures)
    assert_lossless(upgrade, user, scaled)
    assert_lossless(rollback, user, scaled)


def log_level(release: Release) -> str:
    level: str = kubectl_json("-n", release.namespace, "get", "configmap", BACKEND)["data"][
        "LOG_LEVEL"
    ]
    return level


def _revision(release: Release) -> int:
    result = helm("status", RELEASE, "--namespace", release.namespace, "-o", "json")
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["version"])


@pytest.fixture(scope="module")
def autoscaled(new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    """A release whose backend an HPA scales between 1 and 2 replicas on CPU.

    The scale-down stabilization window is 20 s instead of Kubernetes' 5 minutes, so the
    test sees the way down too.
    """
    scaling = {
        "enabled": True,
        "minReplicas": 1,
        "maxReplicas": 2,
        "targetCPUUtilizationPercentage": 50,
        "scaleDownStabilizationSeconds": 20,
    }
    release = new_release("hpa", 30105, values={"backend": {"autoscaling": scaling}})
    return installed_and_served(release, user_agent)


def _wait_for_replicas(release: Release, count: int, *, timeout: float) -> float:
    """Wait until the autoscaler has set `count` replicas, then until as many are Ready."""
    began = time.monotonic()
    kube.wait_for(
        autoscaling().list_namespaced_horizontal_pod_autoscaler,
        lambda hpas: [h["status"].get("currentReplicas") for h in hpas] == [count],
        what=f"the autoscaler at {count} replicas",
        timeout_seconds=timeout,
        namespace=release.namespace,
        field_selector=kube.named(BACKEND),
    )
    release.wait_ready("backend", count, timeout=max(1.0, timeout - (time.monotonic() - began)))
    return time.monotonic() - began


def test_cpu_load_makes_the_autoscaler_add_a_backend_and_idling_removes_it(
    autoscaled: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    user = AppUser(user_agent, autoscaled.url).sign_up()
    for number in range(20):
        user.create_task(f"row {number}")
    assert len(autoscaled.ready_pods("backend")) == 1
    with Load(user, workers=8) as load:
        up = _wait_for_replicas(autoscaled, 2, timeout=240)
    figures["hpa_scale_up_seconds"] = round(up, 1)
    print(f"HPA 1 -> 2 under load: {up:.0f} s")
    assert load.failures == []
    down = _wait_for_replicas(autoscaled, 1, timeout=240)
    figures["hpa_scale_down_seconds"] = round(down, 1)
    print(f"HPA 2 -> 1 after the load: {down:.0f} s")
