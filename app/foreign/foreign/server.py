"""`python -m foreign serve backend|frontend`: one small HTTP server for either role.

Both roles answer `/api/health` (the process serves), `/api/ready` (the database answers; 503
while draining), `/api/env` (the names, never the values, of the variables the process got)
and `/` (a page showing GREETING). `/api/items` (GET lists, POST adds `{"title"}`) is served
from PostgreSQL by the backend and passed on to API_URL by the frontend, so a request through
the frontend crosses both. Every answer carries `X-Instance: <pod name>`.
"""

from __future__ import annotations

import html
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from foreign.migrate import MIGRATION_EXIT_CODE, SCHEMA_VERSION, schema_version
from foreign.settings import Settings

# Where a Next.js image keeps its build cache: the root filesystem is read-only, so the
# operator must mount a writable volume here.
CACHE_DIR = Path("/app/.next/cache")
UNWRITABLE_EXIT_CODE = 4
# After SIGTERM the server keeps answering (readiness 503) this long, so Services stop
# sending before it stops listening.
DRAIN_SECONDS = 2.0
MAX_BODY_BYTES = 64 * 1024
MAX_TITLE_CHARS = 200
UPSTREAM_TIMEOUT_SECONDS = 5
# During a rollout a leaving backend pod, or a Service whose endpoints are being reprogrammed,
# can refuse a connection for a moment; a refused connection never carried the request, so
# retrying it is safe even for a POST.
CONNECT_RETRY_DELAYS = (0.0, 0.5)
# The backend is plain HTTP inside the cluster: a proxy in the pod's environment must not
# capture it.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
INSTANCE = os.environ.get("HOSTNAME") or socket.gethostname()


def log(level: str, message: str) -> None:
    """Print one JSON log line."""
    print(json.dumps({"level": level, "instance": INSTANCE, "message": message}), flush=True)


