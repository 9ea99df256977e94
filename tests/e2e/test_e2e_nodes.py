"""Several nodes (`make up NODES=3`): spread, drain, node loss and the loss of an entry point.

Each scenario runs under the users' continuous traffic (e2e_agent.py in the user's namespace,
counting every failed request). On a cluster of one node (`make up`, then `make test`), the
module joins two extra nodes (`up --nodes 3`, seconds) and removes them again when it ends, so
the cluster is left as it was found; `make e2e-nodes` runs it on a freshly booted cluster of
three.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ReleaseFactory, assert_lossless, installed_and_served
from e2e_cluster import Release, is_ready, kubectl, kubectl_json, paths
from e2e_user import AppUser, Load, UserAgent
from localcluster import settings, teardown
from localcluster.settings import Node
from support.live_cluster import localcluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

NODES = 3
REPLICAS = 3
NODE_PORT = 30110
# A lost node's replicas must serve again elsewhere within this: the local cluster's node
# monitor grace and eviction toleration (20 s each, control_plane.py) plus a pod's start.
RECOVERY_LIMIT_SECONDS = 150


def _ready_nodes() -> list[str]:
    nodes = kubectl_json("get", "nodes")["items"]
    return [n["metadata"]["name"] for n in nodes if is_ready(n)]


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[None]:
    """A cluster of three nodes for the module; the extra nodes it had to add go at its end."""
    joined = [Node(n) for n in range(2, NODES + 1) if Node(n).name not in _ready_nodes()]
    if joined:
        result = localcluster("up", f"--nodes={NODES}")
        assert result.returncode == 0, result.stderr[-2000:]
    yield
    for node in joined:
        teardown.remove_extra_node(paths(), node)
        kubectl("delete", "node", node.name, "--ignore-not-found")


@pytest.fixture(scope="module")
def spread(three_nodes: None, new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    """A release with three replicas of each component, on a cluster of three nodes."""
    values = {component: {"replicaCount": REPLICAS} for component in ("backend", "frontend")}
    return installed_and_served(new_release("nodes", NODE_PORT, values=values), user_agent)


def _node_of(pods: list[dict[str, Any]]) -> list[str]:
    return [p["spec"]["nodeName"] for p in pods]


def _extra_node_with(release: Release, component: str) -> Node:
    """An extra node (not the host's own) running one of the component's pods."""
    names = set(_node_of(release.pods(component)))
    for number in range(2, NODES + 1):
        node = Node(number)
        if node.name in names:
            return node
    raise AssertionError(f"no extra node runs a {component} pod: {sorted(names)}")


def node_url(node: Node) -> str:
    """The frontend's NodePort on a node's own address: one of the users' entry points."""
    return f"http://{node.ip}:{NODE_PORT}"


def test_replicas_of_each_component_land_on_different_nodes(spread: Release) -> None:
    for component in ("backend", "frontend"):
        nodes = _node_of(spread.pods(component))
        assert len(nodes) == REPLICAS and len(set(nodes)) == REPLICAS, (component, nodes)
    zones = {
        n["metadata"]["name"]: n["metadata"]["labels"][settings.ZONE_LABEL]
        for n in kubectl_json("get", "nodes")["items"]
    }
    assert sorted(set(zones.values())) == list(settings.ZONES)


@pytest.fixture
def user(spread: Release, user_agent: UserAgent) -> AppUser:
    return AppUser(user_agent, spread.url).sign_up()


def _drain(node: str, timeout: int = 180) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(paths().bin / "kubectl"),
            f"--kubeconfig={paths().kubeconfig}",
            "drain",
            node,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            f"--timeout={timeout}s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_drains_lose_no_request_and_wait_for_the_disruption_budget(
    spread: Release, user: AppUser, figures: dict[str, Any]
) -> None:
    """Two extra nodes drained at once: the budget (maxUnavailable 1) makes the second wait."""
    first, second = Node(2).name, Node(3).name
    try:
        with Load(user, create_every=5) as load:
            time.sleep(2)
            began = time.monotonic()
            drains = [_drain(first), _drain(second)]
            outputs = [drain.communicate(timeout=240)[0] for drain in drains]
            took = time.monotonic() - began
            time.sleep(2)
        assert [d.returncode for d in drains] == [0, 0], outputs
        assert_lossless(load, user, spread)
        # kubectl retries an eviction the API refused because it would breach the budget.
        assert "disruption budget" in "".join(outputs), outputs
        for component in ("backend", "frontend"):
            assert set(_node_of(spread.pods(component))) == {settings.NODE_NAME}
        figures["nodes_drain_two_seconds"] = round(took, 1)
        figures["nodes_drain_failed_requests"] = len(load.failures)
        figures["nodes_drain_requests"] = load.succeeded
    finally:
        kubectl("uncordon", first, second)


