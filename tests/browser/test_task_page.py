"""A user in headless Chromium: sign up, tasks, the assistant, sign out and in; no injection."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from support.app_process import AppProcess
from support.browser import add_task, record_dialogs, sign_up_as, task_item, visit
from support.stack import AppFactory, new_email, new_password

pytestmark = pytest.mark.browser


def sign_up(page: Page, app: AppProcess) -> str:
    """Sign up a new user through the pages; return the email."""
    email = new_email()
    sign_up_as(page, app.url, email=email, password=new_password())
    return email


def test_tasks_assistant_sign_out_and_in(page: Page, frontend: AppProcess) -> None:
    visit(page, frontend.url, email=new_email(), password=new_password())


def test_markup_in_a_task_title_is_shown_as_text(page: Page, frontend: AppProcess) -> None:
    dialogs = record_dialogs(page)
    sign_up(page, frontend)
    title = "<img src=x onerror=alert(1)>"
    add_task(page, title)
    expect(task_item(page, "onerror=alert(1)").locator(".title")).to_have_text(title)
    # The assistant's echo of it must stay text too.
    page.get_by_label("Message to the assistant").fill(f"add {title}")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#tasks li")).to_have_count(2)
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_an_assistant_failure_is_explained_in_the_chat(page: Page, frontend: AppProcess) -> None:
    sign_up(page, frontend)
    page.get_by_label("Message to the assistant").fill("what is pending? [[error500]]")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat-log li.error")).to_have_text(
        ["The AI provider failed (HTTP 500); please try again later."]
    )
    # The message stays in the box, ready to send again.
    expect(page.get_by_label("Message to the assistant")).to_have_value(
        "what is pending? [[error500]]"
    )


def test_page_recovers_after_a_backend_outage(
    page: Page, start_backend: AppFactory, start_frontend: AppFactory
) -> None:
    backend = start_backend()
    frontend = start_frontend(BACKEND_URL=backend.url)
    sign_up(page, frontend)
    add_task(page, "before the outage")
    expect(task_item(page, "before the outage")).to_have_count(1)

    backend.stop()
    add_task(page, "during the outage")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The task service is unavailable right now")
    # The typed title is kept, so nothing is lost.
    expect(page.get_by_label("New task")).to_have_value("during the outage")

    backend.start()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(task_item(page, "during the outage")).to_have_count(1)
    expect(alert).to_be_hidden()
