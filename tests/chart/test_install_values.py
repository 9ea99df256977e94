"""Each install-time knob changes what it says, and toggles add or remove objects."""

import base64

import pytest
from conftest import VERSION
from support.manifests import all_of, by_kind, container, env_names


def kinds(manifests):
    return sorted(m["kind"] for m in manifests)


def pod_annotations(manifests, name):
    return by_kind(manifests, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]


def test_defaults_render_the_core_objects(render):
    assert kinds(render()) == sorted(
        [
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "Deployment",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "Pod",
            "Secret",
            "Service",
            "Service",
            "ServiceAccount",
            "ServiceAccount",
        ]
    )


def test_names_derive_from_the_release(render):
    names = {m["metadata"]["name"] for m in render(release="shop") if m["kind"] != "Pod"}
    assert names == {
        "shop-todo-chatbot",
        "shop-todo-chatbot-backend",
        "shop-todo-chatbot-frontend",
        "shop-todo-chatbot-helm-test",
    }


def test_two_releases_do_not_collide(render):
    first = {(m["kind"], m["metadata"]["name"]) for m in render(release="blue")}
    second = {(m["kind"], m["metadata"]["name"]) for m in render(release="green")}
    assert first.isdisjoint(second)


def test_full_name_override(render):
    manifests = render({"fullnameOverride": "todo"})
    assert by_kind(manifests, "Deployment", "todo-backend")


def test_standard_labels(render):
    labels = by_kind(render(release="r1"), "Deployment", "r1-todo-chatbot-backend")["metadata"][
        "labels"
    ]
    assert labels["app.kubernetes.io/instance"] == "r1"
    assert labels["app.kubernetes.io/managed-by"] == "Helm"
    assert labels["helm.sh/chart"] == f"todo-chatbot-{VERSION}"
    assert labels["app.kubernetes.io/version"] == VERSION


def test_replica_count_scales_the_backend(render):
    deployment = by_kind(
        render({"backend": {"replicaCount": 3}}), "Deployment", "todo-todo-chatbot-backend"
    )
    assert deployment["spec"]["replicas"] == 3


def test_autoscaling_adds_an_hpa_and_leaves_replicas_to_it(render):
    manifests = render(
        {
            "backend": {
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 2,
                    "maxReplicas": 7,
                    "targetCPUUtilizationPercentage": 60,
                }
            }
        }
    )
    hpa = by_kind(manifests, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 7)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert "replicas" not in by_kind(manifests, "Deployment", "todo-todo-chatbot-backend")["spec"]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_autoscaling_scale_down_stabilization_is_configurable(render):
    scaling = {"enabled": True, "scaleDownStabilizationSeconds": 30}
    hpa = by_kind(render({"backend": {"autoscaling": scaling}}), "HorizontalPodAutoscaler")
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30


def test_image_defaults_to_the_app_version_in_the_local_registry(render):
    manifests = render()
    backend = container(by_kind(manifests, "Deployment", "todo-todo-chatbot-backend"))
    assert backend["image"] == f"localhost:5001/todo-chatbot/backend:{VERSION}"
    assert backend["imagePullPolicy"] == "Always"


def test_image_registry_tag_and_digest(render):
    manifests = render(
        {
            "frontend": {
                "image": {
                    "registry": "ghcr.io",
                    "repository": "acme/web",
                    "tag": "2.0",
                    "pullPolicy": "Always",
                }
            },
            "backend": {"image": {"digest": "sha256:" + "b" * 64}},
        }
    )
    frontend = container(by_kind(manifests, "Deployment", "todo-todo-chatbot-frontend"))
    assert (frontend["image"], frontend["imagePullPolicy"]) == ("ghcr.io/acme/web:2.0", "Always")
    backend = container(by_kind(manifests, "Deployment", "todo-todo-chatbot-backend"))
    assert backend["image"] == "localhost:5001/todo-chatbot/backend@sha256:" + "b" * 64


