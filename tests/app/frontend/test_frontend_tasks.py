"""The page's JSON API, forwarded to a real backend (todo_frontend.api.routes.tasks)."""

from __future__ import annotations

import httpx
import pytest
from support.app_process import AppProcess
from support.stack import UserOnBackend, make_client, sign_up

pytestmark = pytest.mark.app


def titles(client: httpx.Client) -> list[str]:
    response = client.get("/app/api/tasks")
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()["data"]]


def test_add_complete_and_delete_a_task(user_client: httpx.Client) -> None:
    created = user_client.post("/app/api/tasks", json={"title": "  write the report  "})
    assert created.status_code == 201
    task = created.json()
    assert task["title"] == "write the report"
    assert task["completed"] is False

    completed = user_client.patch(f"/app/api/tasks/{task['id']}", json={"completed": True})
    assert completed.status_code == 200
    assert completed.json()["completed"] is True
    assert titles(user_client) == ["write the report"]

    deleted = user_client.delete(f"/app/api/tasks/{task['id']}")
    assert deleted.status_code == 204
    assert titles(user_client) == []


def test_users_see_only_their_own_tasks(user_client: httpx.Client, frontend: AppProcess) -> None:
    user_client.post("/app/api/tasks", json={"title": "mine"})
    with make_client(frontend) as other:
        sign_up(other)
        assert titles(other) == []
        task_id = user_client.get("/app/api/tasks").json()["data"][0]["id"]
        assert other.delete(f"/app/api/tasks/{task_id}").status_code == 404
    assert titles(user_client) == ["mine"]


def test_assistant_adds_a_task(user_client: httpx.Client) -> None:
    response = user_client.post("/app/api/chat", json={"message": "add a task to buy milk"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["reply"]
    assert answer["conversation_id"]
    assert "buy milk" in titles(user_client)

    follow_up = user_client.post(
        "/app/api/chat",
        json={"message": "mark buy milk done", "conversation_id": answer["conversation_id"]},
    )
    assert follow_up.status_code == 200
    assert follow_up.json()["conversation_id"] == answer["conversation_id"]
    tasks = user_client.get("/app/api/tasks").json()["data"]
    assert [task["completed"] for task in tasks if task["title"] == "buy milk"] == [True]


def test_api_needs_a_session(client: httpx.Client) -> None:
    for method, path in [("GET", "/app/api/tasks"), ("POST", "/app/api/chat")]:
        response = client.request(method, path, json={"message": "hi"})
        assert response.status_code == 401
        assert response.json() == {"detail": "sign in first"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/app/api/tasks", {"title": ""}, 422),
        ("POST", "/app/api/tasks", {"title": "   "}, 422),
        ("POST", "/app/api/tasks", {"title": "x" * 201}, 422),
        ("POST", "/app/api/tasks", {"title": "ok", "owner": "someone-else"}, 422),
        ("POST", "/app/api/tasks", ["not", "an", "object"], 422),
        ("PATCH", "/app/api/tasks/1", {"completed": "yes please"}, 422),
        ("PATCH", "/app/api/tasks/a.b", {"completed": True}, 422),
        ("PATCH", "/app/api/tasks/..%2F..%2Fhealthz", {"completed": True}, 404),
        ("POST", "/app/api/chat", {"message": ""}, 422),
        ("POST", "/app/api/chat", {"message": "hi", "conversation_id": "not-a-uuid"}, 422),
        ("POST", "/app/api/chat", {"message": "x" * 2001}, 422),
    ],
)
def test_invalid_bodies_are_refused(
    user_client: httpx.Client, method: str, path: str, body: object, status: int
) -> None:
    response = user_client.request(method, path, json=body)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


def test_malformed_json_is_refused(user_client: httpx.Client) -> None:
    response = user_client.post(
        "/app/api/tasks", content=b'{"title": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "request body is not valid JSON"}


def test_oversized_body_is_refused(user_client: httpx.Client) -> None:
    response = user_client.post("/app/api/chat", json={"message": "x" * 40_000})
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_backend_errors_for_unknown_tasks_are_passed_on(user_client: httpx.Client) -> None:
    response = user_client.patch("/app/api/tasks/999999999", json={"completed": True})
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "", "Referer": "https://evil.example/attack"},
    ],
)
def test_cross_site_requests_are_refused(
    user_client: httpx.Client, headers: dict[str, str]
) -> None:
    for method, path in [("POST", "/app/api/tasks"), ("DELETE", "/app/api/tasks/1")]:
        response = user_client.request(method, path, json={"title": "csrf"}, headers=headers)
        assert response.status_code == 403
        assert response.json() == {"detail": "cross-site request refused"}
    assert titles(user_client) == []


def test_request_without_origin_or_referer_is_refused(frontend: AppProcess) -> None:
    with make_client(frontend) as http:
        sign_up(http)
        del http.headers["Origin"]
        response = http.post("/app/api/tasks", json={"title": "no origin"})
        assert response.status_code == 403


def test_cross_site_sign_in_and_sign_out_are_refused(frontend: AppProcess) -> None:
    with make_client(frontend) as http:
        sign_up(http)
        evil = {"Origin": "https://evil.example"}
        assert http.post("/signout", headers=evil).status_code == 403
        assert http.get("/").status_code == 200
        login = http.post("/signin", data={"email": "a@b.co", "password": "x" * 8}, headers=evil)
        assert login.status_code == 403


def test_origin_of_the_host_it_was_reached_at_is_accepted(frontend: AppProcess) -> None:
    # Reached through another name than PUBLIC_URL (a port-forward): Origin matches Host.
    other_origin = f"http://localhost:{frontend.port}"
    with make_client(frontend, origin=other_origin) as http:
        http.headers["Host"] = f"localhost:{frontend.port}"
        sign_up(http)
        assert http.post("/app/api/tasks", json={"title": "via localhost"}).status_code == 201


def test_the_backends_chat_limit_reaches_the_user(user_on_own_backend: UserOnBackend) -> None:
    with user_on_own_backend(CHAT_TURNS_PER_MINUTE="1") as http:
        assert http.post("/app/api/chat", json={"message": "what is pending?"}).status_code == 200
        refused = http.post("/app/api/chat", json={"message": "what is pending?"})
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 0 < wait <= 60
    assert refused.json()["detail"].startswith(
        "You sent the assistant too many messages in the last minute"
    )
