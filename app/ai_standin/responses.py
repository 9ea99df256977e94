"""The Responses API (`POST /v1/responses`) as far as function tools need it.

This is the API the OpenAI Agents SDK calls by default. A request's `input` is a string or a
list of items: messages (`{"role", "content"}`, content a string or `input_text` /
`output_text` parts), `function_call` items the model produced earlier and the
`function_call_output` items that answer them by `call_id`; `instructions` is the system
prompt; `tools` are `{"type": "function", "name", "parameters", ...}`. `read_request`
turns that into the chat-completions conversation that `ai_standin.brain` reads, and the
brain's answer comes back as a `response` object whose `output` holds one `message` item or
`function_call` items. References:
https://developers.openai.com/api/reference/resources/responses/methods/create and, for
`stream: true`, https://developers.openai.com/api/reference/resources/responses/streaming-events
with the guide https://developers.openai.com/docs/guides/streaming-responses: typed events
`event: <type>` / `data: {..., "type", "sequence_number"}`, from `response.created` and
`response.in_progress` through `response.output_item.added`, the text or argument deltas and
their `.done` events, `response.output_item.done`, to `response.completed`; there is no
`[DONE]` sentinel.

The stand-in keeps no responses, so `previous_response_id` and `conversation` (state kept by
the provider) are refused as unknown, like an id the provider has forgotten.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from ai_standin.completions import pieces, usage
from ai_standin.wire import InvalidRequest, validate_envelope, validate_tools

KNOWN_PARAMETERS = {
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_output_tokens",
    "max_tool_calls",
    "stream",
    "stream_options",
    "store",
    "background",
    "metadata",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "reasoning",
    "text",
    "include",
    "truncation",
    "top_logprobs",
    "previous_response_id",
    "conversation",
    "prompt",
}
_MESSAGE_ROLES = {"user", "assistant", "system", "developer"}
_TEXT_PARTS = {"input_text", "output_text"}


def read_request(body: Any) -> list[dict[str, Any]]:
    """Return a Responses request as the chat-completions messages the brain reads.

    Raises `InvalidRequest` unless `body` is a request the stand-in can answer.
    """
    validate_envelope(
        body,
        KNOWN_PARAMETERS,
        unknown="Unknown parameter: '{name}'.",
        no_model="Missing required parameter: 'model'.",
    )
    if body.get("previous_response_id") is not None:
        raise InvalidRequest(
            f"Previous response with id '{body['previous_response_id']}' not found.",
            "previous_response_id",
        )
    if body.get("conversation") is not None:
        raise InvalidRequest("Conversation not found.", "conversation")
    if body.get("instructions") is not None and not isinstance(body["instructions"], str):
        raise InvalidRequest("instructions must be a string", "instructions")
    validate_tools(body.get("tools"), responses_api=True)
    return _chat_messages(body)


def tool_names(body: dict[str, Any]) -> set[str]:
    """Return the names of the function tools offered in a valid request."""
    return {tool["name"] for tool in body.get("tools") or []}


def _chat_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    # The API refuses a `function_call_output` whose `call_id` no earlier `function_call`
    # has, and a call left without its output; the messages given here say the same.
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise InvalidRequest("input must be a non-empty string or array", "input")
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    unanswered: set[str] = set()
    for index, item in enumerate(items):
        param = f"input[{index}]"
        if not isinstance(item, dict):
            raise InvalidRequest("each input item must be an object", param)
        kind = item.get("type", "message")
        if kind == "function_call":
            call = _function_call(item, param)
            unanswered.add(call["id"])
            if messages and messages[-1].get("tool_calls"):
                messages[-1]["tool_calls"].append(call)  # calls made in parallel
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in unanswered:
                raise InvalidRequest(
                    f"No tool call found for function call output with call_id {call_id}.",
                    "input",
                )
            unanswered.discard(call_id)
            output = item.get("output")
            if not isinstance(output, str):
                raise InvalidRequest("output must be a string", f"{param}.output")
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        elif kind == "message":
            if unanswered:
                raise InvalidRequest(
                    f"No tool output found for function call {sorted(unanswered)[0]}.", "input"
                )
            messages.append(_message(item, param))
        else:
            raise InvalidRequest(
                f"Invalid value: '{kind}'. The stand-in takes message, function_call and"
                " function_call_output items.",
                f"{param}.type",
            )
    if unanswered:
        raise InvalidRequest(
            f"No tool output found for function call {sorted(unanswered)[0]}.", "input"
        )
    return messages


def response(body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """Return the completed `response` object that answers `body` with the brain's `message`."""
    return _response(body, message, [_completed(item) for item in _output_items(message)])


