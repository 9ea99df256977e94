"""Hostile input: every attack gets a 4xx, no pod restarts, nothing leaks, the UI escapes.

Attacks on the app come from the user's namespace through the frontend, as an attacker on
the internet has no other way in; token forgery is tried against the backend from inside the
cluster (from the frontend pod, the only one the NetworkPolicy lets through).

The sign-in flood runs last: it locks the flooding client out of sign-in for five minutes on
the shared release (the suite only signs up there afterwards, which is not limited).
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from e2e_cluster import BACKEND, Release, kubectl
from e2e_user import AppUser, Reply, UserAgent, run_browser
from support.secret import Secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SQL_INJECTIONS = [
    "'); DROP TABLE tasks; --",
    "' OR '1'='1",
    "1; UPDATE tasks SET title = 'pwned'",
    "\\x00' UNION SELECT password_hash FROM auth_users --",
]
HTML_INJECTION = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"
STACK_TRACE_MARKERS = ("Traceback", 'File "/', "psycopg.", "sqlalchemy", "site-packages")


def assert_refused(reply: Reply, *statuses: int) -> None:
    """A 4xx from `statuses` whose body is one `detail` sentence or an HTML page, no trace."""
    assert reply.status in statuses, (reply.status, reply.error, reply.text[:300])
    assert not any(marker in reply.text for marker in STACK_TRACE_MARKERS), reply.text[:500]
    if reply.headers.get("content-type", "").startswith("application/json"):
        assert list(reply.json()) == ["detail"], reply.text[:300]


@dataclass(frozen=True)
class Before:
    """The shared release before the attacks: restarts per pod, and when they began."""

    restarts: dict[str, int]
    since: str


@pytest.fixture(scope="module")
def before(app: Release) -> Before:
    """Other modules' scenarios (a database outage) may have logged errors before this one."""
    since = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Before(restarts=app.restarts(), since=since)


@pytest.fixture(scope="module")
def victim(app: Release, user_agent: UserAgent) -> AppUser:
    """A user whose data the attacks must never reach."""
    user = AppUser(user_agent, app.url).sign_up()
    user.create_task("victim's private task")
    return user


@pytest.fixture
def attacker(app: Release, user_agent: UserAgent) -> AppUser:
    return AppUser(user_agent, app.url).sign_up()


def test_oversized_bodies_get_413(app: Release, attacker: AppUser, before: Before) -> None:
    big_title = json.dumps({"title": "x" * 200_000})
    headers = {"Content-Type": "application/json"}
    reply = attacker.call("POST", "/app/api/tasks", content=big_title, headers=headers)
    assert_refused(reply, 413)
    form = "email=a%40b.co&password=" + "p" * 40_000
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_refused(attacker.call("POST", "/signin", content=form, headers=form_headers), 413)
    assert attacker.tasks() == []


def test_malformed_json_gets_400(attacker: AppUser) -> None:
    headers = {"Content-Type": "application/json"}
    for body in ['{"title": ', "[1, 2", "\x00\x01\x02", '{"title": "a"} trailing']:
        reply = attacker.call("POST", "/app/api/tasks", content=body, headers=headers)
        assert_refused(reply, 400)
    assert_refused(attacker.call("POST", "/app/api/tasks", json_body={"title": ""}), 422)
    assert_refused(attacker.call("POST", "/app/api/tasks", json_body=["not", "a", "task"]), 422)
    assert_refused(
        attacker.call("PATCH", "/app/api/tasks/1", json_body={"completed": "maybe"}), 422
    )


def test_sql_injection_in_titles_is_stored_as_text(
    app: Release, attacker: AppUser, victim: AppUser
) -> None:
    for title in SQL_INJECTIONS:
        assert attacker.create_task(title)["title"] == title
    assert [t["title"] for t in attacker.tasks()] == SQL_INJECTIONS
    assert [t["title"] for t in victim.tasks()] == ["victim's private task"]
    assert app.schema.query("SELECT count(*) FROM tasks WHERE title = 'pwned'") == [(0,)]


def test_markup_in_titles_is_returned_as_data(attacker: AppUser) -> None:
    task = attacker.create_task(HTML_INJECTION)
    assert task["title"] == HTML_INJECTION
    reply = attacker.call("GET", "/app/api/tasks")
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.headers.get("x-content-type-options") == "nosniff"


def test_the_ui_shows_markup_as_text(app: Release) -> None:
    result = run_browser("escaping", app.url)
    # Typed in the form, and added by the assistant from a chat message.
    assert result["shown"] == ["<img src=x onerror=alert(1)><script>alert(2)</script>"] * 2
    assert result["images"] == 0
    assert result["scripts_in_list"] == 0
    assert result["dialogs"] == []
    assert result["javascript_errors"] == []


