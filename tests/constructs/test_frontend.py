"""The frontend reaches the backend through its Service and never holds the AI key."""

import pytest
from support.manifests import by_kind, container, env_names, managed_secrets
from todo_chatbot import Backend, BackendProps, Frontend, FrontendProps, Secrets
from todo_chatbot.workload import METRICS_PORT


def synth(chart, secrets, **props):
    backend = Backend(
        chart, "Backend", secrets=secrets, props=BackendProps(image="registry.example/backend:1")
    )
    Frontend(
        chart,
        "Frontend",
        secrets=secrets,
        backend=backend,
        props=FrontendProps(image="registry.example/frontend:1", **props),
    )
    return list(chart.to_json())


def test_never_receives_an_ai_key(chart, secrets):
    deployment = by_kind(synth(chart, secrets), "Deployment", "todo-chatbot-frontend")
    assert env_names(deployment) == {"DATABASE_URL", "BETTER_AUTH_SECRET", "INSTANCE_NAME"}


def test_backend_url_is_derived_from_the_backend_service(chart, secrets):
    config = by_kind(synth(chart, secrets), "ConfigMap", "todo-chatbot-frontend")
    assert config["data"]["BACKEND_URL"] == "http://todo-chatbot-backend:8000"


def test_public_url_is_passed_when_given(chart, secrets):
    config = by_kind(
        synth(chart, secrets, public_url="https://todo.example.com"),
        "ConfigMap",
        "todo-chatbot-frontend",
    )
    assert config["data"]["PUBLIC_URL"] == "https://todo.example.com"


def test_sign_up_limit_goes_to_the_config_map(chart, secrets):
    config = by_kind(
        synth(chart, secrets, sign_up_limit_per_client=20), "ConfigMap", "todo-chatbot-frontend"
    )
    assert config["data"]["SIGNUP_LIMIT_PER_CLIENT"] == "20"


def test_fails_when_the_sign_up_limit_is_below_one(chart, secrets):
    with pytest.raises(ValueError, match=r"'sign_up_limit_per_client' must be >= 1, got 0"):
        synth(chart, secrets, sign_up_limit_per_client=0)


def test_no_proxy_is_trusted_by_default(chart, secrets):
    config = by_kind(synth(chart, secrets), "ConfigMap", "todo-chatbot-frontend")
    assert config["data"]["TRUSTED_PROXIES"] == ""


def test_trusted_proxies_go_to_the_config_map(chart, secrets):
    config = by_kind(
        synth(chart, secrets, trusted_proxies=("10.244.0.0/24", "fd00::/8")),
        "ConfigMap",
        "todo-chatbot-frontend",
    )
    assert config["data"]["TRUSTED_PROXIES"] == "10.244.0.0/24,fd00::/8"


def test_fails_when_a_trusted_proxy_is_not_a_cidr(chart, secrets):
    with pytest.raises(
        ValueError, match=r"'trusted_proxies' must hold CIDRs such as 10.0.0.0/8, got 'traefik'"
    ):
        synth(chart, secrets, trusted_proxies=("traefik",))


def test_service_port_80_forwards_to_the_contract_port(chart, secrets):
    manifests = synth(chart, secrets, service_type="NodePort")
    service = by_kind(manifests, "Service", "todo-chatbot-frontend")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 3000}]
    deployment = by_kind(manifests, "Deployment", "todo-chatbot-frontend")
    assert container(deployment)["readinessProbe"]["httpGet"]["port"] == 3000


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_an_exposed_frontend_opens_no_metrics_port_on_the_nodes(chart, secrets, service_type):
    manifests = synth(chart, secrets, service_type=service_type)
    # The metrics port is on the ClusterIP metrics Service only: a NodePort or LoadBalancer
    # Service would give it a node port, open to whoever reaches the nodes.
    app = by_kind(manifests, "Service", "todo-chatbot-frontend")
    assert [port["name"] for port in app["spec"]["ports"]] == ["http"]
    metrics = by_kind(manifests, "Service", "todo-chatbot-frontend-metrics")["spec"]
    assert metrics["type"] == "ClusterIP"
    assert metrics["ports"] == [
        {"name": "metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT}
    ]


def test_fails_when_public_url_is_not_http(chart, secrets):
    with pytest.raises(ValueError, match=r"'public_url' must start with http.*got 'todo.example'"):
        synth(chart, secrets, public_url="todo.example")


def test_public_url_defaults_to_the_port_forward_address(chart, secrets):
    config = by_kind(synth(chart, secrets), "ConfigMap", "todo-chatbot-frontend")
    assert config["data"]["PUBLIC_URL"] == "http://localhost:8080"


def test_default_resources_are_rendered_as_requests_and_limits(chart, secrets):
    deployment = by_kind(synth(chart, secrets), "Deployment", "todo-chatbot-frontend")
    assert container(deployment)["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
    }


def database_keys(manifests):
    """The Secret key behind DATABASE_URL of each component: {component: key}."""
    return {
        component: next(
            var["valueFrom"]["secretKeyRef"]["key"]
            for var in container(by_kind(manifests, "Deployment", f"todo-chatbot-{component}"))[
                "env"
            ]
            if var["name"] == "DATABASE_URL"
        )
        for component in ("backend", "frontend")
    }


def test_both_apps_share_the_database_url_by_default(chart, secrets):
    assert database_keys(synth(chart, secrets)) == {
        "backend": "DATABASE_URL",
        "frontend": "DATABASE_URL",
    }


@pytest.mark.parametrize(
    "props",
    [
        {"frontend_database_url": "postgresql://front:pw@db/todo"},
        {"existing_secret": "creds", "existing_secret_frontend_database_url": True},
    ],
    ids=["managed", "existing"],
)
def test_the_frontend_reads_its_own_database_url_when_there_is_one(chart, props):
    secrets = Secrets(chart, "Secrets", props=managed_secrets(**props))
    assert database_keys(synth(chart, secrets)) == {
        "backend": "DATABASE_URL",
        "frontend": "FRONTEND_DATABASE_URL",
    }
