"""The service level signals and a few alerts, for the Prometheus Operator: a PrometheusRule.

The rules read the images' metrics (docs/contract.md: `http_requests_total{route,method,
status}`, `http_request_duration_seconds{route,status_class}`, `process_start_time_seconds`)
as the monitors label them: per pod with `app_kubernetes_io_instance` and
`app_kubernetes_io_component` (`SCRAPED_POD_LABELS`). Availability is the share of requests
answered without a 5xx, per component, which is what SC-002's 99.9 % is measured by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import todo_chatbot.monitoring as monitoring
from constructs import Construct

from .labels import INSTANCE, SCRAPED_POD_LABELS, series_label
from .service_monitor import MonitoringObjectProps

WINDOWS = ("5m", "1h", "1d", "30d")
"""Windows of the error ratio and availability: the burn-rate alerts' and the 30-day SLO's."""
QUANTILES = (0.5, 0.95, 0.99)
"""Latency quantiles recorded from the histogram."""
RECORD_PREFIX = "todo_chatbot"
"""First part of every recorded series' name (Prometheus' `level:metric:operations`)."""
FAST_BURN = 14.4
"""Burn rate that spends 2 % of a 30-day budget in an hour (Google's SRE workbook): page."""
SLOW_BURN = 3
"""Burn rate that spends 10 % of a 30-day budget in a day: a ticket."""


@dataclass(frozen=True, kw_only=True)
class PrometheusRuleProps(MonitoringObjectProps):
    """The recording and alerting rules of one installation."""

    rule_labels: dict[str, str] = field(default_factory=dict)
    """Labels of the PrometheusRule that Prometheus' rule selector matches, e.g.
    {"release": "prometheus"}; default: none."""
    namespace: str | None = None
    """Namespace of the pods, matched in every rule besides the instance; default: any (two
    installations of one name in two namespaces then share their signals)."""
    availability_objective: float = 0.999
    """Share of requests answered without a 5xx that the burn-rate alerts defend, over 30
    days; default: 0.999 (SC-002)."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        if not 0 < self.availability_objective < 1:
            raise ValueError(
                f"'availability_objective' must be between 0 and 1, got "
                f"{self.availability_objective}"
            )


def record_name(signal: str, window: str) -> str:
    """The name of a recorded series, e.g. `todo_chatbot:availability:ratio_rate30d`."""
    return f"{RECORD_PREFIX}:{signal}:{window}"


def error_budget(objective: object) -> str:
    """The share of requests that may fail, as PromQL: `(1 - 0.999)`."""
    return f"(1 - {objective})"


def rule_groups(props: PrometheusRuleProps) -> list[dict[str, Any]]:
    """The rule groups, as the PrometheusRule's `spec.groups` JSON."""
    # Single quotes: PromQL takes them, and the chart's template strings cannot hold `"`.
    matchers = f"{series_label(INSTANCE)}='{props.labels.instance}'"
    if props.namespace is not None:
        matchers = f"namespace='{props.namespace}',{matchers}"
    by = ", ".join(["namespace", *(series_label(label) for label in SCRAPED_POD_LABELS)])

    def errors_of(window: str) -> str:
        # The recorded series of this installation only: others record the same names.
        return f"{record_name('http_request_errors', f'ratio_rate{window}')}{{{matchers}}}"

    def rate(selector: str, window: str) -> str:
        return f"sum by ({by}) (rate(http_requests_total{{{selector}}}[{window}]))"

    records: list[dict[str, Any]] = [
        {"record": record_name("http_requests", "rate5m"), "expr": rate(matchers, "5m")}
    ]
    for window in WINDOWS:
        errors = rate(f"{matchers},status=~'5..'", window)
        # `or ... * 0`: with no 5xx series yet the ratio is 0, not missing.
        records.append(
            {
                "record": record_name("http_request_errors", f"ratio_rate{window}"),
                "expr": f"({errors} or {rate(matchers, window)} * 0) / {rate(matchers, window)}",
            }
        )
        records.append(
            {
                "record": record_name("availability", f"ratio_rate{window}"),
                "expr": f"1 - {errors_of(window)}",
            }
        )
    for quantile in QUANTILES:
        # Answers that worked only: a fast 404 or a slow 504 would blur them.
        buckets = f"http_request_duration_seconds_bucket{{{matchers},status_class='2xx'}}"
        records.append(
            {
                "record": record_name(
                    "http_request_duration_seconds", f"p{round(quantile * 100)}_5m"
                ),
                "expr": f"histogram_quantile({quantile}, sum by ({by}, le) (rate({buckets}[5m])))",
            }
        )

    budget = error_budget(props.availability_objective)

    def burning(long: str, short: str, rate_factor: float) -> str:
        return " and ".join(
            f"{errors_of(window)} > ({rate_factor} * {budget})" for window in (long, short)
        )

    alerts: list[dict[str, Any]] = [
        {
            "alert": "TodoChatbotErrorBudgetFastBurn",
            "expr": burning("1h", "5m", FAST_BURN),
            "for": "2m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "A component answers so many 5xx that its 30-day error budget "
                "is gone in about 2 days.",
            },
        },
        {
            "alert": "TodoChatbotErrorBudgetSlowBurn",
            "expr": burning("1d", "1h", SLOW_BURN),
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "A component spends its 30-day error budget 3 times too fast.",
            },
        },
        {
            "alert": "TodoChatbotRestarts",
            # A container restarted in its pod: the same series, a new start time.
            "expr": f"changes(process_start_time_seconds{{{matchers}}}[15m]) > 0",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "A pod's container restarted in the last 15 minutes.",
            },
        },
        {
            "alert": "TodoChatbotTargetDown",
            "expr": f"up{{{matchers}}} == 0",
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Prometheus has not scraped a pod for 5 minutes.",
            },
        },
    ]
    return [
        {"name": f"{RECORD_PREFIX}.slo", "rules": records},
        {"name": f"{RECORD_PREFIX}.alerts", "rules": alerts},
    ]


class PrometheusRule(Construct):
    """Request rate, error ratio, latency quantiles and availability per component, with
    burn-rate, restart and scrape alerts; child `Resource`."""

    def __init__(self, scope: Construct, id: str, *, props: PrometheusRuleProps) -> None:
        super().__init__(scope, id)
        props.validate()
        self.resource = monitoring.PrometheusRule(
            self,
            "Resource",
            metadata=props.metadata(props.rule_labels),
            spec=monitoring.PrometheusRuleSpec(
                groups=[
                    monitoring.PrometheusRuleSpecGroups(
                        name=group["name"],
                        rules=[_rule(rule) for rule in group["rules"]],
                    )
                    for group in rule_groups(props)
                ]
            ),
        )


def _rule(rule: dict[str, Any]) -> monitoring.PrometheusRuleSpecGroupsRules:
    return monitoring.PrometheusRuleSpecGroupsRules(
        expr=monitoring.PrometheusRuleSpecGroupsRulesExpr.from_string(rule["expr"]),
        record=rule.get("record"),
        alert=rule.get("alert"),
        for_=rule.get("for"),
        labels=rule.get("labels"),
        annotations=rule.get("annotations"),
    )