def test_resources_are_configurable(render):
    resources = {
        "requests": {"cpu": "250m", "memory": "300Mi", "ephemeral-storage": "100Mi"},
        "limits": {"cpu": "2", "memory": "600Mi", "ephemeral-storage": "1Gi"},
    }
    manifests = render({"backend": {"resources": resources}})
    assert (
        container(by_kind(manifests, "Deployment", "todo-todo-chatbot-backend"))["resources"]
        == resources
    )


def test_set_takes_a_plain_number_as_a_quantity(render):
    # Helm parses `--set cpu=2` as the integer 2, not as the string "2".
    extra = ["--set", "backend.resources.limits.cpu=2"]
    deployment = by_kind(render(extra=extra), "Deployment", "todo-todo-chatbot-backend")
    assert container(deployment)["resources"]["limits"] == {
        "cpu": 2,
        "memory": "256Mi",
        "ephemeral-storage": "256Mi",
    }


def test_probes_and_grace_period_are_configurable(render):
    liveness = {"path": "/live", "periodSeconds": 2, "timeoutSeconds": 1, "failureThreshold": 2}
    manifests = render(
        {"frontend": {"probes": {"liveness": liveness}, "terminationGracePeriodSeconds": 45}}
    )
    deployment = by_kind(manifests, "Deployment", "todo-todo-chatbot-frontend")
    probe = container(deployment)["livenessProbe"]
    assert probe["httpGet"]["path"] == "/live"
    assert {key: probe[key] for key in ("periodSeconds", "timeoutSeconds", "failureThreshold")} == {
        "periodSeconds": 2,
        "timeoutSeconds": 1,
        "failureThreshold": 2,
    }
    # The readiness probe keeps its own defaults.
    assert container(deployment)["readinessProbe"]["periodSeconds"] == 3
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 45


def test_config_goes_to_the_config_maps(render):
    manifests = render(
        {
            "config": {"logLevel": "debug"},
            "ai": {"model": "gpt-4.1-mini", "timeoutSeconds": 12},
            "backend": {"chatLimits": {"turnsPerMinute": 3, "concurrentTurns": 1}},
            "frontend": {
                "signUpLimitPerClient": 20,
                "trustedProxies": ["10.244.0.0/24", "fd00::/8"],
            },
        }
    )
    data = {
        component: by_kind(manifests, "ConfigMap", f"todo-todo-chatbot-{component}")["data"]
        for component in ("backend", "frontend")
    }
    assert data == {
        "backend": {
            "AI_PROVIDER": "openai",
            "AI_MODEL": "gpt-4.1-mini",
            "AI_TIMEOUT_SECONDS": "12",
            "LOG_LEVEL": "debug",
            "CHAT_TURNS_PER_MINUTE": "3",
            "CHAT_CONCURRENT_TURNS": "1",
        },
        "frontend": {
            "BACKEND_URL": "http://todo-todo-chatbot-backend:8000",
            "PUBLIC_URL": "http://localhost:8080",
            "LOG_LEVEL": "debug",
            "SIGNUP_LIMIT_PER_CLIENT": "20",
            "TRUSTED_PROXIES": "10.244.0.0/24,fd00::/8",
        },
    }


def test_public_url_follows_the_ingress_host_and_tls(render):
    manifests = render(
        {"ingress": {"enabled": True, "host": "todo.acme.dev", "tls": {"enabled": True}}}
    )
    config = by_kind(manifests, "ConfigMap", "todo-todo-chatbot-frontend")["data"]
    assert config["PUBLIC_URL"] == "https://todo.acme.dev"


@pytest.mark.parametrize(
    ("route", "url"),
    [
        ({}, "https://todo.acme.dev"),
        ({"scheme": "http"}, "http://todo.acme.dev"),
    ],
)
def test_public_url_follows_the_route_hostname_and_scheme(render, route, url):
    values = {
        "httpRoute": {
            "enabled": True,
            "parentRefs": [{"name": "public"}],
            "hostnames": ["todo.acme.dev", "todo.acme.org"],
            **route,
        }
    }
    config = by_kind(render(values), "ConfigMap", "todo-todo-chatbot-frontend")["data"]
    assert config["PUBLIC_URL"] == url


