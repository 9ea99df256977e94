"""The end user's HTTP client, run inside the user's network namespace by e2e_user.py.

`ip netns exec todo-user python e2e_agent.py serve` answers one JSON request per stdin line
with one JSON line on stdout: `{"session", "method", "url", "headers", "content", "json",
"timeout"}` -> `{"status", "headers", "text"}` or `{"error": "<exception class>"}`. Each
`session` name keeps its own cookies, as one browser profile would.

`... e2e_agent.py load '<config json>'` sends requests from `workers` concurrent clients
until stdin closes, then prints one JSON summary: how many succeeded, every failure (time,
status or exception), which pods answered (`X-Instance`), and the ids of the tasks it created.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx


def serve() -> None:
    """Answer requests read from stdin, one JSON object per line, until stdin closes."""
    sessions: dict[str, httpx.Client] = {}
    for line in sys.stdin:
        order = json.loads(line)
        name = order.get("session") or ""
        client = sessions.get(name)
        if client is None:
            client = sessions[name] = httpx.Client(trust_env=False, follow_redirects=False)
        try:
            response = client.request(
                order["method"],
                order["url"],
                headers=order.get("headers") or {},
                content=order.get("content"),
                json=order.get("json"),
                timeout=order.get("timeout", 10),
            )
            answer: dict[str, Any] = {
                "status": response.status_code,
                "headers": dict(response.headers),
                "text": response.text,
            }
        except httpx.HTTPError as error:
            answer = {"error": type(error).__name__}
        print(json.dumps(answer), flush=True)


async def _stdin_closed() -> None:
    """Return once stdin reaches end of file (the test's signal to stop)."""
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def load(config: dict[str, Any]) -> dict[str, Any]:
    """Send requests until stdin closes; return the counts.

    A worker lists the tasks, and every `create_every`-th request creates one instead, so a
    lost write would show as a missing id. Each request has `timeout` seconds.
    """
    base = config["url"].rstrip("/")
    headers = {"Origin": base, **config.get("headers", {})}
    cookies = config.get("cookies", {})
    create_every = int(config.get("create_every", 0))
    started = time.monotonic()
    succeeded = 0
    failures: list[dict[str, Any]] = []
    instances: Counter[str] = Counter()
    created: list[int] = []
    stop = asyncio.Event()

    async def worker(number: int) -> None:
        nonlocal succeeded
        async with httpx.AsyncClient(
            base_url=base, headers=headers, cookies=cookies, trust_env=False, timeout=10
        ) as http:
            sent = 0
            while not stop.is_set():
                sent += 1
                creating = create_every and sent % create_every == 0
                began = time.monotonic() - started
                try:
                    if creating:
                        title = f"load {number}-{sent}"
                        response = await http.post(config["create_path"], json={"title": title})
                    else:
                        response = await http.get(config["path"])
                except httpx.HTTPError as error:
                    failures.append({"at": round(began, 2), "error": type(error).__name__})
                    continue
                instances[response.headers.get("x-instance", "?")] += 1
                if response.status_code >= 400:
                    failures.append({"at": round(began, 2), "status": response.status_code})
                    continue
                succeeded += 1
                if creating:
                    created.append(response.json()["id"])
                if config.get("pause"):
                    await asyncio.sleep(config["pause"])

    workers = [asyncio.create_task(worker(n)) for n in range(int(config.get("workers", 4)))]
    await _stdin_closed()
    stop.set()
    await asyncio.gather(*workers)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "succeeded": succeeded,
        "failures": failures,
        "instances": dict(instances),
        "created": created,
    }


def main() -> None:
    """Dispatch on the first argument: `serve` or `load <config json>`."""
    if sys.argv[1] == "serve":
        serve()
    else:
        print(json.dumps(asyncio.run(load(json.loads(sys.argv[2])))), flush=True)


if __name__ == "__main__":
    main()