def write_cache_marker() -> None:
    """Write to the cache folder as a Next.js server does at start; exit 4 when it cannot."""
    try:
        (CACHE_DIR / f"{INSTANCE}.started").write_text(f"{time.time():.0f}\n")
    except OSError as error:
        print(
            f"path error: {CACHE_DIR} is not writable ({error.strerror}): "
            "mount a writable volume there",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(UNWRITABLE_EXIT_CODE)


def check_schema(database_url: str) -> None:
    """Exit 3 when the database answers with a schema older than this image's.

    An unreachable database is no reason to stop: readiness stays 503 until it answers.
    """
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            found = schema_version(conn)
    except psycopg.Error as error:
        log("warning", f"database unreachable at start ({type(error).__name__})")
        return
    if found < SCHEMA_VERSION:
        print(
            f"migration error: the schema is at version {found}, this image needs "
            f"{SCHEMA_VERSION}: run `python -m foreign migrate` first",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(MIGRATION_EXIT_CODE)


class App:
    """What the handlers answer with: the settings, the database pool, the draining flag."""

    def __init__(self, settings: Settings, pool: ConnectionPool[Any]) -> None:
        """Serve `settings.role` with connections from `pool`."""
        self.settings = settings
        self.pool = pool
        self.draining = threading.Event()

    def ready(self) -> bool:
        """Whether the database answers and the server is not draining."""
        if self.draining.is_set():
            return False
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
        except (psycopg.Error, TimeoutError):
            return False
        return True

    def items(self) -> tuple[int, dict[str, Any]]:
        """The latest items and how many there are."""
        with self.pool.connection(timeout=5) as conn:
            rows = conn.execute("SELECT id, title FROM items ORDER BY id DESC LIMIT 20").fetchall()
            total = conn.execute("SELECT count(*) FROM items").fetchone()
        data = [{"id": row[0], "title": row[1]} for row in rows]
        return HTTPStatus.OK, {"data": data, "count": total[0] if total else 0}

    def add_item(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Store `{"title"}`; 422 for anything else."""
        try:
            title = json.loads(body or b"null")["title"]
        except (ValueError, TypeError, KeyError):
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": 'send {"title": "..."}'}
        if not isinstance(title, str) or not 0 < len(title) <= MAX_TITLE_CHARS:
            detail = f"title: 1 to {MAX_TITLE_CHARS} characters"
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": detail}
        with self.pool.connection(timeout=5) as conn:
            row = conn.execute(
                "INSERT INTO items (title) VALUES (%s) RETURNING id", [title]
            ).fetchone()
        assert row is not None
        return HTTPStatus.CREATED, {"id": row[0], "title": title}

    def forward(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        """Pass a request on to the backend at API_URL; 502 when it cannot be reached."""
        request = urllib.request.Request(
            self.settings.api_url + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        for delay in (*CONNECT_RETRY_DELAYS, None):
            try:
                with DIRECT.open(request, timeout=UPSTREAM_TIMEOUT_SECONDS) as answer:
                    return int(answer.status), bytes(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, bytes(error.read())
            except OSError as error:
                refused = isinstance(getattr(error, "reason", error), ConnectionRefusedError)
                if not refused or delay is None:
                    log("warning", f"the API at API_URL did not answer ({type(error).__name__})")
                    break
                time.sleep(delay)
        detail = {"detail": "the API is unavailable, try again"}
        return HTTPStatus.BAD_GATEWAY, json.dumps(detail).encode()


class Handler(BaseHTTPRequestHandler):
    """Routes of both roles; one connection per request (HTTP/1.0), so draining is simple."""

    app: App
    server_version = "foreign"

    def do_GET(self) -> None:
        """Answer the read-only routes."""
        app = self.app
        path = self.path.split("?", 1)[0]
        if path == "/api/health":
            self.send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/api/ready":
            ready = app.ready()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self.send_json(status, {"ready": ready})
        elif path == "/api/env":
            self.send_json(
                HTTPStatus.OK, {"role": app.settings.role, "variables": sorted(os.environ)}
            )
        elif path == "/":
            page = (
                f"<!doctype html><title>foreign</title>"
                f"<h1>{html.escape(app.settings.greeting)}</h1><p>{app.settings.role}</p>"
            )
            self.send_body(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
        elif path == "/api/items":
            self.items("GET", None)
        else:
            self.send_json(HTTPStatus.NOT_FOUND, {"detail": "not found"})

    def do_POST(self) -> None:
        """Add an item."""
        if self.path != "/api/items":
            self.send_json(HTTPStatus.NOT_FOUND, {"detail": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"detail": "body over 64 KiB"})
            return
        self.items("POST", self.rfile.read(length))

    def items(self, method: str, body: bytes | None) -> None:
        """`/api/items`: the backend answers from the database, the frontend forwards."""
        app = self.app
        if app.settings.role == "frontend":
            status, payload = app.forward(method, "/api/items", body)
            self.send_body(status, payload, "application/json")
            return
        try:
            status, answer = app.items() if method == "GET" else app.add_item(body or b"")
        except (psycopg.Error, TimeoutError) as error:
            log("warning", f"database error ({type(error).__name__})")
            status, answer = HTTPStatus.SERVICE_UNAVAILABLE, {"detail": "database unavailable"}
        self.send_json(status, answer)

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        """Send a JSON answer."""
        self.send_body(status, json.dumps(payload).encode(), "application/json")

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        """Send an answer with its length and the instance header."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Instance", INSTANCE)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the load tests send thousands of requests."""


class Server(ThreadingHTTPServer):
    """Waits for its requests in flight when it closes."""

    daemon_threads = False


def serve(settings: Settings) -> None:
    """Serve until SIGTERM, then drain and exit 0."""
    write_cache_marker()
    check_schema(settings.database_url)
    pool: ConnectionPool[Any] = ConnectionPool(
        settings.database_url,
        min_size=1,
        max_size=4,
        kwargs={"connect_timeout": 5},
        check=ConnectionPool.check_connection,
        open=False,
    )
    pool.open(wait=False)
    app = App(settings, pool)
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = Server(("0.0.0.0", settings.port), handler)

    def stop(signum: int, frame: FrameType | None) -> None:
        app.draining.set()
        log("info", f"SIGTERM: draining for {DRAIN_SECONDS:g} s")

        def shut_down() -> None:
            time.sleep(DRAIN_SECONDS)
            server.shutdown()

        threading.Thread(target=shut_down, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    log("info", f"serving as {settings.role} on port {settings.port}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    pool.close()
    log("info", "stopped")
