"""The standard `app.kubernetes.io/*` labels, built in one place."""

from __future__ import annotations

from dataclasses import dataclass

PART_OF = "todo-chatbot"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
SCRAPED_POD_LABELS = (INSTANCE, COMPONENT)
"""Pod labels the monitors copy onto every scraped series, which the rules group by."""


def series_label(label: str) -> str:
    """The name Prometheus gives a copied pod label (invalid characters become `_`).

    `app.kubernetes.io/component` -> `app_kubernetes_io_component`.
    """
    return "".join(char if char.isalnum() or char == "_" else "_" for char in label)


@dataclass(frozen=True, kw_only=True)
class Labels:
    """Who an object belongs to: the values of the recommended Kubernetes labels.

    `instance` names the installation (the Helm release), so two installations
    in one namespace select only their own pods.
    """

    name: str = PART_OF
    """App name in `app.kubernetes.io/name`; default: "todo-chatbot"."""
    instance: str = "todo-chatbot"
    """Installation name in `app.kubernetes.io/instance`, part of every selector and the
    prefix of default object names; default: "todo-chatbot"."""
    version: str = "0.0.0"
    """App version in `app.kubernetes.io/version` (not in selectors, so it may change on
    upgrade); default: "0.0.0", so set it to the images' version."""
    managed_by: str = "cdk8s"
    """Tool in `app.kubernetes.io/managed-by`; default: "cdk8s" (the Helm chart sets "Helm")."""
    chart: str | None = None
    """`helm.sh/chart` label (name-version); default: no such label."""

    def selector(self, component: str) -> dict[str, str]:
        """Labels that select the pods of one component; stable across upgrades."""
        return {
            "app.kubernetes.io/name": self.name,
            INSTANCE: self.instance,
            COMPONENT: component,
        }

    def of(self, component: str) -> dict[str, str]:
        """Every standard label of an object of one component."""
        labels = {
            **self.selector(component),
            "app.kubernetes.io/version": self.version,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": self.managed_by,
        }
        if self.chart is not None:
            labels["helm.sh/chart"] = self.chart
        return labels
