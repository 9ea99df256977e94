"""The apps' copies of facts the constructs own equal them (images cannot import the constructs)."""

import typing

from todo_backend.core.config import PROVIDER_BASE_URLS, PROVIDER_KEY_VARIABLES, Settings
from todo_chatbot import backend, choices
from todo_chatbot.secret import AI_KEYS
from todo_common.config import MIN_AUTH_SECRET_LENGTH, CommonSettings


def _literal_choices(settings: type, name: str) -> tuple[str, ...]:
    hint = typing.get_type_hints(settings, include_extras=True)[name]
    literal = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    return typing.get_args(literal)


def test_log_levels_are_the_constructs():
    assert _literal_choices(CommonSettings, "LOG_LEVEL") == choices.LOG_LEVELS


def test_ai_providers_are_the_constructs():
    assert _literal_choices(Settings, "AI_PROVIDER") == choices.AI_PROVIDERS
    assert tuple(PROVIDER_BASE_URLS) == choices.AI_PROVIDERS
    assert PROVIDER_KEY_VARIABLES == AI_KEYS


def test_auth_secret_minimum_is_the_constructs():
    assert MIN_AUTH_SECRET_LENGTH == choices.MIN_AUTH_SECRET_LENGTH


def test_chat_turn_deadline_is_the_one_the_backend_grace_period_outlasts():
    default = Settings.model_fields["CHAT_TURN_TIMEOUT_SECONDS"].default
    assert default == backend.CHAT_TURN_TIMEOUT_SECONDS
