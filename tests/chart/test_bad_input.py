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


def test_fails_when_the_frontend_database_url_is_not_postgres_without_printing_it(
    render, credentials
):
    url = "mysql://front:" + credentials["betterAuthSecret"][:20] + "@db/todo"
    message = refused(render, {"secrets": {**credentials, "frontendDatabaseUrl": url}})
    assert "secrets.frontendDatabaseUrl must be a PostgreSQL URL" in message
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
        (
            {"backend": {"containerPorts": {"http": 70000}}},
            "at '/backend/containerPorts/http': maximum: got 70,000, want 65,535",
        ),
        (
            {"backend": {"envNames": {"PORT": "HTTP_PORT"}}},
            "at '/backend/envNames': additional properties 'PORT' not allowed",
        ),
        (
            {"frontend": {"envNames": {"AI_PROVIDER": "LLM_PROVIDER"}}},
            "at '/frontend/envNames': additional properties 'AI_PROVIDER' not allowed",
        ),
        (
            {"backend": {"envNames": {"DATABASE_URL": "db-url"}}},
            "at '/backend/envNames/DATABASE_URL': 'db-url' does not match pattern "
            "'^[A-Za-z_][A-Za-z0-9_]*$'",
        ),
        (
            {"backend": {"extraSecretKeys": ["groq-key"]}},
            "at '/backend/extraSecretKeys/0': 'groq-key' does not match pattern "
            "'^[A-Za-z_][A-Za-z0-9_]*$'",
        ),
        (
            {"frontend": {"writablePaths": ["cache"]}},
            "at '/frontend/writablePaths/0': 'cache' does not match pattern '^/.'",
        ),
        (
            {"backend": {"extraEnvVars": [{"value": "production"}]}},
            "at '/backend/extraEnvVars/0': missing property 'name'",
        ),
        (
            {"backend": {"extraEnvVars": {"NODE_ENV": "production"}}},
            "at '/backend/extraEnvVars': got object, want array",
        ),
        (
            {"frontend": {"sidecars": [{"name": "mcp"}]}},
            "at '/frontend/sidecars/0': missing property 'image'",
        ),
        (
            {"backend": {"extraVolumeMounts": [{"name": "ca"}]}},
            "at '/backend/extraVolumeMounts/0': missing property 'mountPath'",
        ),
        (
            {"backend": {"podSecurityContext": "runAsUser=1001"}},
            "at '/backend/podSecurityContext': got string, want object",
        ),
        (
            {"backend": {"probes": {"startup": {"enabled": "no"}}}},
            "at '/backend/probes/startup/enabled': got string, want boolean",
        ),
        (
            {"backend": {"publicPath": "api"}},
            "at '/backend/publicPath': 'api' does not match pattern '^(/[^/].*)?$'",
        ),
        (
            {"networkPolicy": {"ingressNamespace": "Ingress_NS"}},
            "at '/networkPolicy/ingressNamespace': 'Ingress_NS' does not match pattern "
            "'^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$'",
        ),
        (
            {"networkPolicy": {"extraEgress": {"backend": {"to": []}}}},
            "at '/networkPolicy/extraEgress/backend': got object, want array",
        ),
        (
            {"migrations": {"backoffLimit": -1}},
            "at '/migrations/backoffLimit': minimum: got -1, want 0",
        ),
        (
            {"migrations": {"activeDeadlineSeconds": 0}},
            "at '/migrations/activeDeadlineSeconds': minimum: got 0, want 1",
        ),
        ({"tests": {"command": "wget"}}, "at '/tests/command': got string, want array"),
        ({"global": {"registry": "r.example"}}, "at '/global': additional properties 'registry'"),
        ({"extraDeploy": {"kind": "Service"}}, "at '/extraDeploy': got object, want array"),
    ],
)
def test_fails_when_a_value_breaks_the_schema(render, values, message):
    assert message in refused(render, values)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("groq key", "at '/secrets/extra': additional properties 'groq key' not allowed"),
        ("DATABASE_URL", "at '/secrets/extra/DATABASE_URL': 'not' failed"),
    ],
)
def test_fails_when_an_extra_secret_key_is_bad_without_printing_its_value(
    render, credentials, key, message
):
    value = credentials["betterAuthSecret"][::-1]
    error = refused(render, {"secrets": {**credentials, "extra": {key: value}}})
    assert message in error
    assert value not in error
    assert_no_secret_in(error, credentials)