def test_another_users_task_is_404_and_untouched(attacker: AppUser, victim: AppUser) -> None:
    [task] = victim.tasks()
    path = f"/app/api/tasks/{task['id']}"
    assert_refused(attacker.call("PATCH", path, json_body={"title": "mine now"}), 404)
    assert_refused(attacker.call("DELETE", path), 404)
    for probe in ("..%2Ftasks", "1%20OR%201=1", "99999999999999999999999", "-1"):
        reply = attacker.call("PATCH", f"/app/api/tasks/{probe}", json_body={"title": "x"})
        assert_refused(reply, 404, 422)
    assert victim.tasks() == [task]
    assert attacker.tasks() == []


def test_cross_site_requests_get_403(attacker: AppUser) -> None:
    for origin in ("http://evil.example", "null"):
        reply = attacker.call(
            "POST", "/app/api/tasks", json_body={"title": "csrf"}, headers={"Origin": origin}
        )
        assert_refused(reply, 403)
    assert attacker.tasks() == []


def _token(secret: str, **claims: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_forged_and_expired_tokens_get_401_from_the_backend(app: Release, victim: AppUser) -> None:
    """From the frontend pod, the one place that reaches the backend."""
    secret = app.credentials["BETTER_AUTH_SECRET"]
    user_id = app.schema.query("SELECT id::text FROM auth_users WHERE email = %s", [victim.email])[
        0
    ][0]
    now = int(time.time())
    forged = {
        "wrong key": _token("not-the-key-" + "k" * 40, sub=user_id, exp=now + 300),
        "expired": _token(secret, sub=user_id, exp=now - 60),
        "no exp": _token(secret, sub=user_id),
        "empty sub": _token(secret, sub="", exp=now + 300),
        "alg none": jwt.encode({"sub": user_id, "exp": now + 300}, None, algorithm="none"),
        "garbage": "not.a.jwt",
    }
    url = f"http://{BACKEND}:8000/api/tasks"
    requests = [
        {"url": url, "headers": {"Authorization": f"Bearer {token}"}} for token in forged.values()
    ]
    requests.append({"url": url})
    # A genuine token of another user asks for the victim's task by id.
    [task] = victim.tasks()
    other = Secret(_token(secret, sub="someone-else", exp=now + 300))
    other_headers = {"Authorization": f"Bearer {other}"}
    requests.append({"url": f"{url}/{task['id']}", "headers": other_headers})
    # The control: the same list request with the victim's genuine token succeeds.
    valid = Secret(_token(secret, sub=user_id, exp=now + 300))
    requests.append({"url": url, "headers": {"Authorization": f"Bearer {valid}"}})
    *refused, not_found, genuine = app.http_in_pod(app.ready_pods("frontend")[0], requests)
    for name, (status, body) in zip([*forged, "no token"], refused, strict=True):
        assert status == 401, (name, status, body[:200])
        assert list(json.loads(body)) == ["detail"], name
        assert user_id not in body and "victim" not in body, name
    assert not_found[0] == 404
    assert "victim" not in not_found[1]
    assert genuine[0] == 200
    assert [t["title"] for t in json.loads(genuine[1])["data"]] == ["victim's private task"]


def test_a_sign_in_flood_from_one_client_is_rate_limited(
    app: Release, user_agent: UserAgent, victim: AppUser
) -> None:
    flooder = AppUser(user_agent, app.url, email=victim.email)
    statuses = [flooder.sign_in().status for _ in range(60)]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    last = flooder.sign_in()
    assert_refused(last, 429)
    assert int(last.headers["retry-after"]) > 0
    # The limit is per client (the release's externalTrafficPolicy is Local, so the frontend
    # sees each client's address): the victim, signing in from another address (this host),
    # is not locked out by the flood.
    with httpx.Client(trust_env=False, timeout=10) as host:
        elsewhere = host.post(
            f"{app.url}/signin",
            data={"email": victim.email, "password": victim.password},
            headers={"Origin": app.url},
        )
    assert elsewhere.status_code == 303, elsewhere.status_code


def test_no_pod_restarted_and_no_unhandled_error_was_logged(app: Release, before: Before) -> None:
    assert app.restarts() == before.restarts
    for component in ("backend", "frontend"):
        for pod in app.ready_pods(component):
            log = kubectl("-n", app.namespace, "logs", pod, f"--since-time={before.since}")
            entries = [json.loads(line) for line in log.splitlines() if line.strip()]
            errors = [e for e in entries if e["level"] in ("error", "critical")]
            assert errors == [], pod
            assert "Traceback" not in log, pod
