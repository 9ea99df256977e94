"""NetworkPolicies: who may talk to the backend, and where pods may connect."""

import pytest
from support.manifests import by_kind
from todo_chatbot import NetworkPolicyProps


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
