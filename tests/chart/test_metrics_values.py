"""metrics.*: the metrics port and Services, the Prometheus Operator's objects, annotations,
the scraper."""

import promql_parser
import pytest
from support import k8s_schema
from support.manifests import all_of, by_kind, container, selected
from test_bad_input import refused
from test_own_image_values import notes_of
from todo_chatbot.service_monitor import DURATION
from todo_chatbot.workload import METRICS_PORT

MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
ALL_ON = {
    "enabled": True,
    "annotations": True,
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
}


def metrics_services_and_pods(manifests):
    for component in ("backend", "frontend"):
        yield (
            component,
            by_kind(manifests, "Service", f"todo-todo-chatbot-{component}-metrics"),
            by_kind(manifests, "Deployment", f"todo-todo-chatbot-{component}"),
        )


def metrics_services(manifests):
    return [m for m in all_of(manifests, "Service") if m["metadata"]["name"].endswith("-metrics")]


def test_every_pod_has_a_metrics_port_and_no_service_carries_it_by_default(render):
    manifests = render()
    for component in ("backend", "frontend"):
        deployment = by_kind(manifests, "Deployment", f"todo-todo-chatbot-{component}")
        assert {"containerPort": METRICS_PORT, "name": "metrics"} in container(deployment)["ports"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert not [key for key in annotations if key.startswith("prometheus.io/")]
    assert [
        [port["name"] for port in service["spec"]["ports"]]
        for service in all_of(manifests, "Service")
    ] == [["http"], ["http"]]
    assert not [m for m in manifests if m["kind"] in MONITORING_KINDS]


def test_monitors_and_metrics_services_need_metrics_enabled(render):
    values = {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}
    manifests = render({"metrics": {**values, "annotations": True}})
    assert not [m for m in manifests if m["kind"] in MONITORING_KINDS]
    assert metrics_services(manifests) == []


@pytest.mark.parametrize("service_type", ["ClusterIP", "NodePort", "LoadBalancer"])
def test_each_component_has_a_headless_metrics_service_whatever_the_service_type(
    render, service_type
):
    values = {"metrics": {"enabled": True}, "frontend": {"service": {"type": service_type}}}
    manifests = render(values)
    for component, service, deployment in metrics_services_and_pods(manifests):
        assert service["metadata"]["labels"]["app.kubernetes.io/component"] == (
            f"{component}-metrics"
        )
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["ports"] == [
            {"name": "metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT}
        ]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        app = by_kind(manifests, "Service", f"todo-todo-chatbot-{component}")
        assert [port["name"] for port in app["spec"]["ports"]] == ["http"]


def test_no_route_reaches_the_metrics_port(render):
    values = {
        "metrics": ALL_ON,
        "backend": {"publicPath": "/api"},
        "networkPolicy": {"ingressNamespace": "ingress-nginx"},
        "ingress": {"enabled": True},
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "public"}]},
    }
    manifests = render(values)
    ingress_ports = [
        path["backend"]["service"]["port"]["number"]
        for rule in by_kind(manifests, "Ingress")["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    route_ports = [
        ref["port"]
        for rule in by_kind(manifests, "HTTPRoute")["spec"]["rules"]
        for ref in rule["backendRefs"]
    ]
    assert ingress_ports and route_ports
    assert METRICS_PORT not in ingress_ports + route_ports


def test_service_monitor(render):
    monitor_values = {
        "enabled": True,
        "namespace": "monitoring",
        "interval": "1m",
        "scrapeTimeout": "20s",
        "labels": {"release": "prometheus"},
    }
    manifests = render({"metrics": {"enabled": True, "serviceMonitor": monitor_values}})
    monitor = by_kind(manifests, "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["default"]}
    assert monitor["spec"]["endpoints"] == [
        {"interval": "1m", "path": "/metrics", "port": "metrics", "scrapeTimeout": "20s"}
    ]
    assert sorted(selected(manifests, "Service", monitor["spec"]["selector"])) == [
        "todo-todo-chatbot-backend-metrics",
        "todo-todo-chatbot-frontend-metrics",
    ]
    assert all_of(manifests, "PodMonitor") == []


def test_service_monitor_in_the_releases_namespace_by_default(render):
    monitor = by_kind(
        render({"metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}}),
        "ServiceMonitor",
    )
    assert "namespace" not in monitor["metadata"]
    assert "namespaceSelector" not in monitor["spec"]
    assert "scrapeTimeout" not in monitor["spec"]["endpoints"][0]


def test_pod_monitor_instead(render):
    values = {"enabled": True, "podMonitor": {"enabled": True, "labels": {"team": "ops"}}}
    manifests = render({"metrics": values})
    monitor = by_kind(manifests, "PodMonitor")
    assert monitor["metadata"]["labels"]["team"] == "ops"
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    for _, _, deployment in metrics_services_and_pods(manifests):
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert all_of(manifests, "ServiceMonitor") == []


def test_prometheus_rule_reads_the_releases_series(render):
    manifests = render(
        {"metrics": {"enabled": True, "prometheusRule": {"enabled": True, "labels": {"a": "b"}}}},
        release="blue",
    )
    rule = by_kind(manifests, "PrometheusRule")
    assert rule["metadata"]["labels"]["a"] == "b"
    expressions = [item["expr"] for group in rule["spec"]["groups"] for item in group["rules"]]
    for expression in expressions:
        promql_parser.parse(expression)
        assert "namespace='default',app_kubernetes_io_instance='blue'" in expression


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("monitor", ["serviceMonitor", "podMonitor"])
def test_monitoring_objects_match_their_crds(render, version, monitor):
    values = {**ALL_ON, "serviceMonitor": {}, monitor: {"enabled": True, "scrapeTimeout": "5s"}}
    manifests = render({"metrics": values})
    monitoring = [m for m in manifests if m["kind"] in MONITORING_KINDS]
    assert len(monitoring) == 2
    assert [problem for m in monitoring for problem in k8s_schema.errors(m, version)] == []


def test_annotations_name_each_components_metrics_port(render):
    values = {"metrics": {"enabled": True, "annotations": True}}
    manifests = render({**values, "backend": {"containerPorts": {"metrics": 9100}}})
    ports = {}
    for component, service, deployment in metrics_services_and_pods(manifests):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        ports[component] = annotations["prometheus.io/port"]
        (metrics,) = service["spec"]["ports"]
        assert str(metrics["port"]) == str(metrics["targetPort"]) == ports[component]
    assert ports == {"backend": "9100", "frontend": str(METRICS_PORT)}


def test_the_metrics_namespace_reaches_the_metrics_port_only(render):
    manifests = render(
        {
            "networkPolicy": {"metricsNamespace": "monitoring"},
            "frontend": {"containerPorts": {"metrics": 9200}},
        }
    )
    for component, port in (("backend", METRICS_PORT), ("frontend", 9200)):
        policy = by_kind(manifests, "NetworkPolicy", f"todo-todo-chatbot-{component}")
        scraper = policy["spec"]["ingress"][-1]
        assert scraper == {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
            "ports": [{"port": port, "protocol": "TCP"}],
        }
    default_rules = [
        rule
        for component in ("backend", "frontend")
        for rule in by_kind(render(), "NetworkPolicy", f"todo-todo-chatbot-{component}")["spec"][
            "ingress"
        ]
    ]
    assert METRICS_PORT not in [port["port"] for rule in default_rules for port in rule["ports"]]


def test_fails_when_both_monitors_are_enabled(render):
    values = {"metrics": {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}}
    assert (
        "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled would scrape every pod "
        "twice: enable one" in refused(render, values)
    )


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_an_exposed_frontend_gives_the_metrics_port_no_node_port(render, service_type):
    values = {
        "frontend": {"service": {"type": service_type, "nodePort": 30080}},
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
    }
    manifests = render(values)
    frontend = by_kind(manifests, "Service", "todo-todo-chatbot-frontend")
    assert [port["name"] for port in frontend["spec"]["ports"]] == ["http"]
    # Only a NodePort or LoadBalancer Service opens ports on the nodes; none holds the metrics
    # port.
    exposed = [
        port
        for service in all_of(manifests, "Service")
        if service["spec"]["type"] != "ClusterIP"
        for port in service["spec"]["ports"]
    ]
    assert [port["name"] for port in exposed] == ["http"]
    assert METRICS_PORT not in {port.get("targetPort") for port in exposed}


def test_the_service_monitor_scrapes_a_node_port_frontend(render):
    values = {
        "frontend": {"service": {"type": "NodePort"}},
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
    }
    manifests = render(values)
    monitor = by_kind(manifests, "ServiceMonitor")
    assert sorted(selected(manifests, "Service", monitor["spec"]["selector"])) == [
        "todo-todo-chatbot-backend-metrics",
        "todo-todo-chatbot-frontend-metrics",
    ]
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_fails_when_the_metrics_port_is_the_app_port(render):
    assert (
        "frontend.containerPorts.metrics (3000) must differ from containerPorts.http: /metrics "
        "is served apart from the app"
        in refused(render, {"frontend": {"containerPorts": {"metrics": 3000}}})
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"metrics": {"serviceMonitor": {"interval": "30"}}},
            f"at '/metrics/serviceMonitor/interval': '30' does not match pattern "
            f"'{DURATION.pattern}'",
        ),
        (
            {"metrics": {"serviceMonitor": {"interval": ""}}},
            "at '/metrics/serviceMonitor/interval': minLength: got 0, want 1",
        ),
        (
            {"metrics": {"podMonitor": {"scrapeTimeout": "soon"}}},
            f"at '/metrics/podMonitor/scrapeTimeout': 'soon' does not match pattern "
            f"'{DURATION.pattern}'",
        ),
        (
            {"metrics": {"serviceMonitor": {"namespace": "Monitoring"}}},
            "at '/metrics/serviceMonitor/namespace': 'Monitoring' does not match pattern "
            "'^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$'",
        ),
        (
            {"metrics": {"annotations": "yes"}},
            "at '/metrics/annotations': got string, want boolean",
        ),
        (
            {"metrics": {"prometheusRule": {"objective": 0.99}}},
            "at '/metrics/prometheusRule': additional properties 'objective' not allowed",
        ),
        (
            {"backend": {"containerPorts": {"metrics": 0}}},
            "at '/backend/containerPorts/metrics': minimum: got 0, want 1",
        ),
        (
            {"networkPolicy": {"metricsNamespace": "Prometheus NS"}},
            "at '/networkPolicy/metricsNamespace': 'Prometheus NS' does not match pattern "
            "'^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$'",
        ),
    ],
)
def test_fails_when_a_metrics_value_breaks_the_schema(render, values, message):
    assert message in refused(render, values)


def test_notes_name_the_metrics_ports_and_a_missing_scraper_namespace(
    chart_dir, tmp_path, credentials
):
    values = {"secrets": credentials, "metrics": {"enabled": True}}
    notes = notes_of(chart_dir, tmp_path, values)
    assert f"serves /metrics on port {METRICS_PORT} (backend)" in notes
    assert "set networkPolicy.metricsNamespace to Prometheus' namespace" in notes
    admitted = notes_of(
        chart_dir, tmp_path, {**values, "networkPolicy": {"metricsNamespace": "monitoring"}}
    )
    assert "networkPolicy.metricsNamespace" not in admitted
    assert "/metrics" not in notes_of(chart_dir, tmp_path, {"secrets": credentials})


def test_the_burn_rate_alerts_defend_the_objective(render):
    rule_values = {"enabled": True, "availabilityObjective": 0.995}
    rule = by_kind(
        render({"metrics": {"enabled": True, "prometheusRule": rule_values}}), "PrometheusRule"
    )
    burns = [
        item["expr"]
        for group in rule["spec"]["groups"]
        for item in group["rules"]
        if "Burn" in item.get("alert", "")
    ]
    assert len(burns) == 2
    for expression in burns:
        assert expression.count("(1 - 0.995)") == 2
        promql_parser.parse(expression)


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (0, "exclusiveMinimum: got 0, want 0"),
        (1, "exclusiveMaximum: got 1, want 1"),
        (99.9, "exclusiveMaximum: got 99.9, want 1"),
    ],
)
def test_fails_when_the_objective_is_not_a_share(render, objective, message):
    values = {"metrics": {"prometheusRule": {"availabilityObjective": objective}}}
    assert f"at '/metrics/prometheusRule/availabilityObjective': {message}" in refused(
        render, values
    )
