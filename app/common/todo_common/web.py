"""What every HTTP app of the project shares: metrics, `X-Instance`, limits, JSON errors.

`install(app, instance_name=...)` adds to a FastAPI app:

- metrics (Prometheus text): `process_uptime_seconds`, `http_requests_total{route,method,
  status}`, `http_request_duration_seconds{route,status_class}` (histogram) and
  `http_request_failures_total{route}` (5xx and unhandled exceptions). `route` is the route
  template (`/api/tasks/{task_id}`), or `unmatched`, so that label values stay few. The
  histogram has the status class (`2xx`, `4xx`, `5xx`) rather than the code: each label
  value costs a series per bucket, and a fast 404 or a slow 504 must not blur the latency
  of the answers that worked.
- an `X-Instance` header and the app's own `headers` (security headers) on every response,
  errors included, unless the response set that header itself;
- a request body limit (413 beyond it);
- a 422 for a NUL character in the path, the query or a decoded form or JSON body: no field
  accepts one and PostgreSQL text cannot store one, so it is refused before any handler;
- errors as `{"detail": "..."}` only: validation errors become one readable sentence, an
  unhandled exception a 500 with a generic message (the traceback goes to the log, redacted).

`metrics_app(metrics)` serves them as `/metrics` on the metrics port, apart from the app's
port, so that no route to the app reaches them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypedDict
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024
NUL_REFUSED = "the request holds a NUL character, which no field accepts"
UNMATCHED_ROUTE = "unmatched"
# Probes and scrapes would drown the request log at info level.
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}

# `*_created` series double the output and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# The 5xx statuses the apps answer with (an unhandled error, the AI provider or the backend
# failing, unavailable, timed out): exported at 0 for a route once it has served anything.
FAILURE_STATUSES = (500, 502, 503, 504)


class AppMetrics:
    """The Prometheus metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        """Create the registry and the metrics of docs/contract.md."""
        self.registry = CollectorRegistry()
        started = time.monotonic()
        ProcessCollector(registry=self.registry)
        Gauge(
            "process_uptime_seconds",
            "Seconds since the process started serving.",
            registry=self.registry,
        ).set_function(lambda: time.monotonic() - started)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration by route template and status class (2xx, 4xx, 5xx).",
            ["route", "status_class"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.failures = Counter(
            "http_request_failures_total",
            "HTTP requests that ended in a 5xx status or an unhandled exception.",
            ["route"],
            registry=self.registry,
        )
        self._seen: set[tuple[str, str]] = set()

    def observe(self, *, route: str, method: str, status: int, seconds: float) -> None:
        """Record one finished request.

        The first request of a route and method also creates its failure series at 0. A
        series Prometheus first scrapes at 3 counts as 0 then 3, never as 3 failures: without
        the 0 scraped before them, the first failures of a burst (an outage shorter than a
        scrape interval, all of it) would be in no rate, and availability would look better
        than what the users had.
        """
        if (route, method) not in self._seen:
            self._seen.add((route, method))
            for failed in FAILURE_STATUSES:
                self.requests.labels(route=route, method=method, status=str(failed))
            self.duration.labels(route=route, status_class="5xx")
            self.failures.labels(route=route)
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.duration.labels(route=route, status_class=f"{status // 100}xx").observe(seconds)
        if status >= 500:
            self.failures.labels(route=route).inc()

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text format."""
        return generate_latest(self.registry)


def json_error(status: int, detail: str) -> JSONResponse:
    """Return the project's error body: `{"detail": "..."}`."""
    return JSONResponse({"detail": detail}, status_code=status)


Headers = list[tuple[bytes, bytes]]


class ResponseHeadersMiddleware:
    """ASGI middleware that adds `headers()`, asked anew per response, to every HTTP response."""

    def __init__(self, app: ASGIApp, *, headers: Callable[[], Headers]) -> None:
        """Wrap `app`."""
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Replay:
    """A `receive` that first gives the body read ahead (`body`), then the live messages."""

    def __init__(self, first_message: Message, receive: Receive) -> None:
        self.first_message: Message | None = first_message
        self.body: bytes = first_message.get("body", b"")
        self.receive = receive

    async def __call__(self) -> Message:
        if self.first_message is None:
            return await self.receive()
        message, self.first_message = self.first_message, None
        return message


def carries_nul(scope: Scope, body: bytes) -> bool:
    """Whether the path, the query or the body holds a NUL character once decoded.

    A JSON body (FastAPI reads one without a content type too) is looked into only when it
    parses (malformed JSON is the validation's 400); a form body once percent-decoded; any other
    body as it is.
    """
    if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope["query_string"]):
        return True
    content_type = _header(scope, b"content-type").split(b";")[0].strip().lower()
    if content_type in (b"", b"application/json") or content_type.endswith(b"+json"):
        if b"\\u0000" not in body:
            return False
        try:
            return _json_holds_nul(json.loads(body))
        except ValueError:
            return False
    if content_type == b"application/x-www-form-urlencoded":
        return b"\x00" in unquote_to_bytes(body)
    return b"\x00" in body