def test_public_url_setting_wins_over_the_route(render):
    values = {
        "config": {"publicUrl": "https://todo.acme.org"},
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "public"}]},
    }
    config = by_kind(render(values), "ConfigMap", "todo-todo-chatbot-frontend")["data"]
    assert config["PUBLIC_URL"] == "https://todo.acme.org"


def test_a_config_change_rolls_the_pods(render):
    before = pod_annotations(render(), "todo-todo-chatbot-backend")
    after = pod_annotations(
        render({"config": {"logLevel": "warning"}}), "todo-todo-chatbot-backend"
    )
    assert before["checksum/config"] != after["checksum/config"]
    assert before["checksum/secret"] == after["checksum/secret"]


def test_a_secret_change_rolls_the_pods(render, credentials):
    before = pod_annotations(render(), "todo-todo-chatbot-frontend")
    rotated = {**credentials, "betterAuthSecret": credentials["betterAuthSecret"][::-1]}
    after = pod_annotations(render({"secrets": rotated}), "todo-todo-chatbot-frontend")
    assert before["checksum/secret"] != after["checksum/secret"]


def test_pod_annotations_are_merged_with_the_checksums(render):
    annotations = pod_annotations(
        render({"backend": {"podAnnotations": {"team": "todo"}}}), "todo-todo-chatbot-backend"
    )
    assert annotations["team"] == "todo" and "checksum/config" in annotations


def test_openai_provider_gives_only_the_openai_key(render):
    backend = by_kind(render(), "Deployment", "todo-todo-chatbot-backend")
    assert "OPENAI_API_KEY" in env_names(backend) and "GEMINI_API_KEY" not in env_names(backend)


def test_gemini_provider_gives_only_the_gemini_key(render):
    manifests = render({"ai": {"provider": "gemini"}})
    backend = by_kind(manifests, "Deployment", "todo-todo-chatbot-backend")
    assert "GEMINI_API_KEY" in env_names(backend) and "OPENAI_API_KEY" not in env_names(backend)
    assert set(by_kind(manifests, "Secret")["data"]) == {
        "DATABASE_URL",
        "BETTER_AUTH_SECRET",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
    }


def test_the_frontend_never_gets_an_ai_key(render):
    for values in ({}, {"ai": {"provider": "gemini"}}, {"secrets": {"existingSecret": "c"}}):
        frontend = by_kind(render(values), "Deployment", "todo-todo-chatbot-frontend")
        assert env_names(frontend) == {"DATABASE_URL", "BETTER_AUTH_SECRET", "INSTANCE_NAME"}


def database_keys(manifests):
    """The Secret key behind DATABASE_URL of each component: {component: key}."""
    return {
        component: next(
            var["valueFrom"]["secretKeyRef"]["key"]
            for var in container(
                by_kind(manifests, "Deployment", f"todo-todo-chatbot-{component}")
            )["env"]
            if var["name"] == "DATABASE_URL"
        )
        for component in ("backend", "frontend")
    }


def test_both_apps_read_database_url_by_default(render):
    for values in ({}, {"secrets": {"existingSecret": "creds"}}):
        assert database_keys(render(values)) == {
            "backend": "DATABASE_URL",
            "frontend": "DATABASE_URL",
        }
    assert "FRONTEND_DATABASE_URL" not in by_kind(render(), "Secret")["data"]


def test_frontend_database_url_gives_the_frontend_its_own_role(render, credentials):
    url = credentials["databaseUrl"].replace("todo:", "todo_frontend:")
    manifests = render({"secrets": {"frontendDatabaseUrl": url}})
    assert database_keys(manifests) == {
        "backend": "DATABASE_URL",
        "frontend": "FRONTEND_DATABASE_URL",
    }
    data = by_kind(manifests, "Secret")["data"]
    assert base64.b64decode(data["FRONTEND_DATABASE_URL"]).decode() == url


def test_an_existing_secret_can_hold_the_frontend_database_url(render):
    values = {"secrets": {"existingSecret": "creds", "existingSecretFrontendDatabaseUrl": True}}
    manifests = render(values, with_credentials=False)
    assert database_keys(manifests) == {
        "backend": "DATABASE_URL",
        "frontend": "FRONTEND_DATABASE_URL",
    }


