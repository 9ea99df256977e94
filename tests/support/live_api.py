"""The local cluster's API as the live tests use it: one admin client per boot of the cluster.

Objects are read as the API's JSON and waited on with `localcluster.kube.wait_for` (a watch).
Callers put `cluster/` on sys.path first (tests/cluster and tests/e2e conftest do).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from kubernetes import client, config
from localcluster import kube
from localcluster.settings import paths_from_env


def _api() -> Any:
    # A test may stop the cluster and boot a new one (new CA, new certificates): a client is
    # kept only as long as the kubeconfig it was made from.
    kubeconfig = paths_from_env().kubeconfig
    return _api_for(kubeconfig.read_bytes())


@functools.cache
def _api_for(kubeconfig: bytes) -> Any:
    # The local cluster writes its kubeconfig as JSON, certificates embedded.
    return config.new_client_from_config_dict(json.loads(kubeconfig))


def core() -> Any:
    """The core group: pods, events, namespaces, nodes."""
    return client.CoreV1Api(_api())


def apps() -> Any:
    """Deployments and DaemonSets."""
    return client.AppsV1Api(_api())


def networking() -> Any:
    """Ingresses."""
    return client.NetworkingV1Api(_api())


def autoscaling() -> Any:
    """HorizontalPodAutoscalers."""
    return client.AutoscalingV2Api(_api())


def wait_pod_ready(namespace: str, name: str, *, timeout: float = 120) -> dict[str, Any]:
    """Wait on a watch until the pod `name` is Ready; return it."""
    return _wait_pod(
        namespace, name, lambda pod: kube.condition_true(pod, "Ready"), "Ready", timeout
    )


def wait_pod_finished(namespace: str, name: str, *, timeout: float = 120) -> dict[str, Any]:
    """Wait on a watch until the pod `name` has Succeeded or Failed; return it."""
    return _wait_pod(
        namespace,
        name,
        lambda pod: pod["status"].get("phase") in ("Succeeded", "Failed"),
        "finished",
        timeout,
    )


def _wait_pod(
    namespace: str, name: str, state: Callable[[dict[str, Any]], bool], what: str, timeout: float
) -> dict[str, Any]:
    [pod] = kube.wait_for(
        core().list_namespaced_pod,
        lambda pods: len(pods) == 1 and state(pods[0]),
        what=f"pod {namespace}/{name} {what}",
        timeout_seconds=timeout,
        namespace=namespace,
        field_selector=kube.named(name),
    )
    return pod
