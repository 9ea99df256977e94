"""Issue #16, the Next.js stack's whole profile (`make e2e-next`; CI runs the short one).

A release of examples/values-nextjs.yaml with two frontends and the chart-managed Secret:
- no secret in any place an operator can read (e2e_leaks.py, as for the Python frontend)
  after a user's whole visit, and the frontend never holds the AI key;
- no failed request and no lost task while users list and add tasks through the frontend's
  JSON API (which Better Auth's session and token guard) during a `helm upgrade` with a config
  change, and during the deletion of a frontend pod;
- a new BETTER_AUTH_SECRET in the Secret rolls both components; a session of the old secret
  ends cleanly (the pages send the user to sign in, the API answers 401, nothing fails), and
  after signing in again the backend accepts the new tokens: Better Auth sealed its signing
  key with the old secret, so the frontend made a new one (app/frontend-next/src/lib/backend.ts).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from conftest import ReleaseFactory, assert_lossless, frontend_warnings, installed_and_served
from e2e_cluster import Release, kubectl
from e2e_leaks import assert_frontend_lacks_ai_key, assert_no_secret_leaks
from e2e_next import (
    PRINT_ENVIRONMENT,
    SESSION_COOKIE,
    better_auth_sign_in,
    better_auth_user,
    example_values,
)
from e2e_user import Load, Reply, UserAgent, run_browser
from support.secret import Secret

pytestmark = [pytest.mark.e2e, pytest.mark.next_full, pytest.mark.timeout(900)]

NODE_PORT = 30132
FRONTENDS = 2
NEXT_ERROR_MARK = "\u2a2f"
# Traffic before and after each change, so a failure at either edge of it counts too.
SETTLE_SECONDS = 3


@pytest.fixture(scope="module")
def stack(
    new_release: ReleaseFactory,
    next_digest: str,
    user_agent: UserAgent,
) -> Release:
    """The example's release with two frontends and the chart-managed Secret."""
    release = new_release("nextfull", NODE_PORT, chart_managed=True)
    release.values = example_values(release.url, next_digest)
    release.values["frontend"]["replicaCount"] = FRONTENDS
    return installed_and_served(release, user_agent)


def component_pods(release: Release) -> set[str]:
    return {p["metadata"]["name"] for c in ("backend", "frontend") for p in release.pods(c)}


def test_no_secret_leaks_and_the_frontend_never_holds_the_ai_key(
    stack: Release, user_agent: UserAgent
) -> None:
    # A whole visit (sign-up, tasks, the assistant, sign-out and in), a refused password, a
    # backend token: every path that logs something.
    run_browser("visit", stack.url)
    user = better_auth_user(user_agent, stack.url)
    assert user.call("GET", "/api/auth/token").status == 200
    user.create_task("scan me")
    user.password = secrets.token_urlsafe(16)
    assert better_auth_sign_in(user) == 401
    assert_no_secret_leaks(stack)
    assert_frontend_lacks_ai_key(stack, *PRINT_ENVIRONMENT)


def test_a_config_upgrade_under_load_rolls_every_pod_and_loses_no_request(
    stack: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    user = better_auth_user(user_agent, stack.url)
    before = component_pods(stack)
    with Load(user, create_every=5) as load:
        time.sleep(SETTLE_SECONDS)
        seconds = stack.upgrade({"config": {"logLevel": "debug"}})
        time.sleep(SETTLE_SECONDS)
    assert component_pods(stack).isdisjoint(before), "the config change left pods running"
    figures.setdefault("next_failed_requests", {})["helm upgrade (config)"] = {
        "failed": len(load.failures),
        "requests": load.succeeded + len(load.failures),
        "helm_seconds": round(seconds, 1),
    }
    assert_lossless(load, user, stack)


def test_deleting_a_frontend_pod_under_load_loses_no_request(
    stack: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    user = better_auth_user(user_agent, stack.url)
    victim = stack.ready_pods("frontend")[0]
    with Load(user, create_every=5) as load:
        time.sleep(SETTLE_SECONDS)
        kubectl("-n", stack.namespace, "delete", "pod", victim, "--wait=true")
        stack.wait_ready("frontend", FRONTENDS)
        time.sleep(SETTLE_SECONDS)
    figures.setdefault("next_failed_requests", {})["frontend pod deleted"] = {
        "failed": len(load.failures),
        "requests": load.succeeded + len(load.failures),
    }
    assert victim not in stack.ready_pods("frontend")
    assert_lossless(load, user, stack)


def test_a_new_better_auth_secret_rolls_both_and_ends_old_sessions_cleanly(
    stack: Release, user_agent: UserAgent
) -> None:
    user = better_auth_user(user_agent, stack.url)
    user.create_task("before the rotation")
    assert user.call("GET", "/").status == 200
    old_cookie = {"Cookie": f"{SESSION_COOKIE}={user.cookies[SESSION_COOKIE]}"}

    stack.roll_credentials({"BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(48))})

    # The old session's cookie is signed with the old secret: the pages send the user to
    # sign in and the API refuses, as for a user who never signed in. (Sent from a jar of
    # its own each time, so a cookie Better Auth clears cannot hide the answer.)
    def with_old_session(path: str) -> Reply:
        jar = secrets.token_hex(4)
        return user_agent.request("GET", stack.url + path, session=jar, headers=old_cookie)

    page = with_old_session("/")
    assert page.status == 307, (page.status, page.error)
    assert page.headers["location"] == "/signin"
    assert with_old_session("/app/api/tasks").status == 401
    # Signed in again, the backend accepts the token signed by the key made for the new
    # secret, and the user's data is there.
    assert better_auth_sign_in(user) == 200
    listed = user.call("GET", "/app/api/tasks")
    assert listed.status == 200, (listed.status, listed.text[:300], frontend_warnings(stack))
    assert [t["title"] for t in listed.json()["data"]] == ["before the rotation"]
    assert user.call("GET", "/").status == 200
    # Its own error lines, Better Auth's, and Next.js's mark of an unhandled error (U+2A2F).
    errors = [
        line
        for pod in stack.ready_pods("frontend")
        for line in kubectl("-n", stack.namespace, "logs", pod).splitlines()
        if '"level":"error"' in line or " ERROR " in line or NEXT_ERROR_MARK in line
    ]
    assert errors == [], errors[-5:]
