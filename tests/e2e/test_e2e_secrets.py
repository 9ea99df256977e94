"""User story 2, secrets: both ways of supplying them work, none leaks, rotation takes effect.

`existing`: the shared release, reading a Secret created out of band (as `make up` does).
`managed`: a release whose Secret the chart builds from install-time values.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

import pytest
from conftest import ReleaseFactory, installed_and_served
from e2e_cluster import BACKEND, Release
from e2e_leaks import assert_frontend_lacks_ai_key, assert_no_secret_leaks
from e2e_user import AppUser, UserAgent
from localcluster import ai_standin
from localcluster.settings import paths_from_env
from support.secret import Secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def managed(new_release: ReleaseFactory, user_agent: UserAgent) -> Release:
    return installed_and_served(new_release("secrets", 30102, chart_managed=True), user_agent)


@pytest.fixture(params=["existing", "managed"])
def release(request: pytest.FixtureRequest) -> Release:
    name = "app" if request.param == "existing" else "managed"
    chosen: Release = request.getfixturevalue(name)
    return chosen


def standin_requests_with(nonce: str) -> list[dict[str, Any]]:
    """What the AI stand-in recorded for chat requests mentioning `nonce` (never the key)."""
    request = urllib.request.Request(
        f"{ai_standin.URL}/_standin/requests", headers=ai_standin.debug_headers(paths_from_env())
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        recorded = json.load(answer)["requests"]
    return [r for r in recorded if nonce in json.dumps(r["body"])]


def chat(user: AppUser, message: str) -> int | None:
    reply = user.call("POST", "/app/api/chat", json_body={"message": message}, timeout=60)
    return reply.status


def test_backend_authenticates_to_postgres_over_tls_and_to_the_ai_api(
    release: Release, user_agent: UserAgent
) -> None:
    user = AppUser(user_agent, release.url).sign_up()
    user.create_task("stored over TLS")
    [pod] = release.ready_pods("backend")
    sessions = release.schema.query(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
        " WHERE a.application_name = %s",
        [f"backend-{pod}"],
    )
    assert sessions and all(ssl for (ssl,) in sessions), sessions

    nonce = secrets.token_hex(4)
    assert chat(user, f"add a task to buy tea {nonce}") == 200
    assert standin_requests_with(nonce)
    assert all(r["authorized"] for r in standin_requests_with(nonce))
    assert f"buy tea {nonce}" in [t["title"] for t in user.tasks()]


def exercise_every_endpoint(release: Release, agent: UserAgent) -> None:
    """Call everything a user, an operator and an attacker can, failures included."""
    user = AppUser(agent, release.url).sign_up()
    # A taken email gets the answer of a new one, and its password stays the owner's.
    duplicate = AppUser(agent, release.url, email=user.email)
    assert duplicate.submit_form("/signup").status == 303
    assert duplicate.sign_in().status == 401
    wrong = AppUser(agent, release.url, email=user.email)
    assert wrong.sign_in().status == 401
    assert user.sign_in().status == 303
    path = f"/app/api/tasks/{user.create_task('exercise')['id']}"
    assert user.call("PATCH", path, json_body={"completed": True}).status == 200
    assert user.call("DELETE", path).status == 204
    assert user.call("DELETE", path).status == 404
    json_header = {"Content-Type": "application/json"}
    assert user.call("POST", "/app/api/tasks", content="{", headers=json_header).status == 400
    assert chat(user, "add a task to water the plants") == 200
    # The backend's 502 and its sentence about the AI provider reach the user as they are.
    for fault in ("error500", "error429", "badjson"):
        assert chat(user, f"hello [[{fault}]]") == 502
    assert agent.request("GET", release.url + "/no/such/page").status == 404
    frontend = release.ready_pods("frontend")[0]
    backend = f"http://{BACKEND}:8000"
    forged = {"Authorization": "Bearer x.y.z"}
    answers = release.http_in_pod(
        frontend,
        [
            {"url": f"{backend}/api/tasks"},
            {"url": f"{backend}/api/tasks", "headers": forged},
            {"url": f"{backend}/readyz"},
            # Metrics are on their own port, which no route and no policy opens to the frontend.
            {"url": f"{backend}/metrics"},
        ],
    )
    assert [status for status, _ in answers] == [401, 401, 200, 404]
    assert user.call("POST", "/signout", content="").status == 303


def test_no_secret_appears_in_logs_events_configmaps_specs_helm_output_or_frontend_env(
    release: Release, user_agent: UserAgent
) -> None:
    exercise_every_endpoint(release, user_agent)
    assert_no_secret_leaks(release)
    assert_frontend_lacks_ai_key(release, "env")


def test_rotating_chart_managed_secrets_rolls_the_pods_and_the_new_values_are_used(
    managed: Release, user_agent: UserAgent
) -> None:
    user = AppUser(user_agent, managed.url).sign_up()
    user.create_task("before the rotation")
    assert user.call("GET", "/").status == 200
    right_key = managed.credentials["OPENAI_API_KEY"]

    # A new BETTER_AUTH_SECRET (and a wrong AI key) rolls both components.
    managed.roll_credentials(
        {
            "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(48)),
            "OPENAI_API_KEY": Secret("sk-rotated-" + secrets.token_urlsafe(24)),
        },
    )
    # Sessions signed with the old secret are no longer honoured...
    assert user.call("GET", "/").status == 303
    # ...new ones work end to end: the backend accepts JWTs signed with the new secret.
    assert user.sign_in().status == 303
    assert [t["title"] for t in user.tasks()] == ["before the rotation"]
    # The backend now sends the new (wrong) key, which the stand-in refuses.
    nonce = secrets.token_hex(4)
    assert chat(user, f"add a task to call {nonce}") == 502
    assert [r["authorized"] for r in standin_requests_with(nonce)] == [False]

    # Rotating back to the right key restores the assistant.
    managed.roll_credentials({"OPENAI_API_KEY": right_key})
    assert user.sign_in().status == 303
    nonce = secrets.token_hex(4)
    assert chat(user, f"add a task to call {nonce}") == 200
    assert all(r["authorized"] for r in standin_requests_with(nonce))
