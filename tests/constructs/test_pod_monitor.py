"""The PodMonitor, the ServiceMonitor's alternative, scrapes the same pods the same way."""

import pytest
from support import k8s_schema
from support.manifests import by_kind
from todo_chatbot import ScrapeProps


def test_selects_both_components_pods_by_their_metrics_port(synth_app):
    manifests = synth_app(pod_monitor=ScrapeProps(interval="15s"))
    monitor = by_kind(manifests, "PodMonitor")
    selector = monitor["spec"]["selector"]
    for component in ("backend", "frontend"):
        pod = by_kind(manifests, "Deployment", f"todo-chatbot-{component}")["spec"]["template"]
        assert selector["matchLabels"].items() <= pod["metadata"]["labels"].items()
        assert component in selector["matchExpressions"][0]["values"]
        ports = [port.get("name") for port in pod["spec"]["containers"][0]["ports"]]
        assert "metrics" in ports
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"interval": "15s", "path": "/metrics", "port": "metrics"}
    ]
    assert by_kind(manifests, "PodMonitor") and not [
        m for m in manifests if m["kind"] == "ServiceMonitor"
    ]


def test_series_carry_the_same_labels_as_the_service_monitors(synth_app):
    pods = by_kind(synth_app(pod_monitor=ScrapeProps()), "PodMonitor")
    services = by_kind(synth_app(service_monitor=ScrapeProps()), "ServiceMonitor")
    assert pods["spec"]["podTargetLabels"] == services["spec"]["podTargetLabels"]


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
def test_matches_the_crd_schema(synth_app, version):
    props = ScrapeProps(monitor_labels={"release": "prometheus"}, scrape_timeout="10s")
    assert k8s_schema.errors(by_kind(synth_app(pod_monitor=props), "PodMonitor"), version) == []


def test_fails_when_props_are_invalid(synth_app):
    with pytest.raises(ValueError, match="'interval' must be a duration such as 30s, got '5'"):
        synth_app(pod_monitor=ScrapeProps(interval="5"))
