"""Bad values stop `helm template`/`helm install` with a message naming the value."""

import pytest
from conftest import HelmError
from support.manifests import by_kind, container


def refused(render, values, **options):
    with pytest.raises(HelmError) as error:
        render(values, **options)
    return str(error.value)


def assert_no_secret_in(message, credentials):
    for value in credentials.values():
        assert value not in message


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        (
            {"databaseUrl": ""},
            "secrets.databaseUrl is required: set it, or set secrets.existingSecret to a "
            "Secret holding DATABASE_URL",
        ),
        (
            {"betterAuthSecret": ""},
            "secrets.betterAuthSecret is required: set it, or set secrets.existingSecret to a "
            "Secret holding BETTER_AUTH_SECRET",
        ),
        (
            {"openaiApiKey": ""},
            "secrets.openaiApiKey is required when ai.provider is openai "
            "(or set secrets.existingSecret)",
        ),
    ],
)
def test_fails_when_a_secret_is_missing(render, credentials, secrets, message):
    error = refused(render, {"secrets": {**credentials, **secrets}}, with_credentials=False)
    assert message in error
    assert_no_secret_in(error, credentials)


def test_fails_when_the_gemini_key_is_missing_for_gemini(render, credentials):
    values = {"ai": {"provider": "gemini"}, "secrets": {**credentials, "geminiApiKey": ""}}
    error = refused(render, values, with_credentials=False)
    assert "secrets.geminiApiKey is required when ai.provider is gemini" in error
    assert_no_secret_in(error, credentials)


def test_fails_when_the_database_url_is_not_postgres_without_printing_it(render, credentials):
    url = "mysql://todo:" + credentials["betterAuthSecret"][:20] + "@db/todo"
    message = refused(render, {"secrets": {**credentials, "databaseUrl": url}})
    assert "secrets.databaseUrl must be a PostgreSQL URL" in message
    assert url not in message and credentials["betterAuthSecret"][:20] not in message


def test_fails_when_the_auth_secret_is_short_without_printing_it(render, credentials):
    short = credentials["betterAuthSecret"][:20]
    message = refused(render, {"secrets": {**credentials, "betterAuthSecret": short}})
    assert "secrets.betterAuthSecret must be at least 32 characters, got 20" in message
    assert short not in message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"unknownKey": True}, "at '': additional properties 'unknownKey' not allowed"),
        (
            {"backend": {"replicas": 2}},
            "at '/backend': additional properties 'replicas' not allowed",
        ),
        ({"backend": {"replicaCount": -1}}, "at '/backend/replicaCount': minimum: got -1, want 0"),
        (
            {"frontend": {"service": {"type": "Ingress"}}},
            "at '/frontend/service/type': value must be one of 'ClusterIP', 'NodePort', "
            "'LoadBalancer'",
        ),
        (
            {"frontend": {"service": {"externalTrafficPolicy": "Nearest"}}},
            "at '/frontend/service/externalTrafficPolicy': value must be one of 'Cluster', 'Local'",
        ),
        (
            {"backend": {"probes": {"liveness": {"periodSeconds": 0}}}},
            "at '/backend/probes/liveness/periodSeconds': minimum: got 0, want 1",
        ),
        (
            {"frontend": {"probes": {"readiness": {"path": "readyz"}}}},
            "at '/frontend/probes/readiness/path': 'readyz' does not match pattern '^/'",
        ),
        (
            {"ai": {"provider": "anthropic"}},
            "at '/ai/provider': value must be one of 'openai', 'gemini'",
        ),
        (
            {"config": {"logLevel": "loud"}},
            "at '/config/logLevel': value must be one of 'debug', 'info', 'warning', 'error'",
        ),
        (
            {"backend": {"autoscaling": {"maxReplicas": 0}}},
            "at '/backend/autoscaling/maxReplicas': minimum: got 0, want 1",
        ),
        (
            {"backend": {"autoscaling": {"scaleDownStabilizationSeconds": -1}}},
            "at '/backend/autoscaling/scaleDownStabilizationSeconds': minimum: got -1, want 0",
        ),
        (
            {"httpRoute": {"scheme": "ftp"}},
            "at '/httpRoute/scheme': value must be one of 'https', 'http'",
        ),
        ({"ingress": {"host": "Not A Host"}}, "at '/ingress/host': 'Not A Host' does not match"),
    ],
)
def test_fails_when_a_value_breaks_the_schema(render, values, message):
    assert message in refused(render, values)


