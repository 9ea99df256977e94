"""Chat-completions answers: one `chat.completion` object, or its stream of chunks.

The stream is server-sent events, each `data: <chat.completion.chunk>`, then `data: [DONE]`.
OpenAI's reference for the chunk and for `stream_options.include_usage`:
https://developers.openai.com/api/reference/resources/chat/subresources/completions/streaming-events
(and the guide https://developers.openai.com/docs/guides/streaming-responses?api-mode=chat):

- every chunk carries the completion's `id`, `created` and `model`; the first delta has the
  role, later ones the content in pieces or `tool_calls` fragments, each with its `index`: the
  first fragment of a call has its `id`, `type` and `function.name` and empty arguments, the
  following ones only pieces of `function.arguments`;
- the last chunk with a choice has an empty delta and the `finish_reason`;
- with `include_usage`, every chunk has `"usage": null` and one more chunk, with no choices
  and the usage, comes before `[DONE]`.

Gemini's OpenAI-compatible endpoint streams the same chunks and `[DONE]`
(https://ai.google.dev/gemini-api/docs/openai, "Streaming"), but its documentation shows no
chunk; what clients measured and had to adapt to (openai/openai-python#2806,
https://discuss.ai.google.dev/t/gemini-openai-compatibility-issue-with-tool-call-streaming/59886,
BerriAI/litellm#11558): each delta repeats `role`, and a tool call comes whole in one delta,
arguments complete and without `index`. The Gemini path streams that shape, so that a backend
meets here what it will meet there.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

DONE = "[DONE]"
# What a fragment of a streamed text or of tool-call arguments looks like: a word with its
# trailing space, or a run of punctuation, as a tokenizer would cut it; never valid JSON alone.
_PIECE = re.compile(r"\w+\s*|[^\w]+")


def usage(message: dict[str, Any]) -> tuple[int, int]:
    """Return the (prompt, completion) token counts the stand-in reports for `message`."""
    content = message.get("content") or ""
    arguments = "".join(c["function"]["arguments"] for c in message.get("tool_calls", []))
    return 10, max(1, (len(content) + len(arguments)) // 4)


def pieces(text: str) -> list[str]:
    """Return `text` cut into the fragments a stream sends (joined, they give `text` back)."""
    return _PIECE.findall(text)


def completion(model: str, message: dict[str, Any]) -> dict[str, Any]:
    """Return the whole `chat.completion` object for the assistant `message`."""
    prompt_tokens, completion_tokens = usage(message)
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(message)}],
        "usage": _usage_object(prompt_tokens, completion_tokens),
    }


def chunk_events(
    model: str, message: dict[str, Any], *, gemini: bool, include_usage: bool
) -> Iterator[str]:
    """Yield the server-sent events that stream `message`, `data: [DONE]` last."""
    head = {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    tail = {"usage": None} if include_usage else {}
    deltas = _gemini_deltas(message) if gemini else _openai_deltas(message)
    for delta in deltas:
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        yield _event({**head, "choices": [choice], **tail})
    final = {"index": 0, "delta": {}, "finish_reason": _finish_reason(message)}
    yield _event({**head, "choices": [final], **tail})
    if include_usage:
        yield _event({**head, "choices": [], "usage": _usage_object(*usage(message))})
    yield f"data: {DONE}\n\n"


def _openai_deltas(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    calls = message.get("tool_calls") or []
    yield {"role": "assistant", "content": None if calls else ""}
    for text in pieces(message.get("content") or ""):
        yield {"content": text}
    for index, call in enumerate(calls):
        function = call["function"]
        yield {
            "tool_calls": [
                {
                    "index": index,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": function["name"], "arguments": ""},
                }
            ]
        }
        for fragment in pieces(function["arguments"]):
            yield {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}


def _gemini_deltas(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for text in pieces(message.get("content") or ""):
        yield {"role": "assistant", "content": text}
    calls = message.get("tool_calls") or []
    if calls:
        yield {"role": "assistant", "tool_calls": calls}


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


def _finish_reason(message: dict[str, Any]) -> str:
    return "tool_calls" if message.get("tool_calls") else "stop"


def _usage_object(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
