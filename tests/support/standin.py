"""A handle on a running AI stand-in (`python -m ai_standin`) and its admin API."""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx

from support.app_process import AppProcess
from support.secret import bearer

T = TypeVar("T")


class StandIn:
    """The running AI stand-in and its admin API."""

    SLOW_SECONDS = 2.0

    def __init__(self, process: AppProcess, *, debug_token: str) -> None:
        """Wrap the process; `debug_token` opens its debug routes."""
        self.process = process
        self.url = process.url
        self.debug_headers = bearer(debug_token)

    def requests(self) -> dict[str, Any]:
        """What it received so far: `{"count": n, "requests": [...]}`."""
        response = httpx.get(f"{self.url}/_standin/requests", headers=self.debug_headers, timeout=5)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    @contextlib.contextmanager
    def holding(self, send: Callable[[], T]) -> Iterator[concurrent.futures.Future[T]]:
        """Run `send` in a thread; enter once its request reached the stand-in (5 s at most).

        `send` posts a chat message ending in `[[slow]]`, which the stand-in holds for
        `SLOW_SECONDS` before it answers: the test acts while the request is in flight.
        """
        before = self.requests()["count"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(send)
            deadline = time.monotonic() + 5
            while self.requests()["count"] == before:
                assert time.monotonic() < deadline, "the held request never reached the stand-in"
                time.sleep(0.05)
            yield in_flight

    def reset(self) -> None:
        """Forget the recorded requests and turn fault injection off."""
        httpx.delete(
            f"{self.url}/_standin/requests", headers=self.debug_headers, timeout=5
        ).raise_for_status()
        self.set_mode("normal")

    def set_mode(self, mode: str) -> None:
        """Inject `mode` (e.g. `error500`) into every request; `normal` turns it off."""
        httpx.put(
            f"{self.url}/_standin/mode", json={"mode": mode}, headers=self.debug_headers, timeout=5
        ).raise_for_status()
