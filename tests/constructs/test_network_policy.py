"""NetworkPolicies: who may talk to the backend, and where pods may connect."""

import pytest
from support.manifests import by_kind
from todo_chatbot import BackendProps, NetworkPolicyProps
from todo_chatbot.workload import METRICS_PORT


def policies(manifests):
    return (
        by_kind(manifests, "NetworkPolicy", "todo-chatbot-backend")["spec"],
        by_kind(manifests, "NetworkPolicy", "todo-chatbot-frontend")["spec"],
    )


def test_backend_accepts_only_frontend_and_helm_test_pods_on_its_port(synth_app):
    backend, _ = policies(synth_app())
    assert backend["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backend"
    (rule,) = backend["ingress"]
    components = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in rule["from"]
    ]
    assert components == ["frontend", "helm-test"]
    assert all(
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "todo-chatbot"
        for peer in rule["from"]
    )
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_backend_egress_is_dns_database_and_ai_only(synth_app):
    backend, _ = policies(
        synth_app(
            network_policy=NetworkPolicyProps(
                database_cidrs=("10.1.0.0/16",),
                database_port=15432,
                ai_cidrs=("10.2.0.1/32",),
                ai_port=18090,
            )
        )
    )
    dns, database, ai = backend["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert database == {
        "to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}],
        "ports": [{"port": 15432, "protocol": "TCP"}],
    }
    assert ai == {
        "to": [{"ipBlock": {"cidr": "10.2.0.1/32"}}],
        "ports": [{"port": 18090, "protocol": "TCP"}],
    }
    assert backend["policyTypes"] == ["Ingress", "Egress"]


def test_helm_test_pod_takes_no_connection_and_reaches_dns_and_the_components_only(synth_app):
    policy = by_kind(synth_app(), "NetworkPolicy", "todo-chatbot-helm-test")["spec"]
    assert policy["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "todo-chatbot",
        "app.kubernetes.io/instance": "todo-chatbot",
        "app.kubernetes.io/component": "helm-test",
    }
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy
    dns, frontend, backend = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    reached = [
        (rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"], rule["ports"])
        for rule in (frontend, backend)
    ]
    assert reached == [
        ("frontend", [{"port": 3000, "protocol": "TCP"}]),
        ("backend", [{"port": 8000, "protocol": "TCP"}]),
    ]


def test_frontend_is_open_on_its_port_and_reaches_only_dns_database_backend(synth_app):
    _, frontend = policies(synth_app())
    assert frontend["ingress"] == [{"ports": [{"port": 3000, "protocol": "TCP"}]}]
    _, _, backend = frontend["egress"]
    assert (
        backend["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backend"
    )
    assert backend["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_can_be_turned_off(synth_app):
    assert not [m for m in synth_app(network_policy=None) if m["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (NetworkPolicyProps(database_cidrs=("10.0.0/8",)), "got '10.0.0/8'"),
        (NetworkPolicyProps(ai_port=70000), "'ai_port' must be a port, got 70000"),
        (NetworkPolicyProps(database_cidrs=()), "'database_cidrs' must hold at least one CIDR"),
        (NetworkPolicyProps(ai_cidrs=()), "'ai_cidrs' must hold at least one CIDR"),
    ],
)
def test_fails_when_props_are_invalid(synth_app, props, message):
    with pytest.raises(ValueError, match=message):
        synth_app(network_policy=props)


def public_backend(**network):
    return {
        "backend": BackendProps(image="registry.example/todo/backend:1.0", public_path="/api"),
        "network_policy": NetworkPolicyProps(**network),
    }


def test_a_public_backend_admits_the_ingress_namespace_too(synth_app):
    backend, _ = policies(synth_app(**public_backend(ingress_namespace="traefik")))
    _, from_ingress = backend["ingress"]
    assert from_ingress == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
        ],
        "ports": [{"port": 8000, "protocol": "TCP"}],
    }


def test_an_internal_backend_admits_no_namespace(synth_app):
    backend, _ = policies(synth_app(network_policy=NetworkPolicyProps(ingress_namespace="x")))
    assert len(backend["ingress"]) == 1


def test_fails_when_a_public_backend_names_no_ingress_namespace(synth_app):
    with pytest.raises(ValueError, match="'ingress_namespace' must name the ingress controller"):
        synth_app(**public_backend())


def test_backend_to_frontend_admits_the_frontend_port_only(synth_app):
    backend, _ = policies(synth_app(network_policy=NetworkPolicyProps(backend_to_frontend=True)))
    to_frontend = backend["egress"][-1]
    assert to_frontend["ports"] == [{"port": 3000, "protocol": "TCP"}]
    labels = to_frontend["to"][0]["podSelector"]["matchLabels"]
    assert labels["app.kubernetes.io/component"] == "frontend"
    assert len(policies(synth_app())[0]["egress"]) == 3


def test_extra_egress_rules_keep_their_shape(synth_app):
    database_over_https = {
        "to": [{"ipBlock": {"cidr": "10.9.0.0/16", "except": ["10.9.9.0/24"]}}],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }
    mcp = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"team": "ai"}},
                "podSelector": {
                    "matchExpressions": [{"key": "app", "operator": "In", "values": ["mcp"]}]
                },
            }
        ],
        "ports": [{"port": "http"}],
    }
    network = NetworkPolicyProps(
        extra_egress_frontend=(database_over_https,), extra_egress_backend=(mcp,)
    )
    backend, frontend = policies(synth_app(network_policy=network))
    assert frontend["egress"][-1] == database_over_https
    assert backend["egress"][-1] == mcp


def test_the_metrics_namespace_reaches_the_metrics_port_only(synth_app):
    backend, frontend = policies(
        synth_app(
            backend=BackendProps(image="registry.example/b:1", metrics_port=9100),
            network_policy=NetworkPolicyProps(metrics_namespace="monitoring"),
        )
    )
    scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert backend["ingress"][-1] == {
        "from": [scraper],
        "ports": [{"port": 9100, "protocol": "TCP"}],
    }
    assert frontend["ingress"][-1] == {
        "from": [scraper],
        "ports": [{"port": METRICS_PORT, "protocol": "TCP"}],
    }


def test_nothing_reaches_the_metrics_port_by_default(synth_app):
    for policy in policies(synth_app()):
        ports = [port["port"] for rule in policy["ingress"] for port in rule["ports"]]
        assert METRICS_PORT not in ports
