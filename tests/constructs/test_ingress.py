"""Outside access reaches the frontend only: Ingress or HTTPRoute."""

import pytest
from support.manifests import all_of, by_kind
from todo_chatbot import GatewayRef, IngressProps


def test_no_outside_access_by_default(synth_app):
    manifests = synth_app()
    assert all_of(manifests, "Ingress") == [] and all_of(manifests, "HTTPRoute") == []


def test_ingress_routes_the_host_to_the_frontend_with_tls(synth_app):
    manifests = synth_app(
        ingress=IngressProps(
            hosts=("todo.example.com",),
            class_name="nginx",
            tls_secret_name="todo-tls",
            annotations={"nginx.ingress.kubernetes.io/proxy-body-size": "1m"},
        )
    )
    ingress = by_kind(manifests, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "todo.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "todo-chatbot-frontend",
        "port": {"number": 80},
    }
    assert ingress["spec"]["tls"] == [{"hosts": ["todo.example.com"], "secretName": "todo-tls"}]
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "1m"
    }


def test_http_route_attaches_to_the_named_gateway(synth_app):
    manifests = synth_app(
        http_route=IngressProps(
            hosts=("todo.example.com",),
            gateway_refs=(GatewayRef(name="public", namespace="infra", section_name="https"),),
        )
    )
    route = by_kind(manifests, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [
        {"name": "public", "namespace": "infra", "sectionName": "https"}
    ]
    assert route["spec"]["hostnames"] == ["todo.example.com"]
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": "todo-chatbot-frontend", "port": 80}]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert all_of(manifests, "Ingress") == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (IngressProps(hosts=("Todo_App",)), "'hosts' must hold DNS names, got 'Todo_App'"),
        (IngressProps(hosts=()), "needs at least one of 'hosts'"),
        (
            IngressProps(gateway_refs=(GatewayRef(name="gw"),), tls_secret_name="tls"),
            "'tls_secret_name' is set on the Gateway's listener",
        ),
    ],
)
def test_fails_when_props_are_invalid(synth_app, props, message):
    with pytest.raises(ValueError, match=message):
        synth_app(ingress=props)


def test_fails_when_a_route_names_no_gateway(synth_app):
    with pytest.raises(ValueError, match="'http_route' needs 'gateway_refs'"):
        synth_app(http_route=IngressProps())
