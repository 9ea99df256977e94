"""secrets.externalSecret: the External Secrets Operator creates the release's Secret."""

import pytest
from support import k8s_schema
from support.external_secret import REMOTE_REFS, SPEC_DATA
from support.manifests import all_of, by_kind, container
from test_bad_input import assert_no_secret_in, refused
from test_own_image_values import notes_of

RELEASE_SECRET = "todo-todo-chatbot"


def external(**overrides):
    """Values that turn the ExternalSecret on, with `overrides` in secrets.externalSecret."""
    return {
        "secrets": {
            "externalSecret": {
                "enabled": True,
                "secretStoreRef": {"name": "vault"},
                "remoteRefs": REMOTE_REFS,
                **overrides,
            }
        }
    }


def pod_annotations(manifests, component):
    deployment = by_kind(manifests, "Deployment", f"todo-todo-chatbot-{component}")
    return deployment["spec"]["template"]["metadata"]["annotations"]


def test_replaces_the_charts_secret_by_an_external_secret_the_pods_read(render):
    manifests = render(external(), with_credentials=False)
    assert all_of(manifests, "Secret") == []
    spec = by_kind(manifests, "ExternalSecret", RELEASE_SECRET)["spec"]
    assert spec["target"] == {"name": RELEASE_SECRET, "creationPolicy": "Owner"}
    assert spec["secretStoreRef"] == {"name": "vault", "kind": "SecretStore"}
    backend = container(by_kind(manifests, "Deployment", "todo-todo-chatbot-backend"))
    names = {
        variable["valueFrom"]["secretKeyRef"]["name"]
        for variable in backend["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    assert names == {RELEASE_SECRET}


def test_maps_each_key_to_its_remote_key_and_property(render):
    manifests = render(external(), with_credentials=False)
    assert by_kind(manifests, "ExternalSecret", RELEASE_SECRET)["spec"]["data"] == SPEC_DATA


def test_store_kind_and_refresh_interval_come_from_the_values(render):
    values = external(
        secretStoreRef={"name": "shared", "kind": "ClusterSecretStore"}, refreshInterval="5m"
    )
    spec = by_kind(render(values, with_credentials=False), "ExternalSecret")["spec"]
    assert spec["secretStoreRef"] == {"name": "shared", "kind": "ClusterSecretStore"}
    assert spec["refreshInterval"] == "5m"


def test_refreshes_hourly_by_default(render):
    spec = by_kind(render(external(), with_credentials=False), "ExternalSecret")["spec"]
    assert spec["refreshInterval"] == "1h"


def test_is_off_by_default(render):
    manifests = render()
    assert all_of(manifests, "ExternalSecret") == []
    assert by_kind(manifests, "Secret", RELEASE_SECRET)
    assert "checksum/external-secret" not in pod_annotations(manifests, "backend")


def test_pods_roll_when_the_external_secret_changes(render):
    before = render(external(), with_credentials=False)
    moved = {**REMOTE_REFS, "OPENAI_API_KEY": {"key": "openai-rotated"}}
    after = render(external(remoteRefs=moved), with_credentials=False)
    for component in ("backend", "frontend"):
        old = pod_annotations(before, component)["checksum/external-secret"]
        assert pod_annotations(after, component)["checksum/external-secret"] != old


def test_migrations_get_their_own_hook_external_secret_with_the_database_url_only(render):
    manifests = render({**external(), "migrations": {"enabled": True}}, with_credentials=False)
    hook = by_kind(manifests, "ExternalSecret", "todo-todo-chatbot-migrations")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert hook["spec"]["target"]["name"] == "todo-todo-chatbot-migrations"
    assert hook["spec"]["data"] == [
        {"secretKey": "DATABASE_URL", "remoteRef": REMOTE_REFS["DATABASE_URL"]}
    ]
    job = container(by_kind(manifests, "Job", "todo-todo-chatbot-migrations"))
    (database_url,) = job["env"][:1]
    assert database_url["valueFrom"]["secretKeyRef"]["name"] == "todo-todo-chatbot-migrations"
    assert all_of(manifests, "Secret") == []


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
def test_renders_objects_the_operators_crd_accepts(render, version):
    values = {**external(refreshInterval="90s"), "migrations": {"enabled": True}}
    for manifest in all_of(render(values, with_credentials=False), "ExternalSecret"):
        assert k8s_schema.errors(manifest, version) == []


@pytest.mark.parametrize(
    ("provider", "key"), [("openai", "OPENAI_API_KEY"), ("gemini", "GEMINI_API_KEY")]
)
@pytest.mark.parametrize("missing", ["DATABASE_URL", "BETTER_AUTH_SECRET", "AI"])
def test_fails_when_a_needed_key_has_no_remote_ref(render, provider, key, missing):
    missing = key if missing == "AI" else missing
    refs = {**REMOTE_REFS, key: {"key": "ai"}}
    refs.pop(missing)
    values = {**external(remoteRefs=refs), "ai": {"provider": provider}}
    assert (
        f"secrets.externalSecret.remoteRefs.{missing} is required when "
        "secrets.externalSecret.enabled is true: the remote key (and property) that holds "
        f"{missing}" in refused(render, values, with_credentials=False)
    )


def test_fails_when_no_secret_store_is_named(render):
    assert (
        "secrets.externalSecret.secretStoreRef.name is required when "
        "secrets.externalSecret.enabled is true"
        in refused(render, external(secretStoreRef={"name": ""}), with_credentials=False)
    )


def test_fails_when_an_existing_secret_is_named_too(render):
    values = external()
    values["secrets"]["existingSecret"] = "creds"
    assert (
        "secrets.existingSecret and secrets.externalSecret.enabled both say where the Secret "
        "comes from: set one" in refused(render, values, with_credentials=False)
    )


def test_fails_when_a_component_names_a_key_without_a_remote_ref(render):
    values = {**external(), "frontend": {"extraSecretKeys": ["GROQ_API_KEY"]}}
    assert (
        "frontend.extraSecretKeys names GROQ_API_KEY, which secrets.externalSecret.remoteRefs "
        "lacks: add it there" in refused(render, values, with_credentials=False)
    )


def test_a_component_gets_a_key_with_a_remote_ref(render):
    refs = {**REMOTE_REFS, "GROQ_API_KEY": {"key": "groq"}}
    values = {**external(remoteRefs=refs), "frontend": {"extraSecretKeys": ["GROQ_API_KEY"]}}
    frontend = by_kind(
        render(values, with_credentials=False), "Deployment", "todo-todo-chatbot-frontend"
    )
    assert "GROQ_API_KEY" in {variable["name"] for variable in container(frontend)["env"]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"remoteRefs": {**REMOTE_REFS, "DATABASE_URL": {"property": "url"}}},
            "at '/secrets/externalSecret/remoteRefs/DATABASE_URL': missing property 'key'",
        ),
        (
            {"remoteRefs": {**REMOTE_REFS, "bad key": {"key": "x"}}},
            "at '/secrets/externalSecret/remoteRefs': additional properties 'bad key' not allowed",
        ),
        (
            {"refreshInterval": "hourly"},
            "at '/secrets/externalSecret/refreshInterval': 'hourly' does not match pattern",
        ),
        (
            {"secretStoreRef": {"name": "vault", "kind": "Vault"}},
            "at '/secrets/externalSecret/secretStoreRef/kind': value must be one of "
            "'SecretStore', 'ClusterSecretStore'",
        ),
    ],
)
def test_fails_when_a_value_breaks_the_schema(render, overrides, message):
    assert message in refused(render, external(**overrides), with_credentials=False)


def test_no_error_prints_a_secret_even_with_credentials_given(render, credentials):
    values = external(secretStoreRef={"name": ""})
    values["secrets"].update(credentials)
    assert_no_secret_in(refused(render, values, with_credentials=False), credentials)


def test_notes_name_the_store_and_the_step_that_rolls_the_pods(chart_dir, tmp_path, credentials):
    notes = notes_of(chart_dir, tmp_path, external(refreshInterval="1m"))
    assert 'Credentials come from the SecretStore "vault"' in notes
    assert 'into the Secret "todo-todo-chatbot" every 1m' in notes
    assert (
        "kubectl rollout restart deployment/todo-todo-chatbot-backend "
        "deployment/todo-todo-chatbot-frontend --namespace default" in notes
    )
    assert "rollout restart" not in notes_of(chart_dir, tmp_path, {"secrets": credentials})
