"""Prometheus Operator scraping of both components' pods directly: a PodMonitor."""

from __future__ import annotations

from collections.abc import Sequence

import todo_chatbot.monitoring as monitoring
from constructs import Construct

from .labels import SCRAPED_POD_LABELS
from .service_monitor import ScrapeProps, scrape_endpoint, scrape_selector
from .workload import Workload


class PodMonitor(Construct):
    """Scrapes the `metrics` port of the targets' pods, for set-ups that watch pods rather
    than Services; the alternative to `ServiceMonitor`, with the same series labels.
    Child `Resource`."""

    def __init__(
        self, scope: Construct, id: str, *, targets: Sequence[Workload], props: ScrapeProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        self.resource = monitoring.PodMonitor(
            self,
            "Resource",
            metadata=props.metadata(props.monitor_labels),
            spec=monitoring.PodMonitorSpec(
                selector=scrape_selector([target.component for target in targets], props),
                pod_target_labels=list(SCRAPED_POD_LABELS),
                pod_metrics_endpoints=[
                    monitoring.PodMonitorSpecPodMetricsEndpoints(**scrape_endpoint(props))
                ],
            ),
        )