def test_existing_secret_replaces_the_managed_one(render):
    manifests = render({"secrets": {"existingSecret": "creds"}}, with_credentials=False)
    assert all_of(manifests, "Secret") == []
    env = container(by_kind(manifests, "Deployment", "todo-todo-chatbot-backend"))["env"]
    assert {
        var["valueFrom"]["secretKeyRef"]["name"]
        for var in env
        if "secretKeyRef" in var.get("valueFrom", {})
    } == {"creds"}


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"ingress": {"enabled": True}}, "Ingress"),
        (
            {"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}], "hostnames": ["t.io"]}},
            "HTTPRoute",
        ),
        ({"backend": {"autoscaling": {"enabled": True}}}, "HorizontalPodAutoscaler"),
    ],
)
def test_toggles_add_optional_objects(render, values, kind):
    assert all_of(render(), kind) == []
    assert len(all_of(render(values), kind)) == 1


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"networkPolicy": {"enabled": False}}, "NetworkPolicy"),
        (
            {
                "backend": {"podDisruptionBudget": {"enabled": False}},
                "frontend": {"podDisruptionBudget": {"enabled": False}},
            },
            "PodDisruptionBudget",
        ),
    ],
)
def test_toggles_remove_default_objects(render, values, kind):
    assert all_of(render(values), kind) == []


def test_ingress_exposes_only_the_frontend(render):
    ingress = by_kind(
        render(
            {
                "ingress": {
                    "enabled": True,
                    "className": "traefik",
                    "host": "todo.acme.dev",
                    "tls": {"enabled": True},
                }
            }
        ),
        "Ingress",
    )
    assert ingress["spec"]["ingressClassName"] == "traefik"
    service = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert service == {"name": "todo-todo-chatbot-frontend", "port": {"number": 80}}
    assert ingress["spec"]["tls"] == [
        {"hosts": ["todo.acme.dev"], "secretName": "todo-todo-chatbot-tls"}
    ]


def test_ingress_and_route_follow_the_frontend_service_port(render):
    values = {
        "frontend": {"service": {"port": 8080}},
        "ingress": {"enabled": True},
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]},
    }
    manifests = render(values)  # the Ingress host is the public URL
    ingress = by_kind(manifests, "Ingress")
    service = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert service["port"] == {"number": 8080}
    route = by_kind(manifests, "HTTPRoute")
    assert route["spec"]["rules"][0]["backendRefs"][0]["port"] == 8080
    frontend = by_kind(manifests, "Service", "todo-todo-chatbot-frontend")
    assert frontend["spec"]["ports"][0]["port"] == 8080


def test_frontend_node_port(render):
    service = by_kind(
        render({"frontend": {"service": {"type": "NodePort", "nodePort": 30080}}}),
        "Service",
        "todo-todo-chatbot-frontend",
    )
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["nodePort"] == 30080


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
def test_an_exposed_frontend_takes_the_external_traffic_policy(render, policy):
    values = {"frontend": {"service": {"type": "LoadBalancer", "externalTrafficPolicy": policy}}}
    service = by_kind(render(values), "Service", "todo-todo-chatbot-frontend")
    assert service["spec"]["externalTrafficPolicy"] == policy


def test_a_cluster_ip_frontend_has_no_external_traffic_policy(render):
    service = by_kind(
        render({"frontend": {"service": {"externalTrafficPolicy": "Local"}}}),
        "Service",
        "todo-todo-chatbot-frontend",
    )
    assert "externalTrafficPolicy" not in service["spec"]


def test_backend_service_stays_internal(render):
    manifests = render({"frontend": {"service": {"type": "LoadBalancer"}}})
    assert by_kind(manifests, "Service", "todo-todo-chatbot-backend")["spec"]["type"] == "ClusterIP"


