"""The local cluster's API as the live tests use it: one admin client for the whole session.

Objects are read as the API's JSON and waited on with `localcluster.kube.wait_for` (a watch).
Callers put `cluster/` on sys.path first (tests/cluster and tests/e2e conftest do).
"""

from __future__ import annotations

import functools
from typing import Any

from kubernetes import client
from localcluster import kube
from localcluster.settings import paths_from_env


@functools.cache
def _api() -> Any:
    return kube.api_client(paths_from_env())


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
