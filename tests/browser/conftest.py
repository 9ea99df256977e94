"""Fixtures of the browser tests: the whole app as processes, and headless Chromium.

Chromium is Debian's (`make setup-chromium`), driven by Playwright's Python client; no
browser is downloaded. Its flags keep it off the network: the machine has no internet.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from support.app_process import AppProcess
from support.browser import CHROMIUM, CHROMIUM_ARGS
from support.postgres import PostgresServer
from support.stack import (  # noqa: F401 (pytest fixtures)
    backend,
    frontend,
    frontend_env,
    start_backend,
    start_frontend,
)
from support.standin import StandIn


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer.started() as server:
        yield server


@pytest.fixture(scope="module")
def database_url(postgres: PostgresServer) -> str:
    return postgres.create_database()


@pytest.fixture(scope="session")
def auth_secret() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def ai_key() -> str:
    return "sk-test-" + secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def standin(ai_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    with AppProcess.started(
        "ai_standin",
        env={"AI_STANDIN_KEY": ai_key},
        log_dir=tmp_path_factory.mktemp("standin"),
        args=["--port", "{port}", "--expected-key-env", "AI_STANDIN_KEY"],
        ready_path="/_standin/health",
    ) as process:
        yield StandIn(process)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make setup-chromium`")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), failing on any JavaScript error."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
