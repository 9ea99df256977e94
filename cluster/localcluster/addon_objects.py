"""The objects the cluster's own add-ons (Traefik, monitoring) are made of, the same for each.

Each add-on has its namespace under the `restricted` Pod Security profile, a service account per
workload bound to the ClusterRole of the same name, and containers that can neither escalate nor
write their root filesystem.
"""

from __future__ import annotations

from collections.abc import Mapping

from .release import POD_SECURITY_LABELS

# What a container of an add-on may do: nothing beyond running its binary.
LOCKED_DOWN_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def restricted_namespace(name: str, labels: dict[str, str]) -> dict[str, object]:
    """The add-on's Namespace, where only pods of the `restricted` profile are admitted."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**labels, **POD_SECURITY_LABELS}},
    }


def service_account(name: str, namespace: str, labels: dict[str, str]) -> dict[str, object]:
    """A workload's ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }


def cluster_role_binding(name: str, namespace: str, labels: dict[str, str]) -> dict[str, object]:
    """Bind the ClusterRole `name` to the service account of the same name in `namespace`."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }


READ = ["get", "list", "watch"]
"""The verbs of a rule that only reads."""


def cluster_role(
    name: str, labels: dict[str, str], rules: list[dict[str, object]]
) -> dict[str, object]:
    """The ClusterRole `name`: what the workload of the same name may do (`rules`)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": rules,
    }


def one_replica_deployment(
    name: str,
    namespace: str,
    labels: dict[str, str],
    pod: Mapping[str, object],
    *,
    strategy: dict[str, object] | None = None,
) -> dict[str, object]:
    """One replica of the workload `name`, run as the service account of the same name.

    `pod` is the rest of its pod spec; `strategy`, when given, the Deployment's update strategy.
    """
    spec: dict[str, object] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
    }
    if strategy is not None:
        spec["strategy"] = strategy
    spec["template"] = {
        "metadata": {"labels": labels},
        "spec": {"serviceAccountName": name, **pod},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }
