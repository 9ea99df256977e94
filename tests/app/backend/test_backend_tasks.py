"""`/api/tasks` of a real backend process: CRUD, per-user scoping, input checks, auth."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from support.app_process import AppProcess
from support.secret import bearer

pytestmark = pytest.mark.app


@pytest.fixture
def user_a(make_token: Any) -> dict[str, str]:
    return bearer(make_token("user-a"))


@pytest.fixture
def user_b(make_token: Any) -> dict[str, str]:
    return bearer(make_token("user-b"))


def create(client: httpx.Client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def test_create_returns_the_task(client: httpx.Client, user_a: dict[str, str]) -> None:
    response = client.post(
        "/api/tasks", json={"title": "  water plants ", "description": "ficus"}, headers=user_a
    )
    assert response.status_code == 201
    task = response.json()
    assert task["title"] == "water plants"
    assert task["description"] == "ficus"
    assert task["completed"] is False
    assert isinstance(task["id"], int)
    assert set(task) == {"id", "title", "description", "completed", "created_at", "updated_at"}


def test_get_list_update_delete_round_trip(client: httpx.Client, user_a: dict[str, str]) -> None:
    task = create(client, user_a, title="read a book")

    response = client.get(f"/api/tasks/{task['id']}", headers=user_a)
    assert response.status_code == 200
    assert response.json() == task

    response = client.patch(
        f"/api/tasks/{task['id']}",
        json={"completed": True, "description": "chapter 3"},
        headers=user_a,
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["title"], updated["description"], updated["completed"]) == (
        "read a book",
        "chapter 3",
        True,
    )
    assert updated["updated_at"] >= task["updated_at"]

    response = client.get("/api/tasks", headers=user_a)
    assert response.status_code == 200
    listed = response.json()
    assert listed["count"] == len(listed["data"])
    assert updated in listed["data"]

    response = client.delete(f"/api/tasks/{task['id']}", headers=user_a)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/api/tasks/{task['id']}", headers=user_a).status_code == 404
    assert client.delete(f"/api/tasks/{task['id']}", headers=user_a).status_code == 404


def test_list_filters_by_completed(client: httpx.Client, make_token: Any) -> None:
    headers = bearer(make_token("user-filter"))
    done = create(client, headers, title="done one")
    client.patch(f"/api/tasks/{done['id']}", json={"completed": True}, headers=headers)
    pending = create(client, headers, title="pending one")

    completed = client.get("/api/tasks", params={"completed": "true"}, headers=headers)
    assert completed.status_code == 200
    assert [t["id"] for t in completed.json()["data"]] == [done["id"]]
    open_tasks = client.get("/api/tasks", params={"completed": "false"}, headers=headers)
    assert [t["id"] for t in open_tasks.json()["data"]] == [pending["id"]]
    everything = client.get("/api/tasks", headers=headers)
    assert [t["id"] for t in everything.json()["data"]] == [done["id"], pending["id"]]


def test_another_users_task_is_not_found_and_stays_intact(
    client: httpx.Client, user_a: dict[str, str], user_b: dict[str, str]
) -> None:
    task = create(client, user_a, title="private", description="only mine")
    path = f"/api/tasks/{task['id']}"

    for method, body in [("GET", None), ("PATCH", {"title": "stolen"}), ("DELETE", None)]:
        response = client.request(method, path, json=body, headers=user_b)
        assert response.status_code == 404, method
        assert response.json() == {"detail": f"task {task['id']} not found"}
    assert task["id"] not in [
        t["id"] for t in client.get("/api/tasks", headers=user_b).json()["data"]
    ]

    response = client.get(path, headers=user_a)
    assert response.status_code == 200
    assert response.json() == task


@pytest.mark.parametrize(
    "title",
    [
        "'); DROP TABLE tasks; --",
        "<script>alert('x')</script>",
        '" OR 1=1 --',
        "emoji 🎉 and ünïcödé",
    ],
)
def test_hostile_strings_are_stored_verbatim(
    client: httpx.Client, user_a: dict[str, str], db: psycopg.Connection[Any], title: str
) -> None:
    task = create(client, user_a, title=title, description=title)
    response = client.get(f"/api/tasks/{task['id']}", headers=user_a)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert (response.json()["title"], response.json()["description"]) == (title, title)
    row = db.execute("SELECT title FROM tasks WHERE id = %s", [task["id"]]).fetchone()
    assert row == (title,)


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({}, "title: Field required"),
        ({"title": ""}, "title: String should have at least 1 character"),
        ({"title": "   "}, "title: String should have at least 1 character"),
        ({"title": "x" * 201}, "title: String should have at most 200 characters"),
        ({"title": 5}, "title: Input should be a valid string"),
        ({"title": "ok", "description": "d" * 2001}, "description: String should have at most"),
        ({"title": "ok", "owner": "user-b"}, "owner: Extra inputs are not permitted"),
        (["title"], "Input should be a valid dictionary"),
    ],
)
def test_create_rejects_invalid_bodies(
    client: httpx.Client, user_a: dict[str, str], body: Any, detail_part: str
) -> None:
    response = client.post("/api/tasks", json=body, headers=user_a)
    assert response.status_code == 422
    assert detail_part in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({}, "give at least one of title, description, completed"),
        ({"completed": "yes"}, "completed: Input should be a valid boolean"),
        ({"completed": 1}, "completed: Input should be a valid boolean"),
        ({"title": None}, "title must not be null"),
    ],
)
def test_update_rejects_invalid_bodies(
    client: httpx.Client, user_a: dict[str, str], body: Any, detail_part: str
) -> None:
    task = create(client, user_a, title="unchanged")
    response = client.patch(f"/api/tasks/{task['id']}", json=body, headers=user_a)
    assert response.status_code == 422
    assert detail_part in response.json()["detail"]
    assert client.get(f"/api/tasks/{task['id']}", headers=user_a).json() == task


def test_malformed_json_is_a_400(client: httpx.Client, user_a: dict[str, str]) -> None:
    response = client.post(
        "/api/tasks",
        content=b'{"title": "unterminated',
        headers={**user_a, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "request body is not valid JSON"}


@pytest.mark.parametrize("task_id", ["abc", "0", "-1", str(2**63)])
def test_invalid_task_ids_are_rejected(
    client: httpx.Client, user_a: dict[str, str], task_id: str
) -> None:
    response = client.get(f"/api/tasks/{task_id}", headers=user_a)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("path.task_id: ")


def test_oversized_body_is_a_413(client: httpx.Client, user_a: dict[str, str]) -> None:
    response = client.post(
        "/api/tasks", json={"title": "big", "description": "x" * 70_000}, headers=user_a
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "request body is larger than 64 KiB"}


@pytest.mark.parametrize(
    ("make_headers", "detail"),
    [
        (lambda make_token: {}, "missing bearer token"),
        (lambda make_token: {"Authorization": "Basic dXNlcjpwYXNz"}, "missing bearer token"),
        (lambda make_token: {"Authorization": "Bearer not-a-jwt"}, "invalid token"),
        (
            lambda make_token: bearer(make_token(secret="f" * 16 + "x" * 32)),
            "invalid token",
        ),
        (
            lambda make_token: bearer(make_token(expires_in=-120)),
            "token has expired",
        ),
        (
            lambda make_token: bearer(make_token(expires_in=None)),
            "token lacks the 'exp' claim",
        ),
        (
            lambda make_token: bearer(make_token(sub=None)),
            "token lacks the 'sub' claim",
        ),
        (
            lambda make_token: bearer(make_token(sub="")),
            "token has an empty or non-string 'sub' claim",
        ),
        (
            lambda make_token: bearer(make_token(algorithm="none")),
            "invalid token",
        ),
    ],
    ids=[
        "missing",
        "basic",
        "garbage",
        "forged",
        "expired",
        "no-exp",
        "no-sub",
        "empty-sub",
        "alg-none",
    ],
)
def test_bad_tokens_are_401(
    client: httpx.Client, make_token: Any, make_headers: Any, detail: str
) -> None:
    response = client.get("/api/tasks", headers=make_headers(make_token))
    assert response.status_code == 401
    assert response.json()["detail"].startswith(detail)
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_response_names_the_instance(
    client: httpx.Client, backend: AppProcess, user_a: dict[str, str]
) -> None:
    instance = backend.env["INSTANCE_NAME"]
    responses = [
        client.get("/api/tasks", headers=user_a),
        client.get("/api/tasks"),
        client.get("/api/tasks/999999", headers=user_a),
        client.get("/no/such/path"),
        client.post("/api/tasks", content=b"x" * 70_000, headers=user_a),
        client.get("/healthz"),
        client.get("/metrics"),
    ]
    assert [r.headers.get("x-instance") for r in responses] == [instance] * len(responses)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/tasks", {"title": "buy\x00milk"}),
        ("POST", "/api/tasks", {"title": "ok", "description": "a\x00"}),
        ("PATCH", "/api/tasks/1", {"title": "\x00"}),
        ("POST", "/api/chat", {"message": "add a task to buy \x00 milk"}),
        ("GET", "/api/tasks?completed=%00", None),
    ],
)
def test_nul_characters_are_refused_before_the_database(
    client: httpx.Client,
    backend: AppProcess,
    user_a: dict[str, str],
    method: str,
    path: str,
    body: Any,
) -> None:
    logged_before = len(backend.output())
    response = client.request(method, path, json=body, headers=user_a)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "the request holds a NUL character, which no field accepts"
    }
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "Traceback" not in backend.output()[logged_before:]


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8"])
def test_an_escaped_nul_in_json_is_refused_whatever_the_content_type(
    client: httpx.Client, user_a: dict[str, str], content_type: str | None
) -> None:
    headers = {**user_a, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/api/tasks", content=b'{"title": "a\\u0000b"}', headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the request holds a NUL character")


def test_an_escaped_backslash_before_u0000_is_text_not_nul(
    client: httpx.Client, user_a: dict[str, str]
) -> None:
    assert create(client, user_a, title="\\u0000")["title"] == "\\u0000"


def test_api_docs_are_off_by_default(client: httpx.Client) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path


def test_api_docs_are_served_when_turned_on(start_backend: Any) -> None:
    backend = start_backend(API_DOCS="true")
    with httpx.Client(base_url=backend.url, trust_env=False) as http:
        assert http.get("/openapi.json").json()["info"]["title"] == "todo-chatbot backend"
        assert http.get("/docs").status_code == 200


def test_errors_never_show_a_stack_trace(client: httpx.Client, user_a: dict[str, str]) -> None:
    response = client.post(
        "/api/tasks",
        content=b"\xff\xfe not utf-8",
        headers={**user_a, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"detail"}
    assert "Traceback" not in response.text
