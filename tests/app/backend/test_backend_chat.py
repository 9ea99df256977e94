"""`/api/chat` of a real backend against the AI stand-in: tool calls, history, failures."""

from __future__ import annotations

import json
import secrets
from functools import partial
from typing import Any

import httpx
import pytest
from support.app_process import AppProcess
from support.logs import assert_json_log_without_secrets
from support.secret import Secret, bearer
from support.standin import StandIn

pytestmark = pytest.mark.app


def chat(
    url: str, headers: dict[str, str], message: str, conversation_id: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return httpx.post(f"{url}/api/chat", json=body, headers=headers, timeout=15)


def tasks_of(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/tasks", headers=headers, timeout=5)
    assert response.status_code == 200
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def assert_plain_schema(parameters: dict[str, Any]) -> None:
    """Assert `parameters` uses only the JSON Schema that both providers take."""
    assert set(parameters) <= {"type", "properties", "required"}
    assert parameters["type"] == "object"
    for argument in parameters["properties"].values():
        assert set(argument) <= {"type", "enum", "description"}
        assert argument["type"] in ("string", "integer", "boolean")


def test_add_list_and_complete_through_the_assistant(
    backend: AppProcess, fresh_standin: StandIn, make_token: Any
) -> None:
    headers = bearer(make_token("chat-user"))

    added = chat(backend.url, headers, "add a task to buy milk")
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["reply"] == f"Added task {body['actions'][0]['result']['id']}: buy milk."
    assert [(a["tool"], a["arguments"]) for a in body["actions"]] == [
        ("add_task", {"title": "buy milk"})
    ]
    assert [t["title"] for t in tasks_of(backend.url, headers)] == ["buy milk"]
    conversation_id = body["conversation_id"]

    pending = chat(backend.url, headers, "what is pending?", conversation_id)
    assert pending.status_code == 200
    task_id = body["actions"][0]["result"]["id"]
    assert pending.json()["reply"] == f"You have 1 pending task: #{task_id} buy milk."
    assert pending.json()["conversation_id"] == conversation_id

    done = chat(backend.url, headers, "mark it done", conversation_id)
    assert done.status_code == 200
    assert done.json()["reply"] == f"Marked task {task_id} (buy milk) as done."
    assert [t["completed"] for t in tasks_of(backend.url, headers)] == [True]


def test_the_provider_receives_the_history_and_tools_in_wire_format(
    backend: AppProcess, fresh_standin: StandIn, make_token: Any
) -> None:
    headers = bearer(make_token("wire-user"))
    first = chat(backend.url, headers, "add walk the dog")
    chat(backend.url, headers, "list", first.json()["conversation_id"])

    recorded = fresh_standin.requests()
    assert recorded["count"] == 4  # two rounds (tool call, then text) per message
    assert all(r["authorized"] and r["status"] == 200 for r in recorded["requests"])
    last = recorded["requests"][-1]
    assert last["path"] == "/v1/chat/completions"
    body = last["body"]
    assert body["model"] == "gpt-test"
    assert {tool["function"]["name"] for tool in body["tools"]} == {
        "add_task",
        "list_tasks",
        "complete_task",
        "delete_task",
        "update_task",
    }
    for tool in body["tools"]:
        assert_plain_schema(tool["function"]["parameters"])
    roles = [m["role"] for m in body["messages"]]
    assert roles == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
    ]
    call = body["messages"][2]["tool_calls"][0]
    assert call["type"] == "function"
    assert call["function"]["name"] == "add_task"
    assert json.loads(call["function"]["arguments"]) == {"title": "walk the dog"}
    assert body["messages"][3]["tool_call_id"] == call["id"]
    assert json.loads(body["messages"][3]["content"])["title"] == "walk the dog"


def test_conversation_continues_on_another_instance(
    backend: AppProcess, start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    other = start_backend()
    headers = bearer(make_token("two-replica-user"))

    first = chat(backend.url, headers, "add a task to call mom")
    assert first.headers["x-instance"] == backend.env["INSTANCE_NAME"]
    second = chat(other.url, headers, "complete it", first.json()["conversation_id"])
    assert second.status_code == 200
    assert second.headers["x-instance"] == other.env["INSTANCE_NAME"]
    assert second.json()["reply"].startswith("Marked task")
    assert [(t["title"], t["completed"]) for t in tasks_of(other.url, headers)] == [
        ("call mom", True)
    ]


def test_assistant_only_sees_the_users_own_tasks(
    backend: AppProcess, fresh_standin: StandIn, make_token: Any
) -> None:
    owner = bearer(make_token("secret-keeper"))
    other = bearer(make_token("curious-user"))
    chat(backend.url, owner, "add a task to hide the presents")

    listed = chat(backend.url, other, "what is pending?")
    assert listed.status_code == 200
    assert listed.json()["reply"] == "You have no pending tasks."
    completed = chat(backend.url, other, "mark hide the presents done")
    assert completed.json()["reply"] == "I could not find a task matching 'hide the presents'."
    assert [t["completed"] for t in tasks_of(backend.url, owner)] == [False]


def test_unknown_or_foreign_conversation_is_404(
    backend: AppProcess, fresh_standin: StandIn, make_token: Any
) -> None:
    mine = chat(backend.url, bearer(make_token("conv-owner")), "list")
    conversation_id = mine.json()["conversation_id"]

    foreign = chat(backend.url, bearer(make_token("conv-thief")), "list", conversation_id)
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": "conversation not found"}
    unknown = chat(
        backend.url,
        bearer(make_token("conv-owner")),
        "list",
        "00000000-0000-0000-0000-000000000000",
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"message": ""}, 422),
        ({"message": "x" * 4001}, 422),
        ({"message": "hi", "conversation_id": "not-a-uuid"}, 422),
        ({"message": 42}, 422),
    ],
)
def test_chat_rejects_invalid_bodies(
    backend: AppProcess, fresh_standin: StandIn, make_token: Any, body: Any, status: int
) -> None:
    response = httpx.post(
        f"{backend.url}/api/chat", json=body, headers=bearer(make_token("bad-input")), timeout=5
    )
    assert response.status_code == status
    assert set(response.json()) == {"detail"}
    assert fresh_standin.requests()["count"] == 0


