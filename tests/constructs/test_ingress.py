"""The Ingress reaches the frontend only."""

import pytest
from support.manifests import all_of, by_kind
from todo_chatbot import BackendProps, FrontendProps, IngressProps, NetworkPolicyProps


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


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (IngressProps(hosts=("Todo_App",)), "'hosts' must hold DNS names, got 'Todo_App'"),
        (IngressProps(hosts=()), r"'hosts' must name at least one host, got \(\)"),
    ],
)
def test_fails_when_props_are_invalid(synth_app, props, message):
    with pytest.raises(ValueError, match=message):
        synth_app(ingress=props)


def test_ingress_follows_the_frontend_service_port(synth_app):
    manifests = synth_app(
        frontend=FrontendProps(image="registry.example/todo/frontend:1.0", service_port=8080),
        ingress=IngressProps(),
    )
    (rule,) = by_kind(manifests, "Ingress")["spec"]["rules"]
    assert rule["http"]["paths"][0]["backend"]["service"]["port"] == {"number": 8080}


def test_a_public_backend_path_routes_to_the_backend(synth_app):
    backend = BackendProps(image="registry.example/todo/backend:1.0", public_path="/api")
    manifests = synth_app(
        backend=backend,
        ingress=IngressProps(hosts=("todo.example.com",)),
        network_policy=NetworkPolicyProps(ingress_namespace="ingress-nginx"),
    )
    paths = by_kind(manifests, "Ingress")["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["backend"]["service"]["name"]) for p in paths] == [
        ("/", "todo-chatbot-frontend"),
        ("/api", "todo-chatbot-backend"),
    ]
    assert paths[1]["backend"]["service"]["port"] == {"number": 8000}


@pytest.mark.parametrize("path", ["api", "/"])
def test_fails_when_the_public_path_is_not_below_the_root(synth_app, path):
    with pytest.raises(
        ValueError, match=f"'public_path' must be a path prefix below '/'.*'{path}'"
    ):
        synth_app(backend=BackendProps(image="registry.example/todo/backend:1.0", public_path=path))
