"""The end user, on their own machine: the `todo-user` network namespace.

Everything a user does goes through e2e_agent.py running inside that namespace, so a request
reaches the app only by the routes a real user has (the frontend's NodePort on the host end
of the user's link), never through the test process's own network.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from localcluster import settings

HERE = Path(__file__).resolve().parent
AGENT = HERE / "e2e_agent.py"
BROWSER = HERE / "e2e_browser.py"


def in_user_netns(*argv: str) -> list[str]:
    """The command line that runs `argv` in the user's network namespace."""
    return ["ip", "netns", "exec", settings.USER_NETNS, *argv]


@dataclass
class Reply:
    """One HTTP answer seen by the user, or the connection error instead."""

    status: int | None
    # Not shown in failures: a Set-Cookie header carries a live session.
    headers: dict[str, str] = field(repr=False)
    text: str
    error: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)


class UserAgent:
    """A long-lived HTTP client in the user's namespace, driven over a pipe."""

    def __init__(self) -> None:
        """Start the agent process."""
        self._process = subprocess.Popen(
            in_user_netns(sys.executable, str(AGENT), "serve"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        session: str = "",
        headers: dict[str, str] | None = None,
        content: str | None = None,
        json_body: Any = None,
        timeout: float = 10,
    ) -> Reply:
        """Send one request from the user's namespace; `session` names a cookie jar."""
        order = {
            "session": session,
            "method": method,
            "url": url,
            "headers": headers or {},
            "content": content,
            "json": json_body,
            "timeout": timeout,
        }
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(order) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline())
        if "error" in answer:
            return Reply(None, {}, "", answer["error"])
        return Reply(answer["status"], answer["headers"], answer["text"])

    def close(self) -> None:
        """Stop the agent."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)


def new_email() -> str:
    """A fresh address, so runs and tests never share an account."""
    return f"e2e-{secrets.token_hex(6)}@example.com"


@dataclass
class AppUser:
    """One signed-up user of the app at `url`, with their own session cookie."""

    agent: UserAgent
    url: str
    email: str = field(default_factory=new_email)
    # Generated at runtime, never printed (a failing assert shows only the email).
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    # The session cookie of the last sign-in, for the load generator (never printed).
    cookies: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def session(self) -> str:
        """The name of this user's cookie jar in the agent."""
        return self.email

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Reply:
        """Call the app as this user, with the Origin its pages send."""
        return self.agent.request(
            method,
            self.url + path,
            session=self.session,
            headers={"Origin": self.url, **(headers or {})},
            json_body=json_body,
            content=content,
            timeout=timeout,
        )

    def sign_up(self) -> AppUser:
        """Create the account through the sign-up form and sign in; fail unless both work."""
        reply = self.submit_form("/signup")
        assert reply.status == 303, (reply.status, reply.error, reply.text[:300])
        reply = self.sign_in()
        assert reply.status == 303, (reply.status, reply.error, reply.text[:300])
        return self

    def sign_in(self) -> Reply:
        """Post the sign-in form; 303 means signed in."""
        return self.submit_form("/signin")

    def submit_form(self, path: str) -> Reply:
        """Post the email and password form to `path`; keep the session cookie it sets."""
        body = urlencode({"email": self.email, "password": self.password})
        reply = self.call(
            "POST",
            path,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        cookie = reply.headers.get("set-cookie", "")
        if reply.status == 303 and "=" in cookie:
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies = {name: value}
        return reply

    def create_task(self, title: str) -> dict[str, Any]:
        """Add a task through the frontend's API; fail unless it is stored."""
        reply = self.call("POST", "/app/api/tasks", json_body={"title": title})
        assert reply.status == 201, (reply.status, reply.error, reply.text[:300])
        task: dict[str, Any] = reply.json()
        return task

    def tasks(self) -> list[dict[str, Any]]:
        """The user's tasks, oldest first."""
        reply = self.call("GET", "/app/api/tasks")
        assert reply.status == 200, (reply.status, reply.error, reply.text[:300])
        data: list[dict[str, Any]] = reply.json()["data"]
        return data


class Load:
    """Continuous traffic from the user's namespace while the body of a `with` runs.

    Each worker lists the user's tasks (and with `create_every=n`, creates one every n-th
    request); `summary` holds the counts once the block ends. Another app's list that
    answers GET and creates on POST `{"title"}` with `{"id"}` is loaded the same way (`path`).
    """

    def __init__(
        self,
        user: AppUser,
        *,
        workers: int = 4,
        create_every: int = 0,
        path: str = "/app/api/tasks",
    ) -> None:
        """Prepare the traffic of `workers` concurrent clients signed in as `user`."""
        self.config = {
            "url": user.url,
            "cookies": user.cookies,
            "path": path,
            "create_path": path,
            "create_every": create_every,
            "workers": workers,
        }
        self.summary: dict[str, Any] = {}
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Load:
        """Start sending."""
        self._process = subprocess.Popen(
            in_user_netns(sys.executable, str(AGENT), "load", json.dumps(self.config)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop sending and collect the summary."""
        assert self._process is not None
        out, _ = self._process.communicate(input="", timeout=60)
        self.summary = json.loads(out)

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Every failed request: when (seconds after the start) and its status or error."""
        failures: list[dict[str, Any]] = self.summary["failures"]
        return failures

    @property
    def succeeded(self) -> int:
        """How many requests succeeded."""
        count: int = self.summary["succeeded"]
        return count


def run_browser(
    scenario: str, url: str, on_checkpoint: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run a scenario of e2e_browser.py in the user's namespace; return its result.

    At each checkpoint the browser waits while `on_checkpoint(name)` acts on the cluster.
    """
    process = subprocess.Popen(
        in_user_netns(sys.executable, str(BROWSER), scenario, url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    result: dict[str, Any] = {}
    try:
        for line in process.stdout:
            message = json.loads(line)
            if "checkpoint" in message:
                assert on_checkpoint is not None, f"unexpected checkpoint {message}"
                on_checkpoint(message["checkpoint"])
                process.stdin.write("go\n")
                process.stdin.flush()
            else:
                result = message["result"]
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    assert process.returncode == 0, (
        f"browser scenario {scenario} failed:\n{process.stderr.read()[-3000:]}"
    )
    return result