def test_fails_when_autoscaling_bounds_are_inverted(render):
    values = {"backend": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}
    assert "backend.autoscaling.minReplicas (5) must not exceed maxReplicas (2)" in refused(
        render, values
    )


def test_fails_when_a_route_names_no_gateway(render):
    assert "httpRoute.parentRefs must name at least one Gateway" in refused(
        render, {"httpRoute": {"enabled": True}}
    )


def test_fails_when_a_route_has_neither_hostnames_nor_a_public_url(render):
    values = {"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]}}
    assert (
        "httpRoute.hostnames or config.publicUrl must be set when httpRoute.enabled is true"
        in refused(render, values)
    )


def test_no_error_prints_a_secret(render, credentials):
    messages = [
        refused(render, {"backend": {"replicaCount": -1}}),
        refused(render, {"unknownKey": True}),
        refused(render, {"secrets": {**credentials, "openaiApiKey": ""}}, with_credentials=False),
    ]
    for message in messages:
        assert_no_secret_in(message, credentials)


@pytest.mark.parametrize("key", ["databaseCidrs", "aiCidrs"])
def test_fails_when_an_egress_cidr_list_is_empty(render, key):
    # An egress rule with an empty `to` would admit every destination.
    message = refused(render, {"networkPolicy": {"egress": {key: []}}})
    assert f"at '/networkPolicy/egress/{key}': minItems: got 0, want 1" in message


@pytest.mark.parametrize("cidr", ["10.0.0.0", "10.0.0.0/33", "256.0.0.0/8", "db.example.com"])
def test_fails_when_an_egress_cidr_is_malformed(render, cidr):
    message = refused(render, {"networkPolicy": {"egress": {"databaseCidrs": [cidr]}}})
    assert "at '/networkPolicy/egress/databaseCidrs/0'" in message
    assert "does not match pattern" in message


def test_fails_when_a_trusted_proxy_is_not_a_cidr(render):
    message = refused(render, {"frontend": {"trustedProxies": ["10.244.0.0/24", "traefik"]}})
    assert "at '/frontend/trustedProxies/1'" in message
    assert "does not match pattern" in message


def test_egress_cidrs_take_ipv4_and_ipv6_networks(render):
    cidrs = ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8", "2001:db8::/32"]
    policies = [
        doc
        for doc in render({"networkPolicy": {"egress": {"aiCidrs": cidrs}}})
        if doc["kind"] == "NetworkPolicy"
    ]
    blocks = {
        peer["ipBlock"]["cidr"]
        for policy in policies
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    }
    assert set(cidrs) <= blocks


def test_fails_when_the_grace_period_does_not_outlast_the_pre_stop_pause(render):
    deployment = by_kind(render(), "Deployment", "todo-todo-chatbot-backend")
    pre_stop = container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
    pause = int(pre_stop[-1])
    message = refused(render, {"backend": {"terminationGracePeriodSeconds": pause}})
    assert (
        f"at '/backend/terminationGracePeriodSeconds': minimum: got {pause}, want {pause + 1}"
        in message
    )
    render({"backend": {"terminationGracePeriodSeconds": pause + 1}})


@pytest.mark.parametrize("quantity", ["two", "-1", "1 Gi"])
def test_fails_when_a_resource_quantity_is_malformed(render, quantity):
    message = refused(render, {"frontend": {"resources": {"limits": {"memory": quantity}}}})
    assert "at '/frontend/resources/limits/memory'" in message