def _json_holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_holds_nul(k) or _json_holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_holds_nul(item) for item in value)
    return False


def _header(scope: Scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key == name), b"")


class ObservabilityMiddleware:
    """ASGI middleware: metrics, request log, headers, body limit, NUL refusal, last-resort 500."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: AppMetrics,
        instance_name: str,
        max_body_bytes: int,
        headers: Headers,
    ) -> None:
        """Wrap `app`."""
        self.app = app
        self.metrics = metrics
        self.headers = [(b"x-instance", instance_name.encode("latin-1", "replace")), *headers]
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP requests are observed; others pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_header(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                own = [(name.lower(), value) for name, value in message.get("headers", [])]
                present = {name for name, _ in own}
                message["headers"] = [*own, *(h for h in self.headers if h[0] not in present)]
            await send(message)

        try:
            buffered = await self._read_body(scope, receive)
            if buffered is None:
                limit_kib = self.max_body_bytes // 1024
                response = json_error(413, f"request body is larger than {limit_kib} KiB")
                await response(scope, receive, send_with_header)
            elif carries_nul(scope, buffered.body):
                await json_error(422, NUL_REFUSED)(scope, receive, send_with_header)
            else:
                await self.app(scope, buffered, send_with_header)
        except Exception:
            logger.exception(
                "unhandled error", extra={"method": scope["method"], "route": _route(scope)}
            )
            if response_started:
                raise
            status = 500
            await json_error(500, "internal server error")(scope, receive, send_with_header)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    async def _read_body(self, scope: Scope, receive: Receive) -> _Replay | None:
        """Read the whole body (None when over the limit) and return a replaying `receive`."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first_message = message
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                first_message = {"type": "http.request", "body": b"".join(chunks)}
                break
        return _Replay(first_message, receive)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route(scope)
        self.metrics.observe(route=route, method=scope["method"], status=status, seconds=seconds)
        level = logging.DEBUG if scope["path"] in _QUIET_PATHS and status < 500 else logging.INFO
        logger.log(
            level,
            "request",
            extra={
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def _validation_detail(exc: RequestValidationError) -> tuple[int, str]:
    """Return status and one sentence for `exc`, never echoing the input."""
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return 400, "request body is not valid JSON"
    sentences = []
    for error in errors[:3]:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        field = ".".join(location) or "body"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        sentences.append(f"{field}: {message}")
    return 422, "; ".join(sentences)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    status, detail = _validation_detail(exc)
    return json_error(status, detail)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    response = json_error(exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install(
    app: FastAPI,
    *,
    instance_name: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> AppMetrics:
    """Add metrics (in `app.state.metrics`), the response headers, the input limits and JSON
    errors to `app`.

    `headers` (lower-case names) go on every response, errors included, unless the response
    sets that header itself.
    """
    metrics = AppMetrics()
    app.state.metrics = metrics
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        RequestValidationError: _on_validation_error,
        StarletteHTTPException: _on_http_error,
    }
    for exception_class, handler in handlers.items():
        app.add_exception_handler(exception_class, handler)
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=metrics,
        instance_name=instance_name,
        max_body_bytes=max_body_bytes,
        headers=list(headers),
    )
    return metrics


class DocsUrls(TypedDict):
    """FastAPI's arguments that serve the API docs and the OpenAPI schema (None: not served)."""

    docs_url: str | None
    redoc_url: str | None
    openapi_url: str | None


def docs_urls(*, enabled: bool) -> DocsUrls:
    """The docs and the schema at FastAPI's default paths when `enabled`, else none of them."""
    return DocsUrls(
        docs_url="/docs" if enabled else None,
        redoc_url="/redoc" if enabled else None,
        openapi_url="/openapi.json" if enabled else None,
    )


def metrics_app(metrics: AppMetrics) -> FastAPI:
    """The app of the metrics port: `GET /metrics` and nothing else (scrapes are not counted)."""
    app = FastAPI(**docs_urls(enabled=False))

    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"])
    return app
