"""The backend's AI client against a real TCP server that drops connections without answering.

The benchmark saw rare 502s on chat: the provider's side closed a pooled connection just as
the backend reused it. The client sends such a request once more; a provider that keeps
failing still gets the user the 502 message.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from pydantic import SecretStr
from todo_backend.ai_client import AIProviderError, ChatCompletionsClient

ANSWER = {"choices": [{"message": {"role": "assistant", "content": "Done."}}]}


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)


async def _complete_against(drops: int) -> dict[str, object]:
    """Ask a server that closes the first `drops` requests unanswered, then answers ANSWER."""
    requests = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1
        if requests > drops:
            payload = json.dumps(ANSWER).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient() as http:
        client = ChatCompletionsClient(
            http=http,
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key=SecretStr("sk-test"),
            model="test-model",
            timeout_seconds=5,
        )
        return await client.complete([{"role": "user", "content": "hi"}], [])


def test_a_connection_closed_before_the_answer_is_sent_again() -> None:
    assert asyncio.run(_complete_against(drops=1))["content"] == "Done."


def test_a_provider_that_keeps_dropping_gets_the_user_a_502() -> None:
    with pytest.raises(AIProviderError) as failure:
        asyncio.run(_complete_against(drops=2))
    assert failure.value.status_code == 502
    assert "cannot be reached" in failure.value.message
