"""The HTTPRoute attaches to the named Gateways and reaches the frontend only."""

import pytest
from support.manifests import all_of, by_kind
from todo_chatbot import BackendProps, FrontendProps, GatewayRef, HttpRouteProps, NetworkPolicyProps


def test_attaches_to_the_named_gateway(synth_app):
    manifests = synth_app(
        http_route=HttpRouteProps(
            hostnames=("todo.example.com",),
            gateway_refs=(GatewayRef(name="public", namespace="infra", section_name="https"),),
            annotations={"example.com/team": "todo"},
        )
    )
    route = by_kind(manifests, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["metadata"]["annotations"] == {"example.com/team": "todo"}
    assert route["spec"]["parentRefs"] == [
        {"name": "public", "namespace": "infra", "sectionName": "https"}
    ]
    assert route["spec"]["hostnames"] == ["todo.example.com"]
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": "todo-chatbot-frontend", "port": 80}]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert all_of(manifests, "Ingress") == []


def test_serves_every_gateway_host_by_default(synth_app):
    route = by_kind(
        synth_app(http_route=HttpRouteProps(gateway_refs=(GatewayRef(name="gw"),))), "HTTPRoute"
    )
    assert "hostnames" not in route["spec"]


def test_follows_the_frontend_service_port(synth_app):
    manifests = synth_app(
        frontend=FrontendProps(image="registry.example/todo/frontend:1.0", service_port=8080),
        http_route=HttpRouteProps(gateway_refs=(GatewayRef(name="gw"),)),
    )
    (rule,) = by_kind(manifests, "HTTPRoute")["spec"]["rules"]
    assert rule["backendRefs"][0]["port"] == 8080


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            HttpRouteProps(gateway_refs=()),
            r"'gateway_refs' must name at least one Gateway, got \(\)",
        ),
        (
            HttpRouteProps(gateway_refs=(GatewayRef(name="gw"),), hostnames=("Todo_App",)),
            "'hostnames' must hold DNS names, got 'Todo_App'",
        ),
    ],
)
def test_fails_when_props_are_invalid(synth_app, props, message):
    with pytest.raises(ValueError, match=message):
        synth_app(http_route=props)


def test_a_public_backend_path_routes_to_the_backend(synth_app):
    manifests = synth_app(
        backend=BackendProps(image="registry.example/todo/backend:1.0", public_path="/api"),
        http_route=HttpRouteProps(gateway_refs=(GatewayRef(name="public"),)),
        network_policy=NetworkPolicyProps(ingress_namespace="infra"),
    )
    rules = by_kind(manifests, "HTTPRoute")["spec"]["rules"]
    assert [
        (rule["matches"][0]["path"]["value"], rule["backendRefs"][0]["name"]) for rule in rules
    ] == [("/", "todo-chatbot-frontend"), ("/api", "todo-chatbot-backend")]