def test_fails_when_an_extra_secret_is_empty(render, credentials):
    error = refused(render, {"secrets": {**credentials, "extra": {"GROQ_API_KEY": ""}}})
    assert "secrets.extra.GROQ_API_KEY must not be empty" in error
    assert_no_secret_in(error, credentials)


def test_fails_when_a_component_names_a_secret_key_the_managed_secret_lacks(render, credentials):
    error = refused(render, {"frontend": {"extraSecretKeys": ["GROQ_API_KEY"]}})
    assert (
        "frontend.extraSecretKeys names GROQ_API_KEY, which secrets.extra lacks: add it there "
        "(or use secrets.existingSecret)" in error
    )
    assert_no_secret_in(error, credentials)
    values = {"secrets": {"existingSecret": "creds"}, "frontend": {"extraSecretKeys": ["GROQ"]}}
    render(values, with_credentials=False)


@pytest.mark.parametrize(
    "names",
    [{"AI_MODEL": "LOG_LEVEL"}, {"AI_MODEL": "MODEL", "AI_PROVIDER": "MODEL"}],
)
def test_fails_when_env_names_give_two_variables_one_name(render, names):
    target = next(iter(names.values()))
    assert f"backend.envNames gives two variables the name {target}" in refused(
        render, {"backend": {"envNames": names}}
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"backend": {"extraEnvVars": [{"name": "DATABASE_URL", "value": "x"}]}},
            "backend.extraEnvVars[0] sets DATABASE_URL, which the chart sets already: use the "
            "chart's value for it, or rename the chart's variable with envNames",
        ),
        (
            {
                "frontend": {
                    "envNames": {"BACKEND_URL": "API_URL"},
                    "extraEnvVars": [
                        {"name": "BACKEND_URL", "value": "http://api"},
                        {"name": "API_URL", "value": "http://api"},
                    ],
                }
            },
            "frontend.extraEnvVars[1] sets API_URL, which the chart sets already",
        ),
        (
            {
                "backend": {
                    "extraEnvVars": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
                }
            },
            "backend.extraEnvVars[1] sets A, as an earlier entry does: set each variable once",
        ),
        (
            {
                "secrets": {"extra": {"GROQ_API_KEY": "groq-not-a-real-key"}},
                "backend": {
                    "extraSecretKeys": ["GROQ_API_KEY"],
                    "extraEnvVars": [{"name": "GROQ_API_KEY", "value": "x"}],
                },
            },
            "backend.extraEnvVars[0] sets GROQ_API_KEY, which the chart sets already",
        ),
        (
            {
                "secrets": {"extra": {"LOG_LEVEL": "debug"}},
                "backend": {"extraSecretKeys": ["LOG_LEVEL"]},
            },
            "backend.extraSecretKeys names LOG_LEVEL, a variable the chart sets already: rename "
            "the chart's with backend.envNames",
        ),
        (
            {
                "backend": {"envNames": {"DATABASE_URL": "DB"}},
                "migrations": {"enabled": True, "extraEnvVars": [{"name": "DB", "value": "x"}]},
            },
            "migrations.extraEnvVars[0] sets DB, which the chart sets already",
        ),
    ],
)
def test_fails_when_a_variable_name_would_be_set_twice(render, credentials, values, message):
    # Kubernetes keeps one of two EnvVars of one name silently; Helm 4's server-side apply
    # refuses the Deployment, so the chart refuses the values first.
    error = refused(render, values)
    assert message in error
    assert_no_secret_in(error, credentials)


def test_extra_env_vars_may_take_a_name_envnames_freed(render):
    values = {
        "backend": {
            "envNames": {"LOG_LEVEL": "APP_LOG_LEVEL"},
            "extraEnvVars": [{"name": "LOG_LEVEL", "value": "debug"}],
        }
    }
    assert render(values)


def test_fails_when_a_public_path_has_no_route(render):
    assert (
        "backend.publicPath (/api) is routed by the chart's Ingress or HTTPRoute: set "
        "ingress.enabled or httpRoute.enabled"
        in refused(render, {"backend": {"publicPath": "/api"}})
    )


def test_fails_when_a_public_path_names_no_ingress_namespace(render):
    values = {"backend": {"publicPath": "/api"}, "ingress": {"enabled": True}}
    assert (
        "networkPolicy.ingressNamespace must name the ingress controller's (or Gateway's) "
        "namespace when backend.publicPath is set: the backend's NetworkPolicy admits only "
        "that namespace besides the frontend" in refused(render, values)
    )
    render({**values, "networkPolicy": {"enabled": False}})


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