def events(body: dict[str, Any], message: dict[str, Any]) -> Iterator[str]:
    """Yield the server-sent events that stream the response to `body`."""
    sequence = itertools.count()
    items = _output_items(message)
    done = _response(body, message, [_completed(item) for item in items])
    pending = {**done, "status": "in_progress", "completed_at": None, "output": [], "usage": None}

    def event(kind: str, **fields: Any) -> str:
        data = {"type": kind, "sequence_number": next(sequence), **fields}
        return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(items):
        place = {"output_index": index, "item_id": item["id"]}
        yield event("response.output_item.added", output_index=index, item=_started(item))
        if item["type"] == "message":
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield event("response.content_part.added", **place, content_index=0, part=part)
            for piece in pieces(text):
                yield event(
                    "response.output_text.delta", **place, content_index=0, delta=piece, logprobs=[]
                )
            yield event(
                "response.output_text.done", **place, content_index=0, text=text, logprobs=[]
            )
            part = {**part, "text": text}
            yield event("response.content_part.done", **place, content_index=0, part=part)
        else:
            for piece in pieces(item["arguments"]):
                yield event("response.function_call_arguments.delta", **place, delta=piece)
            yield event(
                "response.function_call_arguments.done",
                **place,
                name=item["name"],
                arguments=item["arguments"],
            )
        yield event("response.output_item.done", output_index=index, item=_completed(item))
    yield event("response.completed", response=done)


def _function_call(item: dict[str, Any], param: str) -> dict[str, Any]:
    call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
    if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(arguments, str):
        raise InvalidRequest(
            "a function_call item is {'type': 'function_call', 'call_id', 'name', 'arguments'}",
            param,
        )
    try:
        json.loads(arguments)
    except json.JSONDecodeError:
        raise InvalidRequest("arguments must be a JSON string", f"{param}.arguments") from None
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _message(item: dict[str, Any], param: str) -> dict[str, Any]:
    role, content = item.get("role"), item.get("content")
    if role not in _MESSAGE_ROLES:
        raise InvalidRequest(f"role must be one of {sorted(_MESSAGE_ROLES)}", f"{param}.role")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list) or not all(
        isinstance(part, dict)
        and part.get("type") in _TEXT_PARTS
        and isinstance(part.get("text"), str)
        for part in content
    ):
        raise InvalidRequest(
            "content must be a string or a list of input_text / output_text parts",
            f"{param}.content",
        )
    return {"role": role, "content": [{"type": "text", "text": part["text"]} for part in content]}


def _output_items(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the brain's chat message as Responses output items, still in progress."""
    calls = message.get("tool_calls")
    if not calls:
        text = {
            "type": "output_text",
            "text": message["content"],
            "annotations": [],
            "logprobs": [],
        }
        return [
            {
                "id": f"msg_{secrets.token_hex(12)}",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [text],
            }
        ]
    return [
        {
            "id": f"fc_{secrets.token_hex(12)}",
            "type": "function_call",
            "status": "in_progress",
            "call_id": call["id"],
            "name": call["function"]["name"],
            "arguments": call["function"]["arguments"],
        }
        for call in calls
    ]


def _started(item: dict[str, Any]) -> dict[str, Any]:
    """Return `item` as `response.output_item.added` shows it: before any delta."""
    if item["type"] == "message":
        return {**item, "content": []}
    return {**item, "arguments": ""}


def _completed(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "status": "completed"}


def _response(
    body: dict[str, Any], message: dict[str, Any], output: list[dict[str, Any]]
) -> dict[str, Any]:
    input_tokens, output_tokens = usage(message)
    return {
        "id": f"resp_{secrets.token_hex(12)}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "completed_at": int(time.time()),
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text", {"format": {"type": "text"}}),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
