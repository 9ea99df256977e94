"""The Secret: managed from values, or an existing one; errors never show a value."""

import pytest
from support.manifests import AI_KEY, AUTH_SECRET, DATABASE_URL, all_of, by_kind, managed_secrets
from todo_chatbot import Secrets, SecretsProps


def test_managed_secret_holds_the_given_keys(chart, secrets):
    secret = by_kind(list(chart.to_json()), "Secret")
    assert secret["metadata"]["name"] == "todo-chatbot"
    assert secret["stringData"] == {
        "DATABASE_URL": DATABASE_URL,
        "BETTER_AUTH_SECRET": AUTH_SECRET,
        "OPENAI_API_KEY": AI_KEY,
    }
    assert secret["metadata"]["labels"]["app.kubernetes.io/component"] == "secrets"


def test_a_frontend_database_url_gets_its_own_key(chart):
    url = "postgresql://front:pw@db/todo"
    Secrets(chart, "Secrets", props=managed_secrets(frontend_database_url=url))
    assert by_kind(list(chart.to_json()), "Secret")["stringData"]["FRONTEND_DATABASE_URL"] == url


def test_existing_secret_creates_nothing_and_is_referenced(chart):
    secrets = Secrets(chart, "Secrets", props=SecretsProps(existing_secret="creds"))
    assert all_of(list(chart.to_json()), "Secret") == []
    assert secrets.name == "creds"
    reference = secrets.env_value("GEMINI_API_KEY").value_from["secretKeyRef"]
    assert (reference["name"], reference["key"]) == ("creds", "GEMINI_API_KEY")


def test_fails_for_a_key_the_managed_secret_lacks(secrets):
    with pytest.raises(ValueError, match="secret has no key 'GEMINI_API_KEY'"):
        secrets.env_value("GEMINI_API_KEY")


SECRET_VALUE = "postgres-but-not-a-url-" + "x" * 16


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"better_auth_secret": AUTH_SECRET, "openai_api_key": AI_KEY},
            "'database_url' is required",
        ),
        (
            {
                "database_url": SECRET_VALUE,
                "better_auth_secret": AUTH_SECRET,
                "openai_api_key": AI_KEY,
            },
            "'database_url' must start with postgresql://",
        ),
        (
            {"database_url": DATABASE_URL, "openai_api_key": AI_KEY},
            "'better_auth_secret' is required",
        ),
        (
            {
                "database_url": DATABASE_URL,
                "better_auth_secret": "short-secret",
                "openai_api_key": AI_KEY,
            },
            "'better_auth_secret' must be at least 32 characters, got 12",
        ),
        (
            {"database_url": DATABASE_URL, "better_auth_secret": AUTH_SECRET},
            "one of 'openai_api_key' or 'gemini_api_key' is required",
        ),
        (
            {
                "database_url": DATABASE_URL,
                "frontend_database_url": SECRET_VALUE,
                "better_auth_secret": AUTH_SECRET,
                "openai_api_key": AI_KEY,
            },
            "'frontend_database_url' must start with postgresql://",
        ),
        ({"existing_secret": ""}, "'existing_secret' must be a Secret name"),
    ],
)
def test_fails_when_values_are_missing_or_malformed(chart, props, message):
    with pytest.raises(ValueError, match=message) as error:
        Secrets(chart, "Secrets", props=SecretsProps(**props))
    for value in props.values():
        if value:
            assert value not in str(error.value)
