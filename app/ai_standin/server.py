"""The stand-in's HTTP API.

- `POST /v1/chat/completions` (OpenAI), `POST /v1beta/openai/chat/completions` (Gemini's
  OpenAI-compatible path) and `POST /v1/responses` (OpenAI's Responses API, which the Agents
  SDK uses): 401 unless `Authorization: Bearer <expected key>`; 400 for a body that breaks
  the wire format (on the Gemini path also for tool schemas with keywords Gemini refuses,
  such as `additionalProperties`); otherwise the deterministic reply, whole or, with
  `stream: true`, as server-sent events in each API's own shape (`ai_standin.completions`,
  `ai_standin.responses`). Errors are always the provider's `{"error": {...}}` with a status,
  sent before any event.
- Fault injection, in test mode only (any user could otherwise fail their chat at will): a
  last user message containing `[[slow]]` waits `slow_seconds` before answering,
  `[[error500]]` / `[[error429]]` answer with that status, `[[badjson]]` with a body that is
  not JSON. `PUT /_standin/mode {"mode": "error500"}` does the same for every
  request (`"normal"` turns it off).
- `GET /_standin/requests`: how many requests arrived and their bodies (never the key);
  `DELETE /_standin/requests` forgets them.
- The `/_standin/` debug routes (all but `/_standin/health`) answer 401 unless
  `Authorization: Bearer <debug token>`: they show users' prompts and can break everyone's
  chat, so they take a credential of their own that only the tests hold, never the API key.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import deque
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from ai_standin import brain, completions, responses
from ai_standin.wire import InvalidRequest, validate_request

logger = logging.getLogger(__name__)

OPENAI_PATH = "/v1/chat/completions"
GEMINI_PATH = "/v1beta/openai/chat/completions"
RESPONSES_PATH = "/v1/responses"
FAULTS = ("slow", "error500", "error429", "badjson")
MAX_RECORDED = 500


def openai_error(
    status: int, message: str, *, kind: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    """Return an error in the OpenAI format: `{"error": {"message", "type", "param", "code"}}`."""
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        status_code=status,
    )


def _bearer_matches(request: Request, expected: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def create_app(
    *, expected_key: str, debug_token: str, slow_seconds: float = 60.0, test_mode: bool = False
) -> FastAPI:
    """Return the stand-in app that accepts only `expected_key`, and `debug_token` for debug.

    `test_mode` honours the fault markers in user messages.
    """
    if not expected_key or not debug_token or expected_key == debug_token:
        raise ValueError("the API key and the debug token must be set and differ")
    app = FastAPI(title="AI provider stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    recorded: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED)
    state: dict[str, Any] = {"mode": "normal", "count": 0}

    async def generate(request: Request) -> Response:
        state["count"] += 1
        entry: dict[str, Any] = {"path": request.url.path, "authorized": False, "body": None}
        recorded.append(entry)
        raw = await request.body()
        try:
            entry["body"] = json.loads(raw)
        except ValueError:
            entry["body"] = raw.decode("utf-8", "replace")
        response = await _answer(request, entry)
        entry["status"] = response.status_code
        return response

    async def _answer(request: Request, entry: dict[str, Any]) -> Response:
        if not _bearer_matches(request, expected_key):
            return openai_error(
                401,
                "Incorrect API key provided.",
                kind="invalid_request_error",
                code="invalid_api_key",
            )
        entry["authorized"] = True
        path, body = request.url.path, entry["body"]
        try:
            if path == RESPONSES_PATH:
                messages = responses.read_request(body)
                tool_names = responses.tool_names(body)
            else:
                validate_request(body, gemini=path == GEMINI_PATH)
                messages = body["messages"]
                tool_names = {tool["function"]["name"] for tool in body.get("tools") or []}
        except InvalidRequest as exc:
            return openai_error(400, str(exc), kind="invalid_request_error", param=exc.param)
        last_user: dict[str, Any] = next((m for m in reversed(messages) if m["role"] == "user"), {})
        marked = _fault_marker(last_user) if test_mode else None
        fault = state["mode"] if state["mode"] != "normal" else marked
        if fault == "slow":
            await asyncio.sleep(slow_seconds)
        elif fault == "error500":
            return openai_error(500, "The server had an error.", kind="server_error")
        elif fault == "error429":
            return openai_error(429, "Rate limit reached.", kind="requests", code="rate_limit")
        elif fault == "badjson":
            return PlainTextResponse("<html>upstream hiccup</html>", status_code=200)
        return _render(path, body, brain.reply(messages, tool_names))

    for path in (OPENAI_PATH, GEMINI_PATH, RESPONSES_PATH):
        app.add_api_route(path, generate, methods=["POST"])

    def require_debug_token(request: Request) -> None:
        if not _bearer_matches(request, debug_token):
            raise HTTPException(401, "the debug routes need the stand-in's debug token")

    debug = APIRouter(prefix="/_standin", dependencies=[Depends(require_debug_token)])

    @debug.get("/requests")
    async def list_requests() -> dict[str, Any]:
        """Requests received so far (bodies only: the key is never recorded)."""
        return {"count": state["count"], "requests": list(recorded)}

    @debug.delete("/requests", status_code=204)
    async def forget_requests() -> Response:
        """Forget the recorded requests."""
        recorded.clear()
        state["count"] = 0
        return Response(status_code=204)

    @debug.put("/mode")
    async def set_mode(request: Request) -> Response:
        """Set a fault for every request (`normal` or one of FAULTS)."""
        mode = (await request.json()).get("mode")
        if mode not in ("normal", *FAULTS):
            return JSONResponse({"detail": f"mode must be normal or one of {FAULTS}"}, 400)
        state["mode"] = mode
        return JSONResponse({"mode": mode})

    app.include_router(debug)

    @app.get("/_standin/health")
    async def health() -> dict[str, str]:
        """200 while serving."""
        return {"status": "ok"}

    return app


def _fault_marker(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content)
    return next((fault for fault in FAULTS if f"[[{fault}]]" in text), None)


def _render(path: str, body: dict[str, Any], message: dict[str, Any]) -> Response:
    """Answer with the brain's `message` in the shape of the API that `path` serves."""
    if not body.get("stream"):
        if path == RESPONSES_PATH:
            return JSONResponse(responses.response(body, message))
        return JSONResponse(completions.completion(body["model"], message))
    if path == RESPONSES_PATH:
        events = responses.events(body, message)
    else:
        include_usage = (body.get("stream_options") or {}).get("include_usage", False)
        events = completions.chunk_events(
            body["model"], message, gemini=path == GEMINI_PATH, include_usage=include_usage
        )
    return StreamingResponse(events, media_type="text/event-stream")
