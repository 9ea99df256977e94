"""The end user's browser: Debian's Chromium driven by Playwright, in the user's namespace.

Run by e2e_user.Browser as `ip netns exec todo-user python e2e_browser.py <scenario> <url>`.
A scenario prints `{"checkpoint": name}` and waits for a line on stdin where the test must act
on the cluster in between (e.g. scale the backend to 0), and prints `{"result": {...}}` at the
end. A failed expectation ends the script with Playwright's message on stderr and status 1.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

# Run as a script: the shared test helpers (tests/support) are not on the path by themselves.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    add_task,
    record_dialogs,
    sign_up_as,
    task_item,
    visit,
)

# Refused (unavailable) or dropped (too long) connections: both are worded for users.
FRIENDLY = re.compile(r"The task service is (unavailable right now|taking too long to answer)")
MARKUP = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def checkpoint(name: str) -> None:
    """Tell the test we reached `name` and wait until it says go on."""
    print(json.dumps({"checkpoint": name}), flush=True)
    sys.stdin.readline()


def sign_up(page: Page, url: str) -> str:
    """Sign up a new user through the pages; return the email."""
    email = f"e2e-{secrets.token_hex(6)}@example.com"
    sign_up_as(page, url, email=email, password=secrets.token_urlsafe(16))
    return email


def round_trip(page: Page, url: str) -> dict[str, Any]:
    """Sign up, add a task, tick it, reload (stored by the backend), ask the assistant."""
    email = sign_up(page, url)
    title = f"e2e browser {secrets.token_hex(4)}"
    add_task(page, title)
    expect(task_item(page, title)).to_have_count(1)
    page.get_by_role("checkbox", name=title).check()
    expect(task_item(page, title)).to_have_class("done")
    page.reload()
    expect(page.get_by_role("checkbox", name=title)).to_be_checked()
    page.get_by_label("Message to the assistant").fill("add a task to buy milk")
    page.get_by_role("button", name="Send").click()
    expect(task_item(page, "buy milk")).to_have_count(1)
    return {"email": email, "title": title}


def whole_visit(page: Page, url: str) -> dict[str, Any]:
    """support.browser.visit: tasks, the assistant, complete, delete, sign out and back in."""
    email = f"e2e-{secrets.token_hex(6)}@example.com"
    visit(page, url, email=email, password=secrets.token_urlsafe(16))
    return {"email": email}


def escaping(page: Page, url: str) -> dict[str, Any]:
    """Markup in a title is shown as text, in the list and in the assistant's echo."""
    dialogs = record_dialogs(page)
    sign_up(page, url)
    add_task(page, MARKUP)
    expect(task_item(page, "onerror=alert(1)").locator(".title")).to_have_text(MARKUP)
    page.get_by_label("Message to the assistant").fill(f"add {MARKUP}")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#tasks li")).to_have_count(2)
    page.reload()
    expect(page.locator("#tasks li")).to_have_count(2)
    return {
        "shown": page.locator("#tasks .title").all_inner_texts(),
        "images": page.locator("img").count(),
        "scripts_in_list": page.locator("#tasks script").count(),
        "dialogs": dialogs,
    }


def outage(page: Page, url: str) -> dict[str, Any]:
    """A task added while the backend is gone fails kindly and succeeds once it is back."""
    sign_up(page, url)
    add_task(page, "before the outage")
    expect(task_item(page, "before the outage")).to_have_count(1)
    checkpoint("backend-stopped")
    add_task(page, "during the outage")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(FRIENDLY)
    message = alert.inner_text()
    # The typed title is kept, so nothing is lost.
    expect(page.get_by_label("New task")).to_have_value("during the outage")
    checkpoint("backend-started")
    # No reload: the same page recovers on the next action.
    page.get_by_role("button", name="Add", exact=True).click()
    expect(task_item(page, "during the outage")).to_have_count(1, timeout=30_000)
    expect(alert).to_be_hidden()
    return {"message": message, "tasks": page.locator("#tasks li").count()}


SCENARIOS: dict[str, Callable[[Page, str], dict[str, Any]]] = {
    "round_trip": round_trip,
    "visit": whole_visit,
    "escaping": escaping,
    "outage": outage,
}


def main() -> None:
    """Run one scenario in a fresh browser context; fail on any JavaScript error."""
    scenario, url = SCENARIOS[sys.argv[1]], sys.argv[2].rstrip("/")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(15_000)
        # The backend client's own timeout (5 s) must fit inside an expectation.
        expect.set_options(timeout=15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            result = scenario(page, url)
        except AssertionError:
            alert = page.locator("[role=alert]")
            shown = alert.all_inner_texts() if alert.count() else []
            print(f"page {page.url}, alerts {shown}", file=sys.stderr)
            raise
        browser.close()
    result["javascript_errors"] = errors
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main()
