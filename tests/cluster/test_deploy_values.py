"""The local release's values: valid for the chart, and pinned to the images just pushed."""

import ipaddress
import json
from pathlib import Path

import jsonschema
import pytest
from localcluster import deploy, settings

pytestmark = pytest.mark.cluster

SCHEMA = Path(__file__).resolve().parents[2] / "dist" / "todo-chatbot" / "values.schema.json"
DIGESTS = {"backend": "sha256:" + "b" * 64, "frontend": "sha256:" + "f" * 64}


def test_local_values_pass_the_charts_schema_with_digests_and_an_ingress() -> None:
    values = deploy.local_values(ingress_host=deploy.INGRESS_HOST, digests=DIGESTS, many_users=True)
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(values)


def test_only_many_users_lift_the_sign_up_limit() -> None:
    # `make up`'s release keeps the chart's limit; the e2e suite and the benchmark sign up
    # many users from the one user namespace.
    assert "signUpLimitPerClient" not in deploy.local_values()["frontend"]
    lifted = deploy.local_values(many_users=True)["frontend"]["signUpLimitPerClient"]
    assert lifted == deploy.MANY_USERS_SIGN_UPS


def test_only_many_users_lift_the_chat_rate() -> None:
    assert "backend" not in deploy.local_values()
    backend = deploy.local_values(many_users=True, digests=DIGESTS)["backend"]
    assert backend == {
        "chatLimits": {"turnsPerMinute": deploy.MANY_USERS_CHAT_TURNS_PER_MINUTE},
        "image": {"digest": DIGESTS["backend"]},
    }


def test_only_traefiks_hop_is_a_trusted_proxy() -> None:
    # Traefik's pods sit on the node's pod range; the NodePort's clients (the user link) do not.
    trusted = deploy.local_values()["frontend"]["trustedProxies"]
    assert trusted == [str(settings.POD_CIDR)]
    assert not any(settings.USER_NS_IP in ipaddress.ip_network(cidr) for cidr in trusted)


def test_digests_pin_each_component_and_keep_its_other_values() -> None:
    values = deploy.local_values(digests=DIGESTS)
    assert values["backend"] == {"image": {"digest": DIGESTS["backend"]}}
    assert values["frontend"]["image"] == {"digest": DIGESTS["frontend"]}
    assert values["frontend"]["service"] == {
        "type": "NodePort",
        "nodePort": deploy.FRONTEND_NODE_PORT,
        "externalTrafficPolicy": "Local",
    }
    assert "backend" not in deploy.local_values()


def test_merge_values_merges_maps_replaces_the_rest_and_leaves_its_inputs_alone() -> None:
    base = {"backend": {"replicaCount": 1, "env": ["A"]}, "config": {"logLevel": "info"}}
    extra = {"backend": {"env": ["B"]}, "ingress": {"enabled": True}}
    merged = deploy.merge_values(base, extra)
    assert merged == {
        "backend": {"replicaCount": 1, "env": ["B"]},
        "config": {"logLevel": "info"},
        "ingress": {"enabled": True},
    }
    merged["backend"]["env"].append("C")
    assert base["backend"]["env"] == ["A"] and extra["backend"]["env"] == ["B"]


def test_the_release_namespace_enforces_the_restricted_pod_security_profile() -> None:
    labels = deploy.namespace_manifest()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"


def test_the_nextjs_stack_values_pass_the_schema_and_name_this_releases_addresses() -> None:
    url = deploy.public_url()
    jwks = "http://todo-chatbot-frontend/api/auth/jwks"
    stack = deploy.nextjs_values(
        Path(__file__).resolve().parents[2],
        public_url=url,
        jwks_url=jwks,
        digest=DIGESTS["frontend"],
    )
    values = deploy.merge_values(deploy.local_values(digests=DIGESTS), stack)
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(values)
    assert {v["name"]: v["value"] for v in values["backend"]["extraEnvVars"]} == {
        "AUTH_JWKS_URL": jwks,
        "AUTH_JWT_ISSUER": url,
        "AUTH_JWT_AUDIENCE": url,
    }
    assert values["config"]["publicUrl"] == url
    assert values["frontend"]["image"]["repository"] == "todo-chatbot/frontend-next"
    assert values["frontend"]["image"]["digest"] == DIGESTS["frontend"]
    assert values["migrations"]["image"]["digest"] == DIGESTS["frontend"]
    # One database role for Better Auth's migration and the frontend (the example says why).
    assert values["secrets"]["existingSecretFrontendDatabaseUrl"] is False


def test_deploy_refuses_an_unknown_frontend() -> None:
    with pytest.raises(
        deploy.ClusterError, match="FRONTEND must be one of python, next, got 'vue'"
    ):
        deploy.deploy(settings.paths_from_env(), frontend="vue")
