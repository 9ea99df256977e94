"""Helpers to synthesize constructs and pick objects out of the output."""

from collections.abc import Callable
from typing import Any

import cdk8s
import pytest
from cdk8s import Testing as K8sTesting
from support.manifests import Manifest, app_props, managed_secrets
from todo_chatbot import Secrets, TodoChatbot


@pytest.fixture
def chart() -> cdk8s.Chart:
    return K8sTesting.chart()


@pytest.fixture
def synth_app() -> Callable[..., list[Manifest]]:
    """Synthesize a whole TodoChatbot with `app_props(**overrides)`."""

    def synth(**overrides: Any) -> list[Manifest]:
        app = K8sTesting.app()
        return list(TodoChatbot(app, "test", props=app_props(**overrides)).to_json())

    return synth


@pytest.fixture
def secrets(chart: cdk8s.Chart) -> Secrets:
    return Secrets(chart, "Secrets", props=managed_secrets())
