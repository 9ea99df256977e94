"""The end user's browser in the UI tests (tests/browser, tests/e2e): Debian's Chromium, driven
by Playwright, and the steps a user takes on the task page."""

from __future__ import annotations

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
