"""The apps read the facts they share with the chart from their one definition (todo_contract),
and the copies in what cannot import it (TypeScript, the fixture image) equal it.

Also the copies of the backend's field limits in the frontends, which cannot import it.
"""

import re
import typing
from pathlib import Path

from todo_backend import models
from todo_backend.core.config import PROVIDER_BASE_URLS, PROVIDER_KEY_VARIABLES, Settings
from todo_chatbot import backend, choices
from todo_chatbot.secret import AI_KEYS
from todo_common.config import CommonSettings
from todo_frontend import models as frontend_models


def _literal_choices(settings: type, name: str) -> tuple[str, ...]:
    hint = typing.get_type_hints(settings, include_extras=True)[name]
    literal = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    return typing.get_args(literal)


def test_the_settings_read_the_log_levels():
    assert _literal_choices(CommonSettings, "LOG_LEVEL") == choices.LOG_LEVELS


def test_the_settings_read_the_ai_providers():
    assert _literal_choices(Settings, "AI_PROVIDER") == choices.AI_PROVIDERS
    assert tuple(PROVIDER_BASE_URLS) == choices.AI_PROVIDERS
    assert PROVIDER_KEY_VARIABLES == AI_KEYS


def test_chat_turn_deadline_is_the_one_the_backend_grace_period_outlasts():
    default = Settings.model_fields["CHAT_TURN_TIMEOUT_SECONDS"].default
    assert default == backend.CHAT_TURN_TIMEOUT_SECONDS


# Copies the Python cannot be imported into: the Next.js frontend's TypeScript, the frontend
# image (which holds no todo_backend) and the foreign fixture image (which holds no todo_common).
APP = Path(__file__).parents[3] / "app"


def _number_in(path: str, pattern: str) -> int:
    """The one number `pattern` captures in the source file app/`path`."""
    (found,) = re.findall(pattern, (APP / path).read_text())
    return int(found)


def test_the_next_frontends_secret_minimum_is_the_constructs():
    found = _number_in("frontend-next/src/lib/env.ts", r"const MIN_SECRET_LENGTH = (\d+);")
    assert found == choices.MIN_AUTH_SECRET_LENGTH


def test_the_foreign_images_secret_minimum_is_the_constructs():
    found = _number_in("foreign/foreign/settings.py", r"JWT_SECRET_MIN_CHARS = (\d+)")
    assert found == choices.MIN_AUTH_SECRET_LENGTH


def test_the_frontends_field_limits_are_the_backends():
    assert frontend_models.TITLE_MAX == models.TITLE_MAX_CHARS
    title = _number_in(
        "frontend-next/src/app/task-form.tsx", r'name="title"[^>]*maxLength=\{(\d+)\}'
    )
    assert title == models.TITLE_MAX_CHARS
    message = _number_in(
        "frontend-next/src/app/chat-panel.tsx", r'name="message"[^>]*maxLength=\{(\d+)\}'
    )
    assert message == models.CHAT_MESSAGE_MAX_CHARS
