"""Checks of request bodies, as strict as the real APIs on what we use.

Chat completions here; the Responses API shares the envelope and tool checks and reads its
own `input` items in `ai_standin.responses`.
"""

from __future__ import annotations

import json
import re
from typing import Any

KNOWN_PARAMETERS = {
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "n",
    "max_tokens",
    "max_completion_tokens",
    "stream",
    "stream_options",
    "stop",
    "seed",
    "user",
    "response_format",
    "reasoning_effort",
}
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The JSON Schema keywords the stand-in's Gemini path accepts in function parameters: the
# part of Gemini's Schema object that its API has always taken. Gemini answers 400 to a
# name it does not know ("Unknown name \"additionalProperties\" ...: Cannot find field"),
# as it has for `additionalProperties`, `$schema`, `const`, and in some versions `anyOf`
# and `default`; OpenAI takes any JSON Schema.
GEMINI_SCHEMA_KEYWORDS = frozenset(
    {"type", "format", "description", "nullable", "enum", "properties", "required", "items"}
)


class InvalidRequest(ValueError):
    """The body breaks the wire format; `param` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        """Keep the message and the parameter path."""
        super().__init__(message)
        self.param = param


def validate_request(body: Any, *, gemini: bool = False) -> None:
    """Raise `InvalidRequest` unless `body` is a valid chat-completions request.

    `gemini` also applies Gemini's limits on tool parameter schemas.
    """
    validate_envelope(
        body,
        KNOWN_PARAMETERS,
        unknown="Unrecognized request argument supplied: {name}",
        no_model="you must provide a model parameter",
    )
    validate_tools(body.get("tools"), gemini=gemini)
    _validate_messages(body.get("messages"))


def validate_envelope(body: Any, known: set[str], *, unknown: str, no_model: str) -> None:
    """Raise `InvalidRequest` unless `body` is an object of `known` parameters with a model.

    Each API words the refusals its own way: `unknown` (with `{name}`) and `no_model`.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    names = sorted(set(body) - known)
    if names:
        raise InvalidRequest(unknown.format(name=names[0]), names[0])
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise InvalidRequest(no_model, "model")
    _validate_stream(body)


def _validate_stream(body: dict[str, Any]) -> None:
    """Raise `InvalidRequest` unless `stream` is a boolean and `stream_options` goes with it.

    OpenAI refuses `stream_options` without `stream: true`, with the message used here.
    """
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest(f"stream must be a boolean, got {stream!r}", "stream")
    options = body.get("stream_options")
    if options is None:
        return
    if not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool):
        raise InvalidRequest(
            "stream_options must be an object such as {'include_usage': true}", "stream_options"
        )


def validate_tools(tools: Any, *, responses_api: bool = False, gemini: bool = False) -> None:
    """Raise `InvalidRequest` unless `tools` is a list of distinct function tools.

    Chat completions nest the function (`{"type": "function", "function": {"name", ...}}`),
    the Responses API (`responses_api`) does not (`{"type": "function", "name", ...}`);
    `gemini` also applies Gemini's limits on parameter schemas.
    """
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("tools must be an array", "tools")
    shape = "'name', ..." if responses_api else "'function': {'name', ...}"
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise InvalidRequest(f"each tool must be {{'type': 'function', {shape}}}", param)
        if not responses_api:
            param = f"{param}.function"
            tool = tool.get("function")
        _validate_function(tool, param, seen)
        if gemini and tool.get("parameters") is not None:
            _validate_gemini_schema(tool["parameters"], f"{param}.parameters")


def _validate_function(function: Any, param: str, seen: set[str]) -> None:
    if not isinstance(function, dict):
        raise InvalidRequest("missing function", param)
    name = function.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise InvalidRequest(f"invalid function name {name!r}", f"{param}.name")
    if name in seen:
        raise InvalidRequest(f"duplicate function name {name}", f"{param}.name")
    seen.add(name)
    if "description" in function and not isinstance(function["description"], str):
        raise InvalidRequest("description must be a string", f"{param}.description")
    parameters = function.get("parameters")
    if parameters is not None and (
        not isinstance(parameters, dict)
        or parameters.get("type") != "object"
        or not isinstance(parameters.get("properties", {}), dict)
    ):
        raise InvalidRequest(
            "parameters must be a JSON Schema of type object", f"{param}.parameters"
        )


def _validate_gemini_schema(schema: dict[str, Any], param: str) -> None:
    for keyword in schema:
        if keyword not in GEMINI_SCHEMA_KEYWORDS:
            raise InvalidRequest(
                f"Invalid JSON payload received. Unknown name \"{keyword}\" at '{param}':"
                " Cannot find field.",
                param,
            )
    properties = schema.get("properties", {})
    nested = [(f"{param}.properties.{name}", value) for name, value in properties.items()]
    if "items" in schema:
        nested.append((f"{param}.items", schema["items"]))
    for nested_param, nested_schema in nested:
        if not isinstance(nested_schema, dict):
            raise InvalidRequest("a schema must be an object", nested_param)
        _validate_gemini_schema(nested_schema, nested_param)


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages must be a non-empty array", "messages")
    unanswered: set[str] = set()
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise InvalidRequest(f"role must be one of {sorted(_ROLES)}", f"{param}.role")
        role = message["role"]
        if role != "tool" and unanswered:
            raise InvalidRequest(
                "an assistant message with 'tool_calls' must be followed by tool messages"
                f" responding to each 'tool_call_id'; missing: {sorted(unanswered)}",
                param,
            )
        if role in ("system", "developer", "user"):
            if not _is_content(message.get("content")):
                raise InvalidRequest("content must be a string", f"{param}.content")
        elif role == "assistant":
            unanswered = _validate_assistant(message, param)
        else:
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in unanswered:
                raise InvalidRequest(
                    "a 'tool' message must answer a tool_call_id of the preceding assistant"
                    " message",
                    f"{param}.tool_call_id",
                )
            unanswered.discard(call_id)
            if not isinstance(message.get("content"), str):
                raise InvalidRequest("content must be a string", f"{param}.content")
    if unanswered:
        raise InvalidRequest(f"tool calls without results: {sorted(unanswered)}", "messages")


def _validate_assistant(message: dict[str, Any], param: str) -> set[str]:
    content = message.get("content")
    tool_calls = message.get("tool_calls")
    if content is not None and not _is_content(content):
        raise InvalidRequest("content must be a string or null", f"{param}.content")
    if tool_calls is None:
        if content is None:
            raise InvalidRequest("content is required unless tool_calls is given", param)
        return set()
    if not isinstance(tool_calls, list) or not tool_calls:
        raise InvalidRequest("tool_calls must be a non-empty array", f"{param}.tool_calls")
    ids = set()
    for index, call in enumerate(tool_calls):
        call_param = f"{param}.tool_calls[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or not isinstance(call.get("id"), str)
            or call.get("type") != "function"
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            raise InvalidRequest(
                "a tool call is {'id', 'type': 'function', 'function': {'name', 'arguments'}}",
                call_param,
            )
        try:
            json.loads(function["arguments"])
        except json.JSONDecodeError:
            raise InvalidRequest(
                "function.arguments must be a JSON string", f"{call_param}.function.arguments"
            ) from None
        ids.add(call["id"])
    return ids


def _is_content(content: Any) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        for part in content
    )
