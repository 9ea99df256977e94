"""The page keeps working when the backend is down or slow, and heals by itself.

The assistant's own failures (the AI provider's errors and timeouts, which the backend
answers with 502/504 and a sentence) reach the user with that sentence; everything else
the backend cannot answer becomes the generic "unavailable" message.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
from support.stack import AppFactory, UserOnBackend, make_client, sign_up
from todo_frontend.backend_client import BackendClient, BackendResponse, BackendUnavailable

pytestmark = pytest.mark.app

UNAVAILABLE = "The task service is unavailable right now; your changes were not lost"


def test_backend_down_gives_a_friendly_error_then_recovers(
    start_backend: AppFactory, start_frontend: AppFactory
) -> None:
    backend = start_backend()
    frontend = start_frontend(BACKEND_URL=backend.url)
    with make_client(frontend) as http:
        sign_up(http)
        assert http.post("/app/api/tasks", json={"title": "before"}).status_code == 201

        assert backend.stop() == 0
        for method, path, body in [
            ("GET", "/app/api/tasks", None),
            ("POST", "/app/api/tasks", {"title": "during"}),
            ("POST", "/app/api/chat", {"message": "add a task to buy milk"}),
        ]:
            response = http.request(method, path, json=body)
            assert response.status_code == 503
            assert response.json()["detail"].startswith(UNAVAILABLE)
        # The frontend stays in rotation: it can still sign people in and show errors.
        assert httpx.get(f"{frontend.url}/readyz").status_code == 200
        assert http.get("/").status_code == 200

        backend.start()
        # Same session, no reload, no frontend restart: the next call just works.
        response = http.get("/app/api/tasks")
        assert response.status_code == 200
        assert [task["title"] for task in response.json()["data"]] == ["before"]


@pytest.mark.parametrize(
    ("marker", "detail"),
    [
        ("[[error500]]", "The AI provider failed (HTTP 500); please try again later."),
        ("[[error429]]", "The AI assistant is busy (rate limited by the provider); try again"),
    ],
)
def test_assistant_failures_reach_the_user_with_the_backends_message(
    user_client: httpx.Client, marker: str, detail: str
) -> None:
    response = user_client.post("/app/api/chat", json={"message": f"what is pending? {marker}"})
    assert response.status_code == 502
    assert response.json()["detail"].startswith(detail)
    # The next message works again.
    assert user_client.post("/app/api/chat", json={"message": "list"}).status_code == 200


def test_an_assistant_timeout_reaches_the_user_as_a_504_that_says_so(
    user_on_own_backend: UserOnBackend,
) -> None:
    with user_on_own_backend(AI_TIMEOUT_SECONDS="1") as http:
        response = http.post("/app/api/chat", json={"message": "what is pending? [[slow]]"})
    assert response.status_code == 504
    assert response.json() == {
        "detail": "The AI assistant did not answer within 1 seconds; please try again."
    }


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (502, b"<html>bad gateway</html>"),
        (504, b'{"detail": 42}'),
        (503, b'{"detail": "the database is unavailable, try again shortly"}'),
    ],
)
def test_backend_errors_without_a_message_for_the_user_stay_generic(
    status: int, body: bytes
) -> None:
    # A 502 from something in between, a body that is not the backend's, or an error the
    # chat does not relay: the user gets the generic message, never a stranger's text.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=answer_once, args=(server, status, body))
        thread.start()
        with pytest.raises(BackendUnavailable) as raised:
            asyncio.run(call_backend(server.getsockname()[1], relayed_errors=frozenset({502, 504})))
        thread.join(timeout=5)
    assert raised.value.status_code == 503
    assert str(raised.value).startswith(UNAVAILABLE)


def answer_once(server: socket.socket, status: int, body: bytes) -> None:
    """Accept one connection on `server`, read the request, answer `status` with `body`."""
    connection, _ = server.accept()
    with connection:
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(4096)
        connection.sendall(
            b"HTTP/1.1 %d Error\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(body), body)
        )


async def call_backend(
    port: int, *, relayed_errors: frozenset[int] = frozenset()
) -> BackendResponse:
    """List the tasks of "user-1" with a `BackendClient` of 127.0.0.1:`port`."""
    client = BackendClient(base_url=f"http://127.0.0.1:{port}", secret="s" * 32, timeout_seconds=5)
    try:
        return await client.call(
            "GET", "/api/tasks", user_id="user-1", relayed_errors=relayed_errors
        )
    finally:
        await client.aclose()


def test_slow_backend_times_out_with_a_message(
    start_frontend: AppFactory, unresponsive_backend: str
) -> None:
    frontend = start_frontend(
        BACKEND_URL=unresponsive_backend, BACKEND_TIMEOUT_SECONDS="1", CHAT_TIMEOUT_SECONDS="1"
    )
    with make_client(frontend) as http:
        sign_up(http)
        for method, path, body in [
            ("GET", "/app/api/tasks", None),
            ("POST", "/app/api/chat", {"message": "hello"}),
        ]:
            # The hung backend never answers: only the timeout can produce this 504.
            response = http.request(method, path, json=body)
            assert response.status_code == 504
            assert "taking too long" in response.json()["detail"]


def test_a_refused_connection_is_retried_so_a_moment_of_rollout_costs_no_request() -> None:
    # A bound socket that is not listening refuses connections, like a backend pod that is
    # leaving; it starts listening 0.2 s later, like the replica that takes over.
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received: list[bytes] = []

    def listen_late_and_answer_once() -> None:
        time.sleep(0.2)
        server.listen(1)
        connection, _ = server.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            received.append(request)
            body = b'{"data": []}'
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )

    with server:
        thread = threading.Thread(target=listen_late_and_answer_once)
        thread.start()
        response = asyncio.run(call_backend(port))
        thread.join(timeout=5)
    assert response == BackendResponse(status_code=200, body={"data": []})
    (request,) = received
    assert request.startswith(b"GET /api/tasks HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer " in request