def test_network_policy_egress_is_configurable(render):
    manifests = render(
        {
            "networkPolicy": {
                "egress": {
                    "databaseCidrs": ["10.0.0.0/24"],
                    "databasePort": 15432,
                    "aiCidrs": ["10.0.1.5/32", "10.0.2.0/24"],
                    "aiPort": 18090,
                }
            }
        }
    )
    _, database, ai = by_kind(manifests, "NetworkPolicy", "todo-todo-chatbot-backend")["spec"][
        "egress"
    ]
    assert database == {
        "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
        "ports": [{"port": 15432, "protocol": "TCP"}],
    }
    assert [peer["ipBlock"]["cidr"] for peer in ai["to"]] == ["10.0.1.5/32", "10.0.2.0/24"]


def test_helm_test_pod_checks_both_services(render):
    pod = by_kind(render(), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "helm-test"
    urls = pod["spec"]["containers"][0]["command"][3:]
    assert urls == [
        "http://todo-todo-chatbot-frontend:80/healthz",
        "http://todo-todo-chatbot-backend:8000/readyz",
    ]


def test_helm_test_pod_has_the_standard_labels_and_is_admitted_by_the_backend(render):
    manifests = render(release="r1")
    pod = by_kind(manifests, "Pod")
    backend = by_kind(manifests, "Deployment", "r1-todo-chatbot-backend")
    expected = {**backend["metadata"]["labels"], "app.kubernetes.io/component": "helm-test"}
    assert pod["metadata"]["labels"] == expected
    assert pod["metadata"]["labels"]["app.kubernetes.io/version"] == VERSION
    policy = by_kind(manifests, "NetworkPolicy", "r1-todo-chatbot-backend")
    selectors = [
        peer["podSelector"]["matchLabels"] for peer in policy["spec"]["ingress"][0]["from"]
    ]
    assert any(selector.items() <= pod["metadata"]["labels"].items() for selector in selectors)


def test_helm_test_pod_takes_the_backend_pull_secrets_and_scheduling(render):
    scheduling = {
        "nodeSelector": {"kubernetes.io/arch": "arm64"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {}},
    }
    manifests = render({"backend": {**scheduling, "image": {"pullSecrets": ["regcred"]}}})
    spec = by_kind(manifests, "Pod")["spec"]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert {key: spec[key] for key in scheduling} == scheduling
    backend = by_kind(manifests, "Deployment", "todo-todo-chatbot-backend")["spec"]["template"]
    assert spec["imagePullSecrets"] == backend["spec"]["imagePullSecrets"]


def test_service_account_annotations_are_per_component(render):
    identity = {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/todo-backend"}
    manifests = render({"backend": {"serviceAccount": {"annotations": identity}}})
    backend = by_kind(manifests, "ServiceAccount", "todo-todo-chatbot-backend")
    assert backend["metadata"]["annotations"] == identity
    frontend = by_kind(manifests, "ServiceAccount", "todo-todo-chatbot-frontend")
    assert "annotations" not in frontend["metadata"]


@pytest.mark.parametrize("min_available", [0, 2])
def test_disruption_budget_min_available_replaces_max_unavailable(render, min_available):
    values = {"frontend": {"podDisruptionBudget": {"minAvailable": min_available}}}
    manifests = render(values)
    frontend = by_kind(manifests, "PodDisruptionBudget", "todo-todo-chatbot-frontend")["spec"]
    assert frontend["minAvailable"] == min_available and "maxUnavailable" not in frontend
    backend = by_kind(manifests, "PodDisruptionBudget", "todo-todo-chatbot-backend")["spec"]
    assert backend["maxUnavailable"] == 1 and "minAvailable" not in backend


def test_helm_test_pod_has_its_own_network_policy_at_the_configured_ports(render):
    manifests = render(
        {
            "backend": {"containerPorts": {"http": 8080}},
            "frontend": {"containerPorts": {"http": 8081}},
        }
    )
    pod = by_kind(manifests, "Pod")
    policy = by_kind(manifests, "NetworkPolicy", "todo-todo-chatbot-helm-test")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert [rule["ports"][0]["port"] for rule in policy["egress"][1:]] == [8081, 8080]
    assert "ingress" not in policy


def test_helm_test_network_policy_goes_with_the_others(render):
    manifests = render({"networkPolicy": {"enabled": False}})
    assert all_of(manifests, "NetworkPolicy") == []