def test_chat_requires_a_token(backend: AppProcess, fresh_standin: StandIn) -> None:
    response = httpx.post(f"{backend.url}/api/chat", json={"message": "list"}, timeout=5)
    assert response.status_code == 401
    assert fresh_standin.requests()["count"] == 0


@pytest.mark.parametrize(
    ("marker", "status", "detail"),
    [
        ("[[error500]]", 502, "The AI provider failed (HTTP 500); please try again later."),
        ("[[error429]]", 502, "The AI assistant is busy (rate limited by the provider);"),
        ("[[badjson]]", 502, "The AI provider sent an invalid answer; please try again."),
        ("[[slow]]", 504, "The AI assistant did not answer within 1 seconds; please try again."),
    ],
)
def test_provider_failures_are_clear_502_or_504(
    backend: AppProcess,
    fresh_standin: StandIn,
    make_token: Any,
    marker: str,
    status: int,
    detail: str,
) -> None:
    headers = bearer(make_token("unlucky-user"))
    response = chat(backend.url, headers, f"what is pending? {marker}")
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    # The next message works again.
    assert chat(backend.url, headers, "what is pending?").status_code == 200


def test_failure_after_tool_calls_keeps_the_conversation_usable(
    backend: AppProcess, fresh_standin: StandIn, make_token: Any
) -> None:
    headers = bearer(make_token("half-done-user"))
    first = chat(backend.url, headers, "add a task to pay rent")
    conversation_id = first.json()["conversation_id"]
    fresh_standin.set_mode("error500")
    try:
        assert chat(backend.url, headers, "list", conversation_id).status_code == 502
    finally:
        fresh_standin.set_mode("normal")
    again = chat(backend.url, headers, "mark it done", conversation_id)
    assert again.status_code == 200
    assert again.json()["reply"].endswith("(pay rent) as done.")


