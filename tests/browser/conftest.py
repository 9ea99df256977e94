"""Fixtures of the browser tests: the whole app as processes, and headless Chromium.

Chromium is Debian's (`make setup-chromium`), driven by Playwright's Python client; no
browser is downloaded. Its flags keep it off the network: the machine has no internet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from support.browser import CHROMIUM, CHROMIUM_ARGS
from support.fixtures import (  # noqa: F401 (pytest fixtures)
    ai_key,
    auth_secret,
    database_url,
    postgres,
    standin,
)
from support.stack import (  # noqa: F401 (pytest fixtures)
    backend,
    frontend,
    frontend_env,
    start_backend,
    start_frontend,
)


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
