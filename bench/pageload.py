"""Page loads of the task page in headless Chromium, from the end user's network namespace.

One user signs up through the form; then each load opens the task page in a fresh browser
context (empty cache, as a first visit) that carries the signed-in session, and is timed from
navigation start until the task list has been fetched and drawn (`#tasks[aria-busy=false]`),
which is when the user can see and use the page. The browser's own `loadEventEnd` is kept too.

Runs as `ip netns exec todo-user python -m bench pageload ...` (see `bench.netns`).
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

# Launched as the UI tests launch it; the repository is on the path (`bench.netns`).
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, is_served

TIMEOUT_MS = 30_000
# kube-proxy programs a new release's NodePort on its next sync, a moment after the pods are
# Ready; the loads start once the frontend answers.
SERVED_TIMEOUT_SECONDS = 30


def wait_until_served(url: str) -> None:
    """Wait until `url`/healthz answers 200; raise after SERVED_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + SERVED_TIMEOUT_SECONDS
    while not is_served(f"{url}/healthz"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {SERVED_TIMEOUT_SECONDS} s")
        time.sleep(0.3)


def main(argv: list[str]) -> None:
    """Sign up once, load the page `--loads` times, write the timings as JSON."""
    parser = argparse.ArgumentParser(prog="bench pageload", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--email", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    visible: list[float] = []
    load_event: list[float] = []
    wait_until_served(args.url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        password = secrets.token_urlsafe(12)
        # Sign-up starts no session (it would tell whether the email was taken): sign in next.
        # Each form lands on the next page by a redirect (the Python frontend) or by the
        # router of the Next.js one, so the wait is for the URL, not a new document.
        for path, landing in (("/signup", "/signin?signed-up"), ("/signin", "/")):
            page.goto(f"{args.url}{path}")
            page.fill("input[name=email]", args.email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{args.url}{landing}")
        session = context.storage_state()
        context.close()
        for _ in range(args.loads):
            fresh = browser.new_context(storage_state=session)
            fresh.set_default_timeout(TIMEOUT_MS)
            page = fresh.new_page()
            began = time.perf_counter()
            page.goto(f"{args.url}/", wait_until="load")
            page.wait_for_selector("#tasks[aria-busy=false]", state="attached")
            visible.append(time.perf_counter() - began)
            load_event.append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
            )
            fresh.close()
        browser.close()
    args.out.write_text(json.dumps({"visible_seconds": visible, "load_event_seconds": load_event}))
