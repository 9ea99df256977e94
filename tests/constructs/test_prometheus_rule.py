"""The PrometheusRule: the SLO signals per component, from the images' real metrics."""

import re

import promql_parser
import pytest
from support import k8s_schema
from support.manifests import by_kind
from todo_chatbot import PrometheusRuleProps
from todo_chatbot.prometheus_rule import WINDOWS, record_name
from todo_common.web import AppMetrics


def rules_of(synth_app, **props):
    rule = by_kind(synth_app(prometheus_rule=PrometheusRuleProps(**props)), "PrometheusRule")
    return [item for group in rule["spec"]["groups"] for item in group["rules"]]


def test_every_expression_is_valid_promql(synth_app):
    for rule in rules_of(synth_app, namespace="todo"):
        promql_parser.parse(rule["expr"])


def test_the_parser_refuses_broken_promql():
    with pytest.raises(ValueError):
        promql_parser.parse("sum by (a (rate(x[5m]))")


def test_reads_only_metrics_the_images_serve(synth_app):
    metrics = AppMetrics()
    metrics.observe(route="/x", method="GET", status=200, seconds=0.1)
    served = set(re.findall(r"^([a-z_]+)[{ ]", metrics.render().decode(), re.MULTILINE))
    recorded = {rule["record"] for rule in rules_of(synth_app) if "record" in rule}
    for rule in rules_of(synth_app):
        for name in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", rule["expr"]):
            assert name in served | recorded | {"up"}, name


def test_records_rate_errors_latency_and_availability_per_component(synth_app):
    records = {rule["record"]: rule["expr"] for rule in rules_of(synth_app) if "record" in rule}
    assert record_name("http_requests", "rate5m") in records
    for window in WINDOWS:
        assert (
            f"1 - {record_name('http_request_errors', f'ratio_rate{window}')}"
            in records[record_name("availability", f"ratio_rate{window}")]
        )
    for quantile in ("p50", "p95", "p99"):
        expr = records[record_name("http_request_duration_seconds", f"{quantile}_5m")]
        assert "http_request_duration_seconds_bucket" in expr and "status_class='2xx'" in expr
    assert {"30d", "1d", "1h", "5m"} <= set(WINDOWS)
    for expr in records.values():
        assert "app_kubernetes_io_instance='todo-chatbot'" in expr


def test_every_rule_is_scoped_to_the_installation_and_namespace(synth_app):
    for rule in rules_of(synth_app, namespace="todo"):
        assert "namespace='todo',app_kubernetes_io_instance='todo-chatbot'" in rule["expr"]


def test_alerts_defend_the_objective(synth_app):
    rules = rules_of(synth_app, availability_objective=0.99)
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert set(alerts) == {
        "TodoChatbotErrorBudgetFastBurn",
        "TodoChatbotErrorBudgetSlowBurn",
        "TodoChatbotRestarts",
        "TodoChatbotTargetDown",
    }
    assert "(14.4 * (1 - 0.99))" in alerts["TodoChatbotErrorBudgetFastBurn"]["expr"]
    assert alerts["TodoChatbotErrorBudgetFastBurn"]["labels"] == {"severity": "critical"}
    assert "process_start_time_seconds" in alerts["TodoChatbotRestarts"]["expr"]


def test_rule_labels(synth_app):
    props = PrometheusRuleProps(rule_labels={"release": "prometheus"})
    rule = by_kind(synth_app(prometheus_rule=props), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    assert rule["metadata"]["labels"]["app.kubernetes.io/component"] == "metrics"


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
def test_matches_the_crd_schema(synth_app, version):
    rule = by_kind(synth_app(prometheus_rule=PrometheusRuleProps()), "PrometheusRule")
    assert k8s_schema.errors(rule, version) == []


@pytest.mark.parametrize("objective", [0, 1, 99.9])
def test_fails_when_the_objective_is_not_a_share(synth_app, objective):
    with pytest.raises(
        ValueError, match=f"'availability_objective' must be between 0 and 1, got {objective}"
    ):
        synth_app(prometheus_rule=PrometheusRuleProps(availability_objective=objective))