def _spread_again(release: Release) -> None:
    """One replica of each component per node again (after a drain moved them all)."""
    for count in (1, REPLICAS):
        release.upgrade({c: {"replicaCount": count} for c in ("backend", "frontend")})
        release.wait_ready("backend", count)
        release.wait_ready("frontend", count)


def _lose(node: Node) -> None:
    """Kill the node's kubelet, kube-proxy, containerd and containers at once; cut its link."""
    for component in settings.NODE_PROCESS_COMPONENTS:
        pid_file = paths().pids / f"{node.process(component)}.pid"
        pid = int(pid_file.read_text().split()[0])
        os.killpg(pid, signal.SIGKILL)
    teardown.kill_containers(paths(), node)
    subprocess.run(["ip", "link", "set", node.host_veth, "down"], check=True)


@pytest.fixture
def lost_node(spread: Release) -> Iterator[Node]:
    """An extra node running a backend pod, brought back (anew) when the test ends."""
    if len(set(_node_of(spread.pods("backend")))) < NODES:
        _spread_again(spread)
    node = _extra_node_with(spread, "backend")
    yield node
    teardown.remove_extra_node(paths(), node)
    kubectl("delete", "node", node.name, "--ignore-not-found")
    result = localcluster("up", f"--nodes={NODES}")
    assert result.returncode == 0, result.stderr[-2000:]


def test_node_loss_recovers_and_users_keep_working_through_another_entry_point(
    spread: Release, user: AppUser, lost_node: Node, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    """The users' traffic comes in on the first node and on a surviving extra node's NodePort.

    The lost node's own entry point goes with it; a client (or a load balancer's health check)
    that moves to another node's keeps working with the same session.
    """
    survivor = next(Node(n) for n in range(2, NODES + 1) if Node(n) != lost_node)
    for node in (lost_node, survivor):
        assert user_agent.request("GET", node_url(node) + "/healthz", timeout=5).status == 200
    elsewhere = AppUser(user_agent, node_url(survivor), email=user.email, cookies=user.cookies)
    with Load(user, create_every=5) as load, Load(elsewhere, workers=2) as other_entry:
        time.sleep(2)
        began = time.monotonic()
        _lose(lost_node)

        def recovered(pods: list[dict[str, Any]]) -> bool:
            serving = [p for p in pods if is_ready(p) and p["spec"]["nodeName"] != lost_node.name]
            return len(serving) == REPLICAS

        spread.wait_pods(
            recovered,
            what=f"{REPLICAS} Ready backends off {lost_node.name}",
            timeout=RECOVERY_LIMIT_SECONDS,
            selector="app.kubernetes.io/component=backend",
        )
        recovery = time.monotonic() - began
        lost_entry = user_agent.request("GET", node_url(lost_node) + "/healthz", timeout=3)
        time.sleep(2)
    failed = load.failures + other_entry.failures
    figures["nodes_loss_recovery_seconds"] = round(recovery, 1)
    figures["nodes_loss_failed_requests"] = len(failed)
    figures["nodes_loss_requests"] = load.succeeded + other_entry.succeeded + len(failed)
    figures["nodes_loss_last_failure_second"] = max((f["at"] for f in failed), default=0)
    print(json.dumps({"recovery": recovery, "failures": failed[:20]}), flush=True)
    assert lost_entry.status != 200
    assert load.succeeded > 20 and other_entry.succeeded > 20
    assert recovery < RECOVERY_LIMIT_SECONDS
