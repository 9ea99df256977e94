"""The local cluster's Kubernetes API through the official client, and the one way to wait on it.

`wait_for` is what the cluster's steps, the live tests and the benchmark use to wait until
objects of a kind reach a state: one list, then a watch from that list's resourceVersion, so a
change is seen when the apiserver reports it instead of at a poll's next tick, and no process
is started per check. Objects are handled as the API's JSON (what `kubectl get -o json` prints),
so a condition reads the same fields for every kind, custom resources included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from .errors import ClusterError
from .progress import heartbeat, say
from .settings import Paths

Object = dict[str, Any]
# The watch is asked to end after at most this long and is then resumed from the last version
# seen, so a connection the apiserver dropped without a word costs at most this much.
WATCH_SLICE_SECONDS = 30
_GONE = 410


def api_client(paths: Paths) -> client.ApiClient:
    """A client of the local cluster's apiserver as its admin ($STATE/kubeconfig); close it."""
    return config.new_client_from_config(config_file=str(paths.kubeconfig))


def list_objects(list_function: Callable[..., Any], **query: Any) -> tuple[list[Object], str]:
    """The objects a `list_*` function of the client returns, as JSON, and the list's version."""
    response = list_function(**query, _preload_content=False)
    listing = json.loads(response.data)
    return listing["items"], listing["metadata"]["resourceVersion"]


def wait_for(
    list_function: Callable[..., Any],
    condition: Callable[[list[Object]], bool],
    *,
    what: str,
    timeout_seconds: float,
    **query: Any,
) -> list[Object]:
    """Wait until `condition` holds for the objects `list_function(**query)` lists; return them.

    `list_function` is a `list_*` method of the client (`CoreV1Api(api).list_namespaced_pod`),
    `query` its arguments (`namespace=`, `label_selector=`, `field_selector="metadata.name=x"`).
    The objects come in name order. A watch that ends is resumed from the last version seen; one
    whose version has expired (410 Gone) starts again from a new list. Past `timeout_seconds`,
    one deadline for all of it, raise TimeoutError naming `what` and the objects' last state.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        items, version = list_objects(list_function, **query)
        objects = {_key(item): item for item in items}
        try:
            while True:
                current = [objects[key] for key in sorted(objects)]
                if condition(current):
                    return current
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{what}: not within {timeout_seconds:.0f}s ({_brief(current)})"
                    )
                events = watch.Watch().stream(
                    list_function,
                    **query,
                    resource_version=version,
                    timeout_seconds=max(1, int(min(remaining, WATCH_SLICE_SECONDS))),
                    _request_timeout=min(remaining, WATCH_SLICE_SECONDS) + 5,
                )
                for event in events:
                    item = event["raw_object"]
                    version = item["metadata"]["resourceVersion"]
                    if event["type"] == "DELETED":
                        objects.pop(_key(item), None)
                    else:
                        objects[_key(item)] = item
                    current = [objects[key] for key in sorted(objects)]
                    if condition(current):
                        return current
                    if time.monotonic() > deadline:
                        break
        except ApiException as error:
            if error.status != _GONE:
                raise


def condition_true(obj: Object, kind: str) -> bool:
    """Whether the object's status condition `kind` (Ready, Established, Programmed) is True."""
    conditions = obj.get("status", {}).get("conditions") or []
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def rolled_out(obj: Object) -> bool:
    """Whether a Deployment or DaemonSet has rolled out, as `kubectl rollout status` decides.

    The controller has seen the newest spec, every wanted replica runs it and is available,
    and no old one is left.
    """
    spec, status = obj["spec"], obj.get("status", {})
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        return False
    # List items carry no `kind`; a DaemonSet's status always has this field, a Deployment's never.
    if "desiredNumberScheduled" in status:
        wanted = status["desiredNumberScheduled"]
        return bool(
            status.get("updatedNumberScheduled", 0) >= wanted
            and status.get("numberAvailable", 0) >= wanted
        )
    updated = status.get("updatedReplicas", 0)
    return bool(
        updated >= spec.get("replicas", 1)
        and status.get("replicas", 0) <= updated
        and status.get("availableReplicas", 0) >= updated
    )


def named(name: str) -> str:
    """The field selector of the one object called `name` (for `wait_for` on a single object)."""
    return f"metadata.name={name}"


def _key(obj: Object) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _brief(objects: list[Object]) -> str:
    """The objects' names and status conditions, for a timeout's message."""
    if not objects:
        return "none exist"
    return "; ".join(
        f"{obj['metadata']['name']}: "
        + ", ".join(
            f"{c['type']}={c['status']}" for c in obj.get("status", {}).get("conditions") or []
        )
        for obj in objects[:5]
    )


# How long a workload of the cluster (an add-on, the ingress controller) may take to roll out.
ROLLOUT_TIMEOUT_SECONDS = 180


def wait_rolled_out(paths: Paths, namespace: str, kind: str, name: str, *, look: str) -> None:
    """Wait until the Deployment or DaemonSet (`kind`) `name` has rolled out, with a heartbeat.

    On a timeout raise ClusterError naming it, with `look`: what to run to see why.
    """
    workload = f"{kind.lower()}/{name}"
    apps = client.AppsV1Api
    with api_client(paths) as api:
        list_function = {
            "deployment": apps(api).list_namespaced_deployment,
            "daemonset": apps(api).list_namespaced_daemon_set,
        }[kind.lower()]
        say(f"waiting for {workload} in {namespace}")
        with heartbeat(workload):
            wait_in_cluster(
                list_function,
                lambda objects: len(objects) == 1 and rolled_out(objects[0]),
                what=workload,
                timeout_seconds=ROLLOUT_TIMEOUT_SECONDS,
                look=look,
                namespace=namespace,
                field_selector=named(name),
            )


def wait_in_cluster(
    list_function: Callable[..., Any],
    condition: Callable[[list[Object]], bool],
    *,
    what: str,
    timeout_seconds: float,
    look: str,
    **query: Any,
) -> None:
    """`wait_for`, failing `up` with a ClusterError that says what to look at (`look`)."""
    try:
        wait_for(list_function, condition, what=what, timeout_seconds=timeout_seconds, **query)
    except TimeoutError as error:
        raise ClusterError(f"{error}: {look}") from None
