"""Prometheus Operator scraping of both components through their metrics Services: a
ServiceMonitor."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cdk8s import ApiObjectMetadata

import todo_chatbot.monitoring as monitoring
from constructs import Construct

from .labels import COMPONENT, SCRAPED_POD_LABELS, Labels
from .workload import METRICS_PORT_NAME, Workload, metrics_component

METRICS_PATH = "/metrics"
"""Path of the images' metrics on the metrics port (docs/contract.md)."""
COMPONENT_NAME = "metrics"
"""Component label of the monitoring objects (ServiceMonitor, PodMonitor, PrometheusRule)."""
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
"""A Prometheus duration, as the CRDs' schemas check it (`30s`, `1m30s`)."""
_UNIT_SECONDS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


@dataclass(frozen=True, kw_only=True)
class MonitoringObjectProps:
    """Name and labels of a Prometheus Operator object (the monitors, the rule)."""

    labels: Labels = Labels()
    """Standard labels; default: instance "todo-chatbot"."""
    name: str | None = None
    """Object name; default: "<labels.instance>-metrics"."""

    def metadata(self, selected_by: dict[str, str]) -> ApiObjectMetadata:
        """The object's name and labels, with `selected_by`, the labels Prometheus selects."""
        return ApiObjectMetadata(
            name=self.name or f"{self.labels.instance}-metrics",
            labels={**self.labels.of(COMPONENT_NAME), **selected_by},
        )


@dataclass(frozen=True, kw_only=True)
class ScrapeProps(MonitoringObjectProps):
    """How Prometheus scrapes the components' metrics port; shared by both monitor kinds."""

    monitor_labels: dict[str, str] = field(default_factory=dict)
    """Labels of the monitor that Prometheus' monitor selector matches, e.g.
    {"release": "prometheus"}; default: none."""
    interval: str = "30s"
    """Time between two scrapes (a Prometheus duration); default: 30s."""
    scrape_timeout: str = ""
    """Time a scrape may take, at most `interval`; default: Prometheus' global timeout."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        # The pattern takes "" (every part is optional), which only the timeout may be.
        if not self.interval or not DURATION.match(self.interval):
            raise ValueError(f"'interval' must be a duration such as 30s, got '{self.interval}'")
        if not DURATION.match(self.scrape_timeout):
            raise ValueError(
                f"'scrape_timeout' must be a duration such as 30s, got '{self.scrape_timeout}'"
            )
        if self.scrape_timeout and seconds(self.scrape_timeout) > seconds(self.interval):
            raise ValueError(
                f"'scrape_timeout' ({self.scrape_timeout}) must not exceed 'interval' "
                f"({self.interval})"
            )


def seconds(duration: str) -> float:
    """The seconds of a Prometheus duration (`1m30s` -> 90)."""
    return sum(
        int(amount) * _UNIT_SECONDS[unit]
        for amount, unit in re.findall(r"(\d+)(ms|[ywdhms])", duration)
    )


def scrape_selector(components: Sequence[str], props: ScrapeProps) -> dict[str, Any]:
    """What a monitor selects (`spec.selector`): the release's labels but the component, and
    the `components` (`app.kubernetes.io/component In ...`); fails for none."""
    if not components:
        raise ValueError("a monitor needs at least one component to scrape, got none")
    labels = props.labels.selector(components[0])
    del labels[COMPONENT]
    return {
        "match_labels": labels,
        "match_expressions": [{"key": COMPONENT, "operator": "In", "values": list(components)}],
    }


def scrape_endpoint(props: ScrapeProps) -> dict[str, Any]:
    """Where and how often a monitor scrapes: the metrics port's path, interval, timeout."""
    return {
        "port": METRICS_PORT_NAME,
        "path": METRICS_PATH,
        "interval": props.interval,
        "scrape_timeout": props.scrape_timeout or None,
    }


class ServiceMonitor(Construct):
    """Scrapes the targets' metrics Services (by their component label, which the app's
    Services do not carry); child `Resource`.

    Every series gets the pods' instance and component labels
    (`app_kubernetes_io_instance`, `app_kubernetes_io_component`), which the
    `PrometheusRule` groups by.
    """

    def __init__(
        self, scope: Construct, id: str, *, targets: Sequence[Workload], props: ScrapeProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        self.resource = monitoring.ServiceMonitor(
            self,
            "Resource",
            metadata=props.metadata(props.monitor_labels),
            spec=monitoring.ServiceMonitorSpec(
                selector=scrape_selector(
                    [metrics_component(target.component) for target in targets], props
                ),
                pod_target_labels=list(SCRAPED_POD_LABELS),
                endpoints=[monitoring.ServiceMonitorSpecEndpoints(**scrape_endpoint(props))],
            ),
        )
