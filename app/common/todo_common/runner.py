"""Run an ASGI app with uvicorn and shut it down gracefully on SIGTERM.

On the first SIGTERM (or SIGINT) the readiness turns to "shutting down" (so `/readyz`
answers 503) while the server keeps accepting requests for `drain_seconds`, the time the
orchestrator needs to stop routing traffic here. Meanwhile every response carries
`Connection: close`, so keep-alive clients leave for other replicas after their current
request. Then uvicorn stops listening, lets in-flight requests finish (up to
`graceful_timeout_seconds`), runs the app's shutdown and the process exits 0. A second
signal skips the drain.

The metrics app is served on its own port for as long as the main server runs, through
the drain too, so that the last scrape sees the last requests.

When start-up work fails for good (`Readiness.mark_failed`, e.g. a broken migration), the
server stops at once and the process exits with `STARTUP_FAILED_EXIT_CODE`, so that the
orchestrator shows a crash with the logged reason instead of a pod that never gets ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from todo_common.config import DEFAULT_METRICS_PORT
from todo_common.readiness import Readiness
from todo_common.web import Headers, ResponseHeadersMiddleware

logger = logging.getLogger(__name__)

# uvicorn's own exit code when an app's start-up fails.
STARTUP_FAILED_EXIT_CODE = 3


class _CompanionServer(uvicorn.Server):
    """A uvicorn server run beside the main one, which alone handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave the signals to the main server (the last to install handlers wins)."""
        yield


class GracefulServer(uvicorn.Server):
    """A uvicorn server that drains before it stops and exits 0 after a signal."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        readiness: Readiness,
        drain_seconds: float,
        companion: uvicorn.Server | None = None,
    ):
        """Create the server; `readiness` is flipped on the first signal.

        `companion` (the metrics server) runs as long as this one does.
        """
        super().__init__(config)
        self.readiness = readiness
        self.drain_seconds = drain_seconds
        self.companion = companion
        self._exit_requested_at: float | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve, with the companion server beside."""
        if self.companion is None:
            await super().serve(sockets)
            return
        companion = asyncio.create_task(self.companion.serve())
        try:
            await super().serve(sockets)
        finally:
            self.companion.should_exit = True
            await companion

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start draining on the first signal, stop at once on the second.

        uvicorn re-raises the signal it caught once it has stopped, which would end the
        process with 128+SIGTERM instead of 0; this handler records nothing to re-raise.
        """
        if self._exit_requested_at is None:
            self._exit_requested_at = time.monotonic()
            self.readiness.mark_shutting_down()
            logger.info(
                "shutdown requested, draining",
                extra={"signal": signal.Signals(sig).name, "drain_seconds": self.drain_seconds},
            )
        else:
            self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        """Exit the main loop once the drain period is over, or when start-up failed."""
        if self.readiness.failed:
            self.should_exit = True
        if (
            self._exit_requested_at is not None
            and time.monotonic() - self._exit_requested_at >= self.drain_seconds
        ):
            self.should_exit = True
        return await super().on_tick(counter)


def _quiet_config(app: ASGIApp, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """A uvicorn server that logs through ours only (no set-up, no access log), no Server header."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        **options,
    )


def serve(
    app: ASGIApp,
    *,
    port: int,
    readiness: Readiness,
    metrics_app: ASGIApp | None = None,
    metrics_port: int = DEFAULT_METRICS_PORT,
    host: str = "0.0.0.0",
    drain_seconds: float = 2.0,
    graceful_timeout_seconds: float = 60.0,
) -> None:
    """Serve `app` until a signal arrives and in-flight requests are done; then return.

    `metrics_app`, when given, is served on `metrics_port` meanwhile.

    Raises `SystemExit(STARTUP_FAILED_EXIT_CODE)` when `readiness` was marked failed.

    Logging must already be configured (`todo_common.logs.configure_logging`): uvicorn's
    own logging set-up and access log are turned off.
    """

    # Without this a kept-alive connection stays open until uvicorn closes it at the end of
    # the drain, and a request the client sends at that very moment fails with no response.
    def close_while_draining() -> Headers:
        return [(b"connection", b"close")] if readiness.shutting_down else []

    config = _quiet_config(
        ResponseHeadersMiddleware(app, headers=close_while_draining),
        host=host,
        port=port,
        lifespan="on",
        proxy_headers=False,
        timeout_graceful_shutdown=int(graceful_timeout_seconds),
    )
    companion = None
    if metrics_app is not None:
        companion = _CompanionServer(
            _quiet_config(metrics_app, host=host, port=metrics_port, lifespan="off")
        )
    server = GracefulServer(
        config, readiness=readiness, drain_seconds=drain_seconds, companion=companion
    )
    server.run()
    # uvicorn has restored the default handlers; a repeated SIGTERM must not turn a clean
    # shutdown into a death by signal in the last milliseconds.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if readiness.failed:
        raise SystemExit(STARTUP_FAILED_EXIT_CODE)
    logger.info("stopped")
