"""The stand-in as the official `openai` client meets it: streamed and whole, both APIs.

The stand-in runs as its own process (`python -m ai_standin`, the session's `standin`), so
these tests see what a real backend sees on the wire: the client's requests, the
server-sent events, the `[DONE]` sentinel and the provider's error bodies.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from support.secret import Secret
from support.standin import StandIn

pytestmark = pytest.mark.app

MODEL = "gpt-test"
FUNCTIONS = {
    "add_task": {"title": {"type": "string"}},
    "list_tasks": {"status": {"type": "string", "enum": ["all", "pending", "completed"]}},
    "complete_task": {"task_id": {"type": "integer"}},
}
CHAT_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} tool",
            "parameters": {"type": "object", "properties": properties},
        },
    }
    for name, properties in FUNCTIONS.items()
]
RESPONSES_TOOLS: list[Any] = [
    {
        "type": "function",
        "name": name,
        "description": f"{name} tool",
        "parameters": {"type": "object", "properties": properties},
        "strict": False,
    }
    for name, properties in FUNCTIONS.items()
]
ADD_MILK: list[Any] = [{"role": "user", "content": "add a task to buy milk"}]
ADDED = '{"id": 7, "title": "buy milk", "completed": false}'


def client(standin: StandIn, key: str, base: str = "/v1") -> openai.OpenAI:
    """The official client pointed at the stand-in (no retries: one request, one answer)."""
    return openai.OpenAI(api_key=key, base_url=standin.url + base, max_retries=0, timeout=10)


@pytest.fixture
def openai_client(fresh_standin: StandIn, ai_key: Secret) -> Iterator[openai.OpenAI]:
    with client(fresh_standin, ai_key) as sdk:
        yield sdk


def with_result(call: dict[str, Any]) -> list[Any]:
    """The add-milk conversation after `call` ran and returned task 7."""
    return [
        *ADD_MILK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": ADDED},
    ]


def sse_data(lines: Iterator[str]) -> list[str]:
    """The `data:` payloads of a server-sent event stream, in order."""
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


# Chat completions


def test_chat_completion_with_a_tool_call(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model=MODEL, messages=ADD_MILK, tools=CHAT_TOOLS
    )
    assert completion.object == "chat.completion"
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "add_task"
    assert json.loads(call.function.arguments) == {"title": "buy milk"}


def test_streamed_tool_call_arrives_in_openais_fragments(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model=MODEL,
        messages=ADD_MILK,
        tools=CHAT_TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    *with_choice, usage_chunk = chunks
    first, *fragments, last = with_choice
    assert first.choices[0].delta.role == "assistant"
    header, *argument_fragments = [c.choices[0].delta.tool_calls[0] for c in fragments]
    assert (header.index, header.type, header.function.name) == (0, "function", "add_task")
    assert header.id and header.id.startswith("call_")
    assert header.function.arguments == ""
    assert len(argument_fragments) > 1
    assert {fragment.index for fragment in argument_fragments} == {0}
    assert {fragment.id for fragment in argument_fragments} == {None}
    arguments = "".join(f.function.arguments for f in argument_fragments)
    assert json.loads(arguments) == {"title": "buy milk"}
    assert [c.choices[0].finish_reason for c in with_choice] == [None] * (len(with_choice) - 1) + [
        "tool_calls"
    ]
    assert last.choices[0].delta.content is None
    assert {chunk.usage for chunk in with_choice} == {None}
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.total_tokens == (
        usage_chunk.usage.prompt_tokens + usage_chunk.usage.completion_tokens
    )


def test_streamed_text_and_the_done_sentinel(openai_client: openai.OpenAI) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add_task", "arguments": '{"title": "buy milk"}'},
    }
    with openai_client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=with_result(call), tools=CHAT_TOOLS, stream=True
    ) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        *payloads, done = sse_data(raw.iter_lines())

    assert done == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    contents = [chunk["choices"][0]["delta"].get("content") for chunk in chunks[1:-1]]
    assert len(contents) > 1
    assert "".join(contents) == "Added task 7: buy milk."
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert all("usage" not in chunk for chunk in chunks)  # only with include_usage


def test_the_sdks_stream_helper_assembles_the_tool_call(openai_client: openai.OpenAI) -> None:
    # `chat.completions.stream` checks every fragment's `index` as it accumulates.
    with openai_client.chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": "what is pending?"}],
        tools=CHAT_TOOLS,
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "list_tasks",
        {"status": "pending"},
    )
    assert final.choices[0].finish_reason == "tool_calls"


def test_gemini_path_streams_geminis_shape(fresh_standin: StandIn, ai_key: Secret) -> None:
    gemini = client(fresh_standin, ai_key, "/v1beta/openai")
    with gemini.chat.completions.with_streaming_response.create(
        model="gemini-test", messages=ADD_MILK, tools=CHAT_TOOLS, stream=True
    ) as raw:
        *payloads, done = sse_data(raw.iter_lines())

    assert done == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads]
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks[:-1]]
    assert {delta["role"] for delta in deltas} == {"assistant"}
    # The whole call in one delta, without `index`, as Gemini sends it.
    [delta] = deltas
    [call] = delta["tool_calls"]
    assert "index" not in call
    assert (call["type"], call["function"]["name"]) == ("function", "add_task")
    assert json.loads(call["function"]["arguments"]) == {"title": "buy milk"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


# Responses API


def test_response_function_tool_round_trip(openai_client: openai.OpenAI) -> None:
    first = openai_client.responses.create(model=MODEL, input=ADD_MILK, tools=RESPONSES_TOOLS)
    assert (first.object, first.status) == ("response", "completed")
    [call] = first.output
    assert call.type == "function_call"
    assert call.status == "completed"
    assert call.name == "add_task"
    assert json.loads(call.arguments) == {"title": "buy milk"}

    # As the Agents SDK does: the earlier output items go back, then each call's output.
    second = openai_client.responses.create(
        model=MODEL,
        instructions="You manage the user's tasks.",
        input=[
            *ADD_MILK,
            *(item.model_dump(exclude_none=True) for item in first.output),
            {"type": "function_call_output", "call_id": call.call_id, "output": ADDED},
        ],
        tools=RESPONSES_TOOLS,
    )
    [message] = second.output
    assert (message.type, message.role) == ("message", "assistant")
    assert second.output_text == "Added task 7: buy milk."
    assert second.instructions == "You manage the user's tasks."
    assert second.usage is not None
    assert second.usage.total_tokens == second.usage.input_tokens + second.usage.output_tokens


def test_streamed_response_events_in_order(openai_client: openai.OpenAI) -> None:
    stream = openai_client.responses.create(
        model=MODEL, input="add a task to buy milk", tools=RESPONSES_TOOLS, stream=True
    )
    events = list(stream)

    assert [event.sequence_number for event in events] == list(range(len(events)))
    kinds = [event.type for event in events]
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * len(deltas),
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert len(deltas) > 1
    created, completed = events[0], events[-1]
    assert created.response.status == "in_progress"
    assert created.response.output == []
    added, done = events[2], events[-2]
    assert added.item.type == "function_call"
    assert (added.item.status, added.item.arguments) == ("in_progress", "")
    arguments = "".join(delta.delta for delta in deltas)
    assert json.loads(arguments) == {"title": "buy milk"}
    assert {delta.item_id for delta in deltas} == {added.item.id}
    assert events[-3].arguments == arguments
    assert done.item.status == "completed"
    assert completed.response.id == created.response.id
    assert completed.response.status == "completed"
    [call] = completed.response.output
    assert (call.type, call.id, call.arguments) == ("function_call", added.item.id, arguments)
    assert call.call_id == added.item.call_id == done.item.call_id


def test_streamed_response_text_through_the_sdks_helper(openai_client: openai.OpenAI) -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "add_task"}
    call |= {"arguments": '{"title": "buy milk"}'}
    # `responses.stream` rebuilds the response from the events and checks them as it goes.
    with openai_client.responses.stream(
        model=MODEL,
        input=[
            *ADD_MILK,
            call,
            {"type": "function_call_output", "call_id": "call_1", "output": ADDED},
        ],
        tools=RESPONSES_TOOLS,
    ) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "Added task 7: buy milk."
    assert final.output_text == text


def test_streamed_response_has_typed_events_and_no_done_sentinel(
    openai_client: openai.OpenAI,
) -> None:
    with openai_client.responses.with_streaming_response.create(
        model=MODEL, input="hello", stream=True
    ) as raw:
        lines = [line for line in raw.iter_lines() if line]

    names = [line.removeprefix("event: ") for line in lines[0::2]]
    payloads = [json.loads(line.removeprefix("data: ")) for line in lines[1::2]]
    assert [payload["type"] for payload in payloads] == names
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * (len(names) - 8),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "[DONE]" not in "".join(lines)


# Refusals: the provider's status and error body, before any event


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("base", ["/v1", "/v1beta/openai"])
def test_wrong_key_gets_the_providers_401(fresh_standin: StandIn, base: str, stream: bool) -> None:
    wrong = client(fresh_standin, Secret("sk-" + secrets.token_urlsafe(24)), base)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.chat.completions.create(model=MODEL, messages=ADD_MILK, stream=stream)
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    assert refused.value.body == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_wrong_key_on_responses(fresh_standin: StandIn) -> None:
    wrong = client(fresh_standin, Secret("sk-" + secrets.token_urlsafe(24)))
    with pytest.raises(openai.AuthenticationError):
        wrong.responses.create(model=MODEL, input="hello", stream=True)


def test_bad_streamed_chat_request_gets_a_400(openai_client: openai.OpenAI) -> None:
    bad_tool = [{"type": "function", "function": {"name": "bad name!"}}]
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model=MODEL, messages=ADD_MILK, tools=bad_tool, stream=True
        )
    assert refused.value.status_code == 400
    assert refused.value.param == "tools[0].function.name"
    assert refused.value.type == "invalid_request_error"


@pytest.mark.parametrize(
    ("arguments", "param", "message"),
    [
        (
            {"input": [{"type": "function_call_output", "call_id": "call_x", "output": "{}"}]},
            "input",
            "No tool call found for function call output with call_id call_x.",
        ),
        (
            {
                "input": [
                    *ADD_MILK,
                    {"type": "function_call", "call_id": "c1", "name": "add_task"}
                    | {"arguments": "{}"},
                ]
            },
            "input",
            "No tool output found for function call c1.",
        ),
        (
            {"input": "hi", "tools": [{"type": "web_search"}]},
            "tools[0]",
            "each tool must be {'type': 'function', 'name', ...}",
        ),
        (
            {"input": "hi", "previous_response_id": "resp_unknown"},
            "previous_response_id",
            "Previous response with id 'resp_unknown' not found.",
        ),
        (
            {"input": "hi", "extra_body": {"temprature": 1}},
            "temprature",
            "Unknown parameter: 'temprature'.",
        ),
    ],
    ids=["unknown-call-id", "unanswered-call", "hosted-tool", "previous-response", "unknown"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_bad_responses_request_gets_a_400(
    openai_client: openai.OpenAI, arguments: dict[str, Any], param: str, message: str, stream: bool
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.responses.create(model=MODEL, stream=stream, **arguments)
    assert refused.value.body == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": None,
    }


def test_injected_fault_refuses_a_stream_before_it_starts(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "list [[error429]]"}], stream=True
        )
    with pytest.raises(openai.InternalServerError):
        openai_client.responses.create(model=MODEL, input="list [[error500]]", stream=True)
