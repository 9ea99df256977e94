"""The end user's browser in the UI tests (tests/browser, tests/e2e): Debian's Chromium, driven
by Playwright, and the steps a user takes on the task page."""

from __future__ import annotations

import urllib.request

from playwright.sync_api import Dialog, Locator, Page, expect

CHROMIUM = "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the machine is offline, so keep it from trying to reach
# anything but the app.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def is_served(url: str) -> bool:
    """Whether `url` answers 200 now; a refused connection or any other answer is a no."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:  # URLError and HTTPError included
        return False


def sign_up_as(page: Page, url: str, *, email: str, password: str) -> None:
    """Sign up through the pages, from the app's front door, sign in and land on the tasks."""
    page.goto(url)
    expect(page).to_have_url(f"{url}/signin")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create an account").click()
    expect(page).to_have_url(f"{url}/signin?signed-up")
    expect(page.get_by_role("status")).to_contain_text("If this email had no account")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{url}/")
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()


def add_task(page: Page, title: str) -> None:
    """Type a title and press Add."""
    page.get_by_label("New task").fill(title)
    page.get_by_role("button", name="Add", exact=True).click()


def task_item(page: Page, title: str) -> Locator:
    """The list item of the task titled `title`."""
    return page.locator("#tasks li").filter(has_text=title)


def record_dialogs(page: Page) -> list[str]:
    """Dismiss every dialog the page opens (an `alert` run by markup) and keep its message."""
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def visit(page: Page, url: str, *, email: str, password: str) -> None:
    """A user's whole visit, the same steps on either frontend.

    Sign up, add a task, have the assistant add another, complete the first (still done
    after a reload), delete the second, sign out (the list is then closed) and sign back in
    to the one task left.
    """
    sign_up_as(page, url, email=email, password=password)
    expect(page.get_by_text(email)).to_be_visible()
    expect(page.get_by_text("No tasks yet.")).to_be_visible()

    add_task(page, "write the report")
    expect(task_item(page, "write the report")).to_have_count(1)
    expect(page.get_by_label("New task")).to_have_value("")

    page.get_by_label("Message to the assistant").fill("add a task to buy milk")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat-log li.you")).to_have_text(["add a task to buy milk"])
    expect(page.locator("#chat-log li.assistant")).to_have_count(1)
    expect(page.locator("#chat-log li.assistant")).not_to_have_text(["…"])
    expect(task_item(page, "buy milk")).to_have_count(1)
    expect(page.locator("#tasks li")).to_have_count(2)

    page.get_by_role("checkbox", name="write the report").check()
    expect(task_item(page, "write the report")).to_have_class("done")
    # Stored by the backend, not just ticked on screen.
    page.reload()
    expect(page.get_by_role("checkbox", name="write the report")).to_be_checked()
    expect(page.get_by_role("checkbox", name="buy milk")).not_to_be_checked()

    page.get_by_role("button", name="Delete buy milk").click()
    expect(page.locator("#tasks li")).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{url}/signin")
    page.goto(url)
    expect(page).to_have_url(f"{url}/signin")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{url}/")
    expect(page.locator("#tasks li")).to_have_count(1)
