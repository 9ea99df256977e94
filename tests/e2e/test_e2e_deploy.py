"""User story 1, deploy: `helm install --wait` from nothing to a working app.

The shared release (`app` fixture) is installed from the chart in the local registry into an
empty namespace and an empty database schema; its install time is the deploy time recorded.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_cluster import RELEASE, Release, helm, is_ready, kubectl_json
from e2e_user import AppUser, UserAgent, run_browser

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_install_brings_every_pod_ready_and_the_release_deployed(
    app: Release, figures: dict[str, Any]
) -> None:
    pods = kubectl_json("-n", app.namespace, "get", "pods")["items"]
    components = sorted(p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pods)
    assert components == ["backend", "frontend"]
    assert all(is_ready(p) for p in pods), [p["status"] for p in pods]
    status = helm("status", RELEASE, "--namespace", app.namespace, "-o", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["info"]["status"] == "deployed"
    print(f"deploy (helm install --wait, from nothing): {figures['deploy_seconds']} s")
    assert figures["deploy_seconds"] < 120


def test_helm_test_passes(app: Release) -> None:
    result = helm("test", RELEASE, "--namespace", app.namespace, "--timeout=90s")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Phase:          Succeeded" in result.stdout


def test_user_completes_a_task_round_trip_through_the_backend(
    app: Release, user_agent: UserAgent
) -> None:
    front_door = user_agent.request("GET", app.url + "/")
    assert front_door.status == 303
    assert front_door.headers["location"] == "/signin"
    page = user_agent.request("GET", app.url + "/signin")
    assert page.status == 200
    assert "<form" in page.text

    user = AppUser(user_agent, app.url).sign_up()
    task = user.create_task("e2e round trip")
    assert [t["title"] for t in user.tasks()] == ["e2e round trip"]
    done = user.call("PATCH", f"/app/api/tasks/{task['id']}", json_body={"completed": True})
    assert done.status == 200
    assert done.json()["completed"] is True
    # The backend stored it in the release's own database schema.
    assert app.schema.query("SELECT completed FROM tasks WHERE id = %s", [task["id"]]) == [(True,)]
    deleted = user.call("DELETE", f"/app/api/tasks/{task['id']}")
    assert deleted.status == 204
    assert user.tasks() == []


def test_user_completes_a_task_round_trip_in_the_browser(app: Release) -> None:
    result = run_browser("round_trip", app.url)
    assert result["javascript_errors"] == []
    rows = app.schema.query(
        "SELECT t.title, t.completed FROM tasks t JOIN auth_users u ON u.id::text = t.user_id"
        " WHERE u.email = %s ORDER BY t.id",
        [result["email"]],
    )
    assert rows == [(result["title"], True), ("buy milk", False)]
