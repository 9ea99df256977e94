"""Prometheus Operator scraping of both components' pods directly: a PodMonitor."""

from __future__ import annotations

from collections.abc import Sequence

import todo_chatbot.monitoring as monitoring
from constructs import Construct

from .labels import COMPONENT, SCRAPED_POD_LABELS
from .service_monitor import (
    METRICS_PATH,
    ScrapeProps,
    scrape_metadata,
    target_selector,
)
from .workload import METRICS_PORT_NAME, Workload


class PodMonitor(Construct):
    """Scrapes the `metrics` port of the targets' pods, for set-ups that watch pods rather
    than Services; the alternative to `ServiceMonitor`, with the same series labels.
    Child `Resource`."""

    def __init__(
        self, scope: Construct, id: str, *, targets: Sequence[Workload], props: ScrapeProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        selector, components = target_selector(targets, props)
        self.resource = monitoring.PodMonitor(
            self,
            "Resource",
            metadata=scrape_metadata(props),
            spec=monitoring.PodMonitorSpec(
                selector=monitoring.PodMonitorSpecSelector(
                    match_labels=selector,
                    match_expressions=[
                        monitoring.PodMonitorSpecSelectorMatchExpressions(
                            key=COMPONENT, operator="In", values=components
                        )
                    ],
                ),
                pod_target_labels=list(SCRAPED_POD_LABELS),
                pod_metrics_endpoints=[
                    monitoring.PodMonitorSpecPodMetricsEndpoints(
                        port=METRICS_PORT_NAME,
                        path=METRICS_PATH,
                        interval=props.interval,
                        scrape_timeout=props.scrape_timeout or None,
                    )
                ],
            ),
        )
