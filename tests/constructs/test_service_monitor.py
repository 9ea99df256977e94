"""The ServiceMonitor scrapes both components' metrics Services, and no other Service."""

import pytest
from support import k8s_schema
from support.manifests import by_kind, selected
from todo_chatbot import FrontendProps, ScrapeProps
from todo_chatbot.labels import series_label
from todo_chatbot.service_monitor import DURATION, seconds


@pytest.mark.parametrize("service_type", ["ClusterIP", "NodePort", "LoadBalancer"])
def test_selects_the_metrics_services_only(synth_app, service_type):
    frontend = FrontendProps(image="registry.example/todo/frontend:1.0", service_type=service_type)
    manifests = synth_app(service_monitor=ScrapeProps(), frontend=frontend)
    monitor = by_kind(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    chosen = selected(manifests, "Service", monitor["spec"]["selector"])
    # The app's Services would be targets without a metrics port: useless ones.
    assert sorted(chosen) == ["todo-chatbot-backend-metrics", "todo-chatbot-frontend-metrics"]
    for name in chosen:
        ports = by_kind(manifests, "Service", name)["spec"]["ports"]
        assert [port["name"] for port in ports] == ["metrics"]
    assert monitor["spec"]["endpoints"] == [
        {"interval": "30s", "path": "/metrics", "port": "metrics"}
    ]
    assert "namespaceSelector" not in monitor["spec"]


def test_series_carry_the_labels_the_rules_group_by(synth_app):
    monitor = by_kind(synth_app(service_monitor=ScrapeProps()), "ServiceMonitor")
    copied = {series_label(label) for label in monitor["spec"]["podTargetLabels"]}
    assert copied == {"app_kubernetes_io_instance", "app_kubernetes_io_component"}


def test_monitor_labels_interval_and_timeout(synth_app):
    props = ScrapeProps(
        monitor_labels={"release": "prometheus"}, interval="1m", scrape_timeout="15s"
    )
    monitor = by_kind(synth_app(service_monitor=props), "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["metadata"]["name"] == "todo-chatbot-metrics"
    assert monitor["spec"]["endpoints"][0]["interval"] == "1m"
    assert monitor["spec"]["endpoints"][0]["scrapeTimeout"] == "15s"


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
def test_matches_the_crd_schema(synth_app, version):
    props = ScrapeProps(monitor_labels={"release": "prometheus"}, scrape_timeout="10s")
    monitor = by_kind(synth_app(service_monitor=props), "ServiceMonitor")
    assert k8s_schema.errors(monitor, version) == []


def test_durations_in_seconds():
    assert [seconds(d) for d in ("30s", "1m30s", "1h", "500ms")] == [30, 90, 3600, 0.5]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (ScrapeProps(interval="30"), "'interval' must be a duration such as 30s, got '30'"),
        (ScrapeProps(interval=""), "'interval' must be a duration such as 30s, got ''"),
        (
            ScrapeProps(scrape_timeout="half"),
            "'scrape_timeout' must be a duration such as 30s, got 'half'",
        ),
        (
            ScrapeProps(interval="10s", scrape_timeout="1m"),
            r"'scrape_timeout' \(1m\) must not exceed 'interval' \(10s\)",
        ),
    ],
)
def test_fails_when_props_are_invalid(synth_app, props, message):
    with pytest.raises(ValueError, match=message):
        synth_app(service_monitor=props)


def test_fails_with_a_pod_monitor_too(synth_app):
    with pytest.raises(ValueError, match="would scrape every pod twice; set one, got both"):
        synth_app(service_monitor=ScrapeProps(), pod_monitor=ScrapeProps())


def test_the_duration_pattern_is_the_crds():
    crd = k8s_schema.MONITORING_CRDS / "monitoring.coreos.com_servicemonitors.yaml"
    assert f"pattern: {DURATION.pattern}\n" in crd.read_text()
