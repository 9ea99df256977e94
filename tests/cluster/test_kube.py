"""localcluster.kube: the one wait on the apiserver (a watch) and the rollout rule it applies.

The rule is checked on objects shaped as the API returns them; the wait against the running
cluster (booted here when none runs), in a namespace of its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from localcluster import kube, traefik
from support.live_api import core
from support.live_cluster import ensure_running

NAMESPACE = "kube-wait-test"


def deployment(generation: int, observed: int, **status: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": observed, **status},
    }


def test_a_deployment_is_rolled_out_when_every_replica_is_new_and_available() -> None:
    done = deployment(2, 2, replicas=2, updatedReplicas=2, availableReplicas=2)
    assert kube.rolled_out(done)


@pytest.mark.parametrize(
    "unfinished",
    [
        deployment(3, 2, replicas=2, updatedReplicas=2, availableReplicas=2),
        deployment(2, 2, replicas=2, updatedReplicas=1, availableReplicas=2),
        deployment(2, 2, replicas=3, updatedReplicas=2, availableReplicas=2),
        deployment(2, 2, replicas=2, updatedReplicas=2, availableReplicas=1),
    ],
    ids=["spec not seen", "an old replica wanted", "an old replica left", "one unavailable"],
)
def test_a_deployment_is_not_rolled_out_before(unfinished: dict[str, Any]) -> None:
    assert not kube.rolled_out(unfinished)


def test_a_daemonset_is_rolled_out_when_every_node_runs_the_new_pod_available() -> None:
    daemonset = {
        "metadata": {"name": "agent", "generation": 1},
        "spec": {},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": 1},
    }
    assert not kube.rolled_out(daemonset)
    daemonset["status"].update(updatedNumberScheduled=1, numberAvailable=1)
    assert kube.rolled_out(daemonset)


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    """A namespace of this module on the running cluster, removed after."""
    ensure_running("up")
    core().create_namespace({"metadata": {"name": NAMESPACE}})
    try:
        yield NAMESPACE
    finally:
        core().delete_namespace(NAMESPACE)


def holding(value: str) -> Any:
    """The condition: the config map exists and holds `value`."""
    return lambda maps: [m.get("data", {}).get("value") for m in maps] == [value]


def wait_config_map(name: str, condition: Any, what: str, timeout: float = 60) -> Any:
    """`kube.wait_for` on the config map `name` of the test namespace."""
    return kube.wait_for(
        core().list_namespaced_config_map,
        condition,
        what=what,
        timeout_seconds=timeout,
        namespace=NAMESPACE,
        field_selector=kube.named(name),
    )


@pytest.mark.cluster
@pytest.mark.live
def test_wait_for_sees_a_change_made_while_it_waits(namespace: str) -> None:
    body = {"metadata": {"name": "flag"}, "data": {"value": "before"}}
    core().create_namespaced_config_map(namespace, body)
    change = threading.Timer(
        1, core().patch_namespaced_config_map, ("flag", namespace, {"data": {"value": "after"}})
    )
    change.start()
    try:
        [found] = wait_config_map("flag", holding("after"), "the flag changed")
    finally:
        change.join()
    assert found["metadata"]["name"] == "flag"
    assert found["data"] == {"value": "after"}


@pytest.mark.cluster
@pytest.mark.live
def test_wait_for_sees_a_deletion(namespace: str) -> None:
    core().create_namespaced_config_map(namespace, {"metadata": {"name": "doomed"}})
    delete = threading.Timer(1, core().delete_namespaced_config_map, ("doomed", namespace))
    delete.start()
    try:
        assert wait_config_map("doomed", lambda maps: not maps, "the config map deleted") == []
    finally:
        delete.join()


@pytest.mark.cluster
@pytest.mark.live
def test_wait_for_gives_up_at_its_deadline_naming_what_it_waited_for(namespace: str) -> None:
    with pytest.raises(TimeoutError, match=r"^a config map that never comes: not within 2s"):
        wait_config_map("absent", holding("never"), "a config map that never comes", timeout=2)


@pytest.mark.cluster
@pytest.mark.live
def test_wait_for_reads_custom_resources_too(namespace: str) -> None:
    """A custom resource (the Gateway) is waited on like a built-in kind: one code path."""
    gateways = functools.partial(
        client.CustomObjectsApi(core().api_client).list_namespaced_custom_object,
        "gateway.networking.k8s.io",
        "v1",
        traefik.NAMESPACE,
        "gateways",
    )
    [gateway] = kube.wait_for(
        gateways,
        lambda found: bool(found) and kube.condition_true(found[0], "Programmed"),
        what="the Gateway programmed",
        timeout_seconds=30,
        field_selector=kube.named(traefik.GATEWAY),
    )
    assert gateway["spec"]["gatewayClassName"] == traefik.GATEWAY_CLASS
