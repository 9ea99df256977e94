"""The AI stand-in's HTTP API: key check, wire-format checks, recording, fault injection."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from ai_standin.server import create_app
from support.secret import Secret, bearer

pytestmark = [pytest.mark.app, pytest.mark.anyio]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} tool",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    for name in ("add_task", "list_tasks", "complete_task", "delete_task", "update_task")
]


@pytest.fixture
def key() -> Secret:
    return Secret("sk-" + secrets.token_urlsafe(24))


@pytest.fixture
def debug_token() -> Secret:
    return Secret("debug-" + secrets.token_urlsafe(24))


@pytest.fixture
def debug(debug_token: str) -> dict[str, str]:
    """The headers that open the debug routes."""
    return bearer(debug_token)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def standin(key: str, debug_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The stand-in app in-process (its HTTP behaviour is all these tests look at)."""
    app = create_app(expected_key=key, debug_token=debug_token, slow_seconds=0.2, test_mode=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://standin") as client:
        yield client


def request_body(*messages: dict[str, Any], tools: list[Any] | None = None) -> dict[str, Any]:
    return {
        "model": "gpt-test",
        "messages": list(messages),
        "tools": TOOLS if tools is None else tools,
    }


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def complete(
    standin: httpx.AsyncClient, key: str, body: Any, path: str = "/v1/chat/completions"
) -> httpx.Response:
    return await standin.post(path, json=body, headers=bearer(key))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "basic"],
)
async def test_rejects_a_wrong_key_in_the_openai_format(
    standin: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await standin.post(
        "/v1/chat/completions", json=request_body(user("list")), headers=headers
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "message": "Incorrect API key provided.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


async def test_answers_with_a_tool_call_in_wire_format(
    standin: httpx.AsyncClient, key: str
) -> None:
    response = await complete(standin, key, request_body(user("add a task to buy milk")))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-test"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant"
    assert message["content"] is None
    [call] = message["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"]["name"] == "add_task"
    assert json.loads(call["function"]["arguments"]) == {"title": "buy milk"}
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


async def test_summarizes_tool_results_as_text(standin: httpx.AsyncClient, key: str) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add_task", "arguments": '{"title": "buy milk"}'},
    }
    response = await complete(
        standin,
        key,
        request_body(
            user("add a task to buy milk"),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"id": 7, "title": "buy milk"}'},
        ),
    )
    assert response.status_code == 200
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "Added task 7: buy milk."}


async def test_serves_geminis_openai_compatible_path(standin: httpx.AsyncClient, key: str) -> None:
    path = "/v1beta/openai/chat/completions"
    response = await complete(standin, key, request_body(user("what is pending?")), path)
    assert response.status_code == 200
    [call] = response.json()["choices"][0]["message"]["tool_calls"]
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == (
        "list_tasks",
        {"status": "pending"},
    )


@pytest.mark.parametrize(
    ("parameters", "keyword", "param"),
    [
        (
            {"type": "object", "properties": {}, "additionalProperties": False},
            "additionalProperties",
            "tools[0].function.parameters",
        ),
        (
            {
                "type": "object",
                "properties": {"title": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
            },
            "anyOf",
            "tools[0].function.parameters.properties.title",
        ),
        (
            {"type": "object", "properties": {"status": {"type": "string", "default": "all"}}},
            "default",
            "tools[0].function.parameters.properties.status",
        ),
        (
            {
                "type": "object",
                "properties": {"ids": {"type": "array", "items": {"type": "integer", "const": 1}}},
            },
            "const",
            "tools[0].function.parameters.properties.ids.items",
        ),
    ],
)
async def test_gemini_path_refuses_schema_keywords_gemini_does_not_know(
    standin: httpx.AsyncClient, key: str, parameters: dict[str, Any], keyword: str, param: str
) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": parameters}}]
    body = request_body(user("list"), tools=tools)
    gemini = await complete(standin, key, body, "/v1beta/openai/chat/completions")
    assert gemini.status_code == 400
    error = gemini.json()["error"]
    assert error["param"] == param
    assert f'Unknown name "{keyword}"' in error["message"]
    # OpenAI takes any JSON Schema.
    assert (await complete(standin, key, body)).status_code == 200


async def test_records_requests_without_the_key(
    standin: httpx.AsyncClient, key: str, debug: dict[str, str]
) -> None:
    await complete(standin, key, request_body(user("list")))
    await standin.post("/v1/chat/completions", json=request_body(user("x")), headers={})

    recorded = (await standin.get("/_standin/requests", headers=debug)).json()
    assert recorded["count"] == 2
    first, second = recorded["requests"]
    assert first == {
        "path": "/v1/chat/completions",
        "authorized": True,
        "body": request_body(user("list")),
        "status": 200,
    }
    assert (second["authorized"], second["status"]) == (False, 401)
    assert key not in json.dumps(recorded)

    assert (await standin.delete("/_standin/requests", headers=debug)).status_code == 204
    empty = (await standin.get("/_standin/requests", headers=debug)).json()
    assert empty == {"count": 0, "requests": []}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_standin/requests", None),
        ("DELETE", "/_standin/requests", None),
        ("PUT", "/_standin/mode", {"mode": "error500"}),
    ],
)
@pytest.mark.parametrize("who", ["nobody", "api key", "wrong token"])
async def test_debug_routes_refuse_all_but_the_debug_token(
    standin: httpx.AsyncClient, key: str, method: str, path: str, body: Any, who: str
) -> None:
    await complete(standin, key, request_body(user("add a task to buy secret milk")))
    headers = {
        "nobody": {},
        "api key": bearer(key),
        "wrong token": bearer("debug-" + secrets.token_urlsafe(24)),
    }[who]

    response = await standin.request(method, path, json=body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "the debug routes need the stand-in's debug token"}
    # Nothing recorded leaked and no fault was switched on.
    assert (await complete(standin, key, request_body(user("list")))).status_code == 200


