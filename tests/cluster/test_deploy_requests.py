"""The resource pre-flight of `make up`: the release's requests against what the node has left."""

import pytest
from localcluster import deploy

pytestmark = pytest.mark.cluster


def pod(
    cpu: str, memory: str, phase: str = "Running", node: str | None = "todo-chatbot"
) -> dict[str, object]:
    container = {"resources": {"requests": {"cpu": cpu, "memory": memory}}}
    spec = {"containers": [container], "nodeName": node}
    return {"kind": "Pod", "spec": spec, "status": {"phase": phase}}


def test_pod_requests_counts_replicas_and_skips_finished_and_unscheduled_pods() -> None:
    deployment = {
        "kind": "Deployment",
        "spec": {"replicas": 3, "template": {"spec": pod("100m", "128Mi")["spec"]}},
    }
    objects = [
        deployment,
        pod("50m", "64Mi"),
        pod("4", "4Gi", phase="Succeeded"),
        pod("64", "1Gi", phase="Pending", node=None),
        {"kind": "Service"},
    ]
    assert deploy.pod_requests(objects) == pytest.approx(
        {"cpu": 0.35, "memory": (3 * 128 + 64) * 2**20}
    )


def test_requests_that_fit_pass() -> None:
    node = {"cpu": 2.0, "memory": 8 * 2.0**30}
    assert (
        deploy.check_requests_fit({"cpu": 0.15, "memory": 2**28}, node, {"cpu": 1.0, "memory": 0})
        is None
    )


def test_too_much_cpu_names_the_numbers_and_the_values_to_lower() -> None:
    node = {"cpu": 2.0, "memory": 8 * 2.0**30}
    problem = deploy.check_requests_fit(
        {"cpu": 64.05, "memory": 0}, node, {"cpu": 0.35, "memory": 0}
    )
    assert problem == (
        "the release requests 64.05 CPU but the node has 1.65 CPU left of 2 allocatable: lower "
        "backend.resources.requests / frontend.resources.requests (or replicas) or free the node"
    )


def test_too_much_memory_is_refused_in_mebibytes() -> None:
    node = {"cpu": 2.0, "memory": 1024 * 2.0**20}
    problem = deploy.check_requests_fit(
        {"cpu": 0, "memory": 2048 * 2.0**20}, node, {"cpu": 0, "memory": 0}
    )
    assert problem is not None
    assert problem.startswith("the release requests 2048 MiB but the node has 1024 MiB left")
