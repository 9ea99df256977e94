"""A client of an OpenAI-compatible chat-completions API (OpenAI, Gemini's compatibility API).

Every failure becomes an `AIProviderError` with the HTTP status the backend answers
(502 for a provider failure, 504 for a timeout) and a message a user can act on; the API
key only ever travels in the `Authorization` header.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from pydantic import SecretStr

logger = logging.getLogger(__name__)


class AIProviderError(Exception):
    """The AI provider could not produce an answer; `status_code` is the backend's answer."""

    def __init__(self, status_code: int, message: str) -> None:
        """Keep the status code and the user-facing message."""
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class ChatCompletionsClient:
    """Sends one chat-completions request at a time and returns the assistant message."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr,
        model: str,
        timeout_seconds: float,
    ) -> None:
        """Use `http` (owned by the caller) for requests to `base_url`/chat/completions."""
        self._http = http
        self._url = f"{base_url}/chat/completions"
        self._api_key = api_key
        self._model = model
        self.timeout_seconds = timeout_seconds

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        timeout_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Return the assistant message (`content` and/or `tool_calls`) for `messages`.

        The call takes at most `timeout_seconds` (default and upper bound: the client's).
        """
        timeout = (
            self.timeout_seconds
            if timeout_seconds is None
            else min(self.timeout_seconds, timeout_seconds)
        )
        body = {"model": self._model, "messages": messages, "tools": tools}
        try:
            # httpx's timeout bounds each read, not the call: a provider that trickles its
            # answer would outlast it.
            async with asyncio.timeout(timeout):
                response = await self._post(body, timeout)
        except (httpx.TimeoutException, TimeoutError):
            logger.warning("AI provider timed out", extra={"timeout_s": round(timeout, 1)})
            raise AIProviderError(
                504,
                f"The AI assistant did not answer within {self.timeout_seconds:g} seconds;"
                " please try again.",
            ) from None
        except httpx.HTTPError as exc:
            logger.warning("AI provider unreachable", extra={"error": type(exc).__name__})
            raise AIProviderError(
                502, "The AI assistant cannot be reached right now; please try again later."
            ) from None
        if response.status_code != 200:
            raise _status_error(response)
        return _assistant_message(response)

    async def _post(self, body: dict[str, Any], timeout: float) -> httpx.Response:
        """POST `body`, sent again once if the connection failed before any answer.

        A pooled connection can be closed by the provider's side just as it is reused (both
        ends time idle connections out, 5 s for uvicorn and httpx alike); the official
        OpenAI client retries such connection errors too. Timeouts are not retried: the
        turn's deadline is the caller's.
        """
        headers = {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}
        try:
            return await self._http.post(self._url, json=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as exc:
            logger.info(
                "AI provider connection failed; sending again", extra={"error": type(exc).__name__}
            )
            return await self._http.post(self._url, json=body, headers=headers, timeout=timeout)


def _status_error(response: httpx.Response) -> AIProviderError:
    status = response.status_code
    logger.warning("AI provider answered with an error", extra={"provider_status": status})
    if status in (401, 403):
        message = (
            "The AI assistant is not available: the provider rejected the server's API key."
            " The operator must check the configured key."
        )
    elif status == 429:
        message = "The AI assistant is busy (rate limited by the provider); try again in a minute."
    elif status >= 500:
        message = f"The AI provider failed (HTTP {status}); please try again later."
    else:
        message = f"The AI provider refused the request (HTTP {status})."
    return AIProviderError(502, message)


def _assistant_message(response: httpx.Response) -> dict[str, Any]:
    invalid = AIProviderError(502, "The AI provider sent an invalid answer; please try again.")
    try:
        payload = response.json()
        message = payload["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        logger.warning("AI provider sent an unreadable answer")
        raise invalid from None
    if not isinstance(message, dict):
        raise invalid
    tool_calls = message.get("tool_calls") or []
    content = message.get("content")
    if not isinstance(tool_calls, list) or (content is not None and not isinstance(content, str)):
        raise invalid
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(call.get("id"), str)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments", ""), str)
        ):
            raise invalid
    return {"role": "assistant", "content": content, "tool_calls": tool_calls}