async def test_health_needs_no_token(standin: httpx.AsyncClient) -> None:
    response = await standin.get("/_standin/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(("api_key", "token"), [("", "t"), ("k", ""), ("same", "same")])
def test_fails_when_the_key_and_the_debug_token_are_not_two_values(
    api_key: str, token: str
) -> None:
    problem = r"^the API key and the debug token must be set and differ$"
    with pytest.raises(ValueError, match=problem):
        create_app(expected_key=api_key, debug_token=token)


@pytest.mark.parametrize(
    ("body", "param", "message_part"),
    [
        ([], None, "must be a JSON object"),
        ({"messages": [user("hi")]}, "model", "you must provide a model parameter"),
        ({"model": "m", "messages": []}, "messages", "non-empty array"),
        ({"model": "m", "messages": [user("hi")], "temprature": 1}, "temprature", "Unrecognized"),
        ({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role", ""),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", ""),
        (
            {
                "model": "m",
                "messages": [user("hi"), {"role": "tool", "tool_call_id": "c", "content": "{}"}],
            },
            "messages[1].tool_call_id",
            "must answer a tool_call_id",
        ),
        (
            {
                "model": "m",
                "messages": [
                    user("hi"),
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ],
                    },
                    user("again"),
                ],
            },
            "messages[2]",
            "must be followed by tool messages",
        ),
        (
            {
                "model": "m",
                "messages": [
                    user("hi"),
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{"},
                            }
                        ],
                    },
                ],
            },
            "messages[1].tool_calls[0].function.arguments",
            "must be a JSON string",
        ),
        (
            {"model": "m", "messages": [user("hi")], "tools": [{"type": "function"}]},
            "tools[0].function",
            "missing function",
        ),
        (
            {
                "model": "m",
                "messages": [user("hi")],
                "tools": [{"type": "function", "function": {"name": "bad name!"}}],
            },
            "tools[0].function.name",
            "invalid function name",
        ),
        (
            {
                "model": "m",
                "messages": [user("hi")],
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"type": "string"}},
                    }
                ],
            },
            "tools[0].function.parameters",
            "JSON Schema of type object",
        ),
        ({"model": "m", "messages": [user("hi")], "stream": "yes"}, "stream", "must be a boolean"),
        (
            {"model": "m", "messages": [user("hi")], "stream_options": {"include_usage": True}},
            "stream_options",
            "only allowed when 'stream' is enabled",
        ),
    ],
)
async def test_rejects_bodies_that_break_the_wire_format(
    standin: httpx.AsyncClient, key: str, body: Any, param: str | None, message_part: str
) -> None:
    response = await complete(standin, key, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert message_part in error["message"]


@pytest.mark.parametrize(
    ("marker", "status"), [("[[error500]]", 500), ("[[error429]]", 429), ("[[badjson]]", 200)]
)
async def test_fault_markers(
    standin: httpx.AsyncClient, key: str, marker: str, status: int
) -> None:
    response = await complete(standin, key, request_body(user(f"list {marker}")))
    assert response.status_code == status
    if marker == "[[badjson]]":
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)
    else:
        assert "error" in response.json()


@pytest.mark.parametrize("marker", ["[[error500]]", "[[error429]]", "[[badjson]]", "[[slow]]"])
async def test_fault_markers_are_plain_text_outside_test_mode(
    key: str, debug_token: str, marker: str
) -> None:
    app = create_app(expected_key=key, debug_token=debug_token, slow_seconds=30)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://standin") as client:
        began = time.monotonic()
        response = await complete(client, key, request_body(user(f"list {marker}")))
    assert response.status_code == 200
    assert response.json()["object"] == "chat.completion"
    assert time.monotonic() - began < 10  # [[slow]] would wait 30 s


async def test_mode_applies_a_fault_to_every_request(
    standin: httpx.AsyncClient, key: str, debug: dict[str, str]
) -> None:
    async def set_mode(mode: str) -> int:
        response = await standin.put("/_standin/mode", json={"mode": mode}, headers=debug)
        return response.status_code

    assert await set_mode("error500") == 200
    assert (await complete(standin, key, request_body(user("list")))).status_code == 500
    assert await set_mode("normal") == 200
    assert (await complete(standin, key, request_body(user("list")))).status_code == 200
    assert await set_mode("explode") == 400


async def test_only_calls_tools_it_was_offered(standin: httpx.AsyncClient, key: str) -> None:
    response = await complete(standin, key, request_body(user("add a task to x"), tools=[]))
    assert response.status_code == 200
    message = response.json()["choices"][0]["message"]
    assert "tool_calls" not in message
    assert message["content"] == "I cannot do that: the tool add_task was not offered."