def test_a_conversation_runs_one_turn_at_a_time(
    start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    patient = start_backend(AI_TIMEOUT_SECONDS="10")
    headers = bearer(make_token("double-sender"))
    first = chat(patient.url, headers, "add a task to buy milk")
    conversation_id = first.json()["conversation_id"]
    slow_message = partial(chat, patient.url, headers, "what is pending? [[slow]]", conversation_id)
    with fresh_standin.holding(slow_message) as slow:
        meanwhile = chat(patient.url, headers, "add a task to buy bread", conversation_id)
        assert meanwhile.status_code == 409
        assert meanwhile.json()["detail"].startswith("The assistant is still answering")
        assert slow.result(timeout=15).status_code == 200
    # Another conversation was never held up, and this one takes the next message.
    assert chat(patient.url, headers, "what is pending?").status_code == 200
    again = chat(patient.url, headers, "add a task to buy bread", conversation_id)
    assert again.status_code == 200
    # The refused message was never stored; the turns follow each other whole.
    messages = fresh_standin.requests()["requests"][-1]["body"]["messages"]
    assert [m["role"] for m in messages] == [
        "system",
        *["user", "assistant", "tool", "assistant"] * 2,
        *["user", "assistant", "tool"],
    ]
    assert [m["content"] for m in messages if m["role"] == "user"] == [
        "add a task to buy milk",
        "what is pending? [[slow]]",
        "add a task to buy bread",
    ]


def test_a_turn_stops_at_its_deadline_and_says_what_it_did(
    start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    # Each provider call takes StandIn.SLOW_SECONDS (2 s): the first (add_task) fits in the
    # 3 s turn, the second cannot, so the turn ends with a 504 after changing one task.
    hasty = start_backend(AI_TIMEOUT_SECONDS="10", CHAT_TURN_TIMEOUT_SECONDS="3")
    headers = bearer(make_token("hasty-user"))
    response = chat(hasty.url, headers, "add a task to pack [[slow]]")
    assert response.status_code == 504
    assert response.json() == {
        "detail": "The AI assistant did not finish within 3 seconds; it had already changed"
        " some tasks, so check the list before trying again."
    }
    assert [t["title"] for t in tasks_of(hasty.url, headers)] == ["pack"]
    assert fresh_standin.requests()["count"] == 2
    # The conversation was released: the next message is answered at once.
    assert chat(hasty.url, headers, "what is pending?").status_code == 200


def test_rejected_api_key_is_a_502_that_names_the_cause(
    start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    key = Secret("sk-wrong-" + secrets.token_urlsafe(24))
    wrong_key = start_backend(OPENAI_API_KEY=key)
    response = chat(wrong_key.url, bearer(make_token("any-user")), "list")
    assert response.status_code == 502
    assert "rejected the server's API key" in response.json()["detail"]
    assert fresh_standin.requests()["requests"][-1]["status"] == 401
    assert_json_log_without_secrets(wrong_key.output(), [key])


def test_unreachable_provider_is_a_502(start_backend: Any, make_token: Any) -> None:
    nowhere = start_backend(AI_BASE_URL="http://127.0.0.1:9/v1")
    response = chat(nowhere.url, bearer(make_token("any-user")), "list")
    assert response.status_code == 502
    assert response.json() == {
        "detail": "The AI assistant cannot be reached right now; please try again later."
    }


def test_gemini_provider_uses_its_key_and_path(
    start_backend: Any, fresh_standin: StandIn, ai_key: str, make_token: Any
) -> None:
    gemini = start_backend(
        AI_PROVIDER="gemini",
        GEMINI_API_KEY=ai_key,
        OPENAI_API_KEY="",
        AI_MODEL="gemini-2.0-flash",
        AI_BASE_URL=f"{fresh_standin.url}/v1beta/openai",
    )
    # Every request offers all the tools, whose schemas the Gemini path checks strictly.
    response = chat(gemini.url, bearer(make_token("gemini-user")), "add a task to try gemini")
    assert response.status_code == 200, response.text
    assert response.json()["reply"].endswith(": try gemini.")
    requests = fresh_standin.requests()["requests"]
    assert {r["path"] for r in requests} == {"/v1beta/openai/chat/completions"}
    assert {r["body"]["model"] for r in requests} == {"gemini-2.0-flash"}


def test_chat_turns_per_user_are_rate_limited(
    start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    limited = start_backend(CHAT_TURNS_PER_MINUTE="2")
    headers = bearer(make_token("chatty-user"))
    for _ in range(2):
        assert chat(limited.url, headers, "what is pending?").status_code == 200
    provider_calls = fresh_standin.requests()["count"]
    refused = chat(limited.url, headers, "what is pending?")
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 0 < wait <= 60
    assert refused.json() == {
        "detail": "You sent the assistant too many messages in the last minute;"
        f" send this one again in {wait} seconds."
    }
    # The refused turn never reached the AI provider, and other users are not held up.
    assert fresh_standin.requests()["count"] == provider_calls
    other = bearer(make_token("quiet-user"))
    assert chat(limited.url, other, "what is pending?").status_code == 200


def test_chat_turns_running_at_once_per_user_are_limited(
    start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    limited = start_backend(CHAT_CONCURRENT_TURNS="1", AI_TIMEOUT_SECONDS="10")
    headers = bearer(make_token("parallel-user"))
    slow_message = partial(chat, limited.url, headers, "what is pending? [[slow]]")
    with fresh_standin.holding(slow_message) as slow:
        # Another conversation: the per-conversation rule (409) does not apply.
        meanwhile = chat(limited.url, headers, "what is pending?")
        assert meanwhile.status_code == 429
        assert meanwhile.headers["retry-after"] == "5"
        assert meanwhile.json() == {
            "detail": "The assistant is already answering 1 of your messages, as many as it"
            " takes at once; wait for an answer, then send this one again."
        }
        assert slow.result(timeout=15).status_code == 200
    assert chat(limited.url, headers, "what is pending?").status_code == 200
