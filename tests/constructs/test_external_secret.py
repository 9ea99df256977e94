"""The ExternalSecret: the operator creates the release's Secret from a secret store."""

import pytest
from support import external_secret, k8s_schema
from support.manifests import all_of, by_kind, env_names
from todo_chatbot import ExternalSecret, ExternalSecretProps, RemoteRef, Secrets, SecretsProps

REMOTE_REFS = {key: RemoteRef(**ref) for key, ref in external_secret.REMOTE_REFS.items()}


def external(**overrides):
    return ExternalSecretProps(
        **{"secret_store_name": "vault", "remote_refs": REMOTE_REFS, **overrides}
    )


def test_targets_the_secret_it_names_and_owns_it(chart):
    ExternalSecret(chart, "ExternalSecret", secret_name="creds", props=external())
    spec = by_kind(list(chart.to_json()), "ExternalSecret", "creds")["spec"]
    assert spec["target"] == {"name": "creds", "creationPolicy": "Owner"}
    assert spec["secretStoreRef"] == {"name": "vault", "kind": "SecretStore"}


def test_maps_each_key_to_its_remote_key_and_property(chart):
    ExternalSecret(chart, "ExternalSecret", secret_name="creds", props=external())
    data = by_kind(list(chart.to_json()), "ExternalSecret")["spec"]["data"]
    assert data == external_secret.SPEC_DATA


def test_refreshes_hourly_by_default(chart):
    ExternalSecret(chart, "ExternalSecret", secret_name="creds", props=external())
    assert by_kind(list(chart.to_json()), "ExternalSecret")["spec"]["refreshInterval"] == "1h"


def test_secrets_creates_no_secret_and_hands_out_the_mapped_keys(synth_app):
    manifests = synth_app(secrets=SecretsProps(external_secret=external()))
    assert all_of(manifests, "Secret") == []
    assert (
        by_kind(manifests, "ExternalSecret", "todo-chatbot")["metadata"]["labels"][
            "app.kubernetes.io/component"
        ]
        == "secrets"
    )
    backend = by_kind(manifests, "Deployment", "todo-chatbot-backend")
    assert {"DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY"} <= env_names(backend)


def test_secrets_refuses_a_key_the_external_secret_does_not_map(chart):
    secrets = Secrets(chart, "Secrets", props=SecretsProps(external_secret=external()))
    with pytest.raises(ValueError, match="secret has no key 'GEMINI_API_KEY'"):
        secrets.env_value("GEMINI_API_KEY")


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
def test_is_valid_against_the_operators_crd(chart, version):
    props = external(secret_store_kind="ClusterSecretStore", refresh_interval="15m")
    ExternalSecret(chart, "ExternalSecret", secret_name="creds", props=props)
    assert k8s_schema.errors(by_kind(list(chart.to_json()), "ExternalSecret"), version) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret_store_name": ""}, "'secret_store_name' must name a SecretStore, got an empty"),
        (
            {"secret_store_kind": "Vault"},
            r"'secret_store_kind' must be one of \['SecretStore', 'ClusterSecretStore'\], "
            "got 'Vault'",
        ),
        (
            {"refresh_interval": "hourly"},
            "'refresh_interval' must be a Go duration .*, got 'hourly'",
        ),
        ({"remote_refs": {}}, "'remote_refs' must name at least one key, got none"),
        (
            {"remote_refs": {**REMOTE_REFS, "OPENAI_API_KEY": RemoteRef(key="")}},
            r"'remote_refs.OPENAI_API_KEY.key' must not be empty",
        ),
    ],
)
def test_fails_when_props_are_malformed(chart, overrides, message):
    with pytest.raises(ValueError, match=message):
        ExternalSecret(chart, "ExternalSecret", secret_name="creds", props=external(**overrides))


@pytest.mark.parametrize(
    ("refs", "message"),
    [
        (
            {key: ref for key, ref in REMOTE_REFS.items() if key != "DATABASE_URL"},
            "'remote_refs' must map DATABASE_URL",
        ),
        (
            {key: ref for key, ref in REMOTE_REFS.items() if key != "BETTER_AUTH_SECRET"},
            "'remote_refs' must map BETTER_AUTH_SECRET",
        ),
        (
            {key: ref for key, ref in REMOTE_REFS.items() if key != "OPENAI_API_KEY"},
            r"'remote_refs' must map one of \['GEMINI_API_KEY', 'OPENAI_API_KEY'\]",
        ),
        ({**REMOTE_REFS, "bad key": RemoteRef(key="x")}, "got 'bad key'"),
    ],
)
def test_secrets_fails_when_a_needed_key_is_not_mapped(chart, refs, message):
    with pytest.raises(ValueError, match=message):
        Secrets(chart, "Secrets", props=SecretsProps(external_secret=external(remote_refs=refs)))


def test_secrets_fails_when_both_an_existing_and_an_external_secret_are_set(chart):
    props = SecretsProps(existing_secret="creds", external_secret=external())
    with pytest.raises(ValueError, match="'existing_secret' and 'external_secret' both name"):
        Secrets(chart, "Secrets", props=props)
