"""The Next.js frontend's pages in a real browser: the Python frontend's user flows.

The app is the image's own build (`make next-image`, cached when unchanged), its
standalone server run by the Node.js the image carries, on a copy of the build; Better
Auth's migration runs first, and the backend checks its tokens through the key set (JWKS).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from support.app_process import AppProcess, free_port
from support.browser import is_served, visit
from support.fixture_images import build_next_image
from support.secret import Secret

pytestmark = pytest.mark.browser

STARTUP_SECONDS = 30


@pytest.fixture(scope="module")
def next_url(
    database_url: str,
    start_backend: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The Next.js frontend, migrated and serving, with a backend in JWKS mode."""
    context = build_next_image()
    app = tmp_path_factory.mktemp("frontend-next") / "app"
    # A copy: the server writes .next/cache, which must not change the image's inputs.
    shutil.copytree(context / "standalone", app, symlinks=True)
    node = str(context / "node")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    migrated = subprocess.run(
        [node, "migrate.mjs"],
        cwd=app,
        env={"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    backend: AppProcess = start_backend(  # type: ignore[operator]
        AUTH_JWKS_URL=f"{url}/api/auth/jwks", AUTH_JWT_ISSUER=url, AUTH_JWT_AUDIENCE=url
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "NODE_ENV": "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "NEXT_MANUAL_SIG_HANDLE": "true",
        "HOSTNAME": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(40)),
        "BACKEND_URL": backend.url,
        "PUBLIC_URL": url,
        "SHUTDOWN_DRAIN_SECONDS": "0.2",
    }
    log = (app.parent / "server.log").open("wb")
    server = subprocess.Popen([node, "server.js"], cwd=app, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not is_served(f"{url}/readyz"):
            assert server.poll() is None, (app.parent / "server.log").read_text()
            assert time.monotonic() < deadline, "the Next.js server did not get ready"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0
        log.close()
    output = (app.parent / "server.log").read_text()
    assert env["BETTER_AUTH_SECRET"] not in output


def test_sign_up_tasks_chat_sign_out_and_in(page: Page, next_url: str) -> None:
    email = f"ada-{secrets.token_hex(4)}@example.com"
    visit(page, next_url, email=email, password=Secret(secrets.token_urlsafe(12)))


def test_a_wrong_password_is_refused_on_the_form(page: Page, next_url: str) -> None:
    page.goto(f"{next_url}/signin")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    # The form's own alert (Next.js keeps an empty route announcer of that role too).
    expect(page.locator("form [role=alert]")).to_have_text("Invalid email or password")
    expect(page).to_have_url(f"{next_url}/signin")
