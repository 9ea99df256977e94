"""The backend gets its config, and only the secret keys it needs."""

import pytest
from support.manifests import by_kind, container, env_names, synth_backend
from todo_chatbot import Secrets, SecretsProps
from todo_chatbot.backend import CHAT_TURN_TIMEOUT_SECONDS
from todo_chatbot.workload import METRICS_PORT


def test_gets_database_auth_and_the_openai_key_by_default(chart, secrets):
    deployment = by_kind(synth_backend(chart, secrets), "Deployment")
    assert env_names(deployment) == {
        "DATABASE_URL",
        "BETTER_AUTH_SECRET",
        "OPENAI_API_KEY",
        "INSTANCE_NAME",
    }


def test_gets_only_the_gemini_key_with_gemini(chart):
    secrets = Secrets(chart, "Secrets", props=SecretsProps(existing_secret="creds"))
    deployment = by_kind(synth_backend(chart, secrets, ai_provider="gemini"), "Deployment")
    assert "GEMINI_API_KEY" in env_names(deployment)
    assert "OPENAI_API_KEY" not in env_names(deployment)


def test_secret_keys_come_from_secret_key_refs(chart, secrets):
    env = {
        var["name"]: var
        for var in container(by_kind(synth_backend(chart, secrets), "Deployment"))["env"]
    }
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "todo-chatbot",
        "key": "DATABASE_URL",
        "optional": False,
    }
    assert env["INSTANCE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_config_map_holds_the_non_secret_settings(chart, secrets):
    manifests = synth_backend(
        chart,
        secrets,
        ai_model="gemini-2.0-flash",
        ai_provider="openai",
        ai_base_url="http://ai.internal/v1",
        log_level="debug",
        chat_turns_per_minute=4,
    )
    assert by_kind(manifests, "ConfigMap")["data"] == {
        "AI_PROVIDER": "openai",
        "AI_MODEL": "gemini-2.0-flash",
        "AI_TIMEOUT_SECONDS": "30",
        "AI_BASE_URL": "http://ai.internal/v1",
        "LOG_LEVEL": "debug",
        "CHAT_TURNS_PER_MINUTE": "4",
        "CHAT_CONCURRENT_TURNS": "2",
    }
    assert container(by_kind(manifests, "Deployment"))["envFrom"] == [
        {"configMapRef": {"name": "todo-chatbot-backend"}}
    ]


def test_grace_period_outlasts_a_chat_turn(chart, secrets):
    pod = by_kind(synth_backend(chart, secrets), "Deployment")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > CHAT_TURN_TIMEOUT_SECONDS


def test_listens_on_the_contract_port(chart, secrets):
    deployment = by_kind(synth_backend(chart, secrets), "Deployment")
    assert container(deployment)["ports"] == [
        {"containerPort": 8000},
        {"containerPort": METRICS_PORT, "name": "metrics"},
    ]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"ai_provider": "anthropic"}, "'ai_provider' must be one of .* got 'anthropic'"),
        ({"log_level": "verbose"}, "'log_level' must be one of .* got 'verbose'"),
        ({"ai_timeout_seconds": 0}, "'ai_timeout_seconds' must be >= 1, got 0"),
        ({"chat_turns_per_minute": 0}, "'chat_turns_per_minute' must be >= 1, got 0"),
        ({"chat_concurrent_turns": -1}, "'chat_concurrent_turns' must be >= 1, got -1"),
    ],
)
def test_fails_when_props_are_invalid(chart, secrets, props, message):
    with pytest.raises(ValueError, match=message):
        synth_backend(chart, secrets, **props)


def test_fails_when_the_secret_lacks_the_provider_key(chart):
    secrets = Secrets(
        chart,
        "Secrets",
        props=SecretsProps(
            database_url="postgresql://db/todo",
            better_auth_secret="x" * 32,
            openai_api_key="key-from-a-test",
        ),
    )
    with pytest.raises(ValueError, match="secret has no key 'GEMINI_API_KEY'"):
        synth_backend(chart, secrets, ai_provider="gemini")
