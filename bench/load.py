"""Virtual users of the app, driven from the end user's network namespace (asyncio + httpx).

Each virtual user is one browser's worth of HTTP: its own connection and session cookie. It
signs up and signs in as itself through the HTML forms, then, with a think time between
actions, lists its tasks, adds one, completes one, reloads the page or asks the assistant
(the AI stand-in answers). Every request is recorded (start time, duration, kind, outcome),
so a scenario can count each failed request and place it against what the cluster was doing.

Every user of the run signs up and in first, before any level starts (the sign-ins: at most
`--sign-in-concurrency` at once, each an argon2id hash). Then the load grows in levels
(`--levels 100,250`): signed-in users start acting at `--spawn-rate` per second, and once all
of a level's users act, the level is held for `--hold` seconds; the figures of a level come
from its hold only, so they are about task and chat traffic, never about sign-ins.
A level whose hold has errors above 1 % or a task-call p95 above `--give-up-p95` seconds
ends the climb: the machine is saturated and the next level could only be worse.

Runs as `ip netns exec todo-user python -m bench load ...` (see `bench.netns`); the result
is one JSON file, written when the run ends (duration over, SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench import stats

# What a successful answer of each kind of request looks like.
# How each frontend signs a user up and in: path, body (a form, or Better Auth's JSON) and
# the status of success. Every other call is the same on both (the /app/api JSON API).
FRONTENDS = {
    "python": {"sign-up": ("/signup", "form", 303), "sign-in": ("/signin", "form", 303)},
    "next": {
        "sign-up": ("/api/auth/sign-up/email", "json", 200),
        "sign-in": ("/api/auth/sign-in/email", "json", 200),
    },
}
EXPECTED_STATUS = {
    "page": 200,
    "list tasks": 200,
    "add task": 201,
    "complete task": 200,
    "chat": 200,
}
TASK_CALLS = ("list tasks", "add task", "complete task")
# Relative frequency of each action in a user's loop.
ACTIONS = {"list tasks": 35, "add task": 20, "complete task": 20, "page": 10, "chat": 15}
CHAT_MESSAGES = ("add a task to water plant {n}", "what is pending?")
REQUEST_TIMEOUT_SECONDS = 60
MAX_ERROR_RATE = 0.01
# Users who cannot all sign in within this time end the run before any level starts.
SIGN_IN_TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class Sample:
    """One request: when it started (epoch seconds), how long it took, what came of it."""

    name: str
    start: float
    seconds: float
    outcome: str


@dataclass
class Level:
    """One step of the climb: how many users, when they were all acting, when the hold ended."""

    users: int
    ramp_start: float
    hold_start: float = 0.0
    hold_end: float = 0.0
    spawned: int = 0


@dataclass
class Run:
    """Everything one load run records; `samples` grows as requests finish."""

    url: str
    # A key of FRONTENDS: how users sign up and in.
    frontend: str = "python"
    samples: list[Sample] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    stopped_because: str = ""
    signed_in: int = 0
    # When the sign-ins before the levels began and ended (epoch seconds).
    sign_in_start: float = 0.0
    sign_in_end: float = 0.0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, name: str, start: float, seconds: float, outcome: str) -> None:
        """Keep one finished request."""
        self.samples.append(Sample(name, start, seconds, outcome))


class VirtualUser:
    """One user with its own connection, cookie jar and task list."""

    def __init__(
        self,
        run: Run,
        *,
        email: str,
        think: tuple[float, float],
        seed: int,
        sign_in_gate: asyncio.Semaphore | None,
    ) -> None:
        """Prepare the client; nothing is sent until `sign_in` or `live`."""
        self.run = run
        self.email = email
        self.password = f"pw-{seed}-{random.getrandbits(64):x}"
        self.think = think
        self.random = random.Random(seed)
        self.open_tasks: list[int] = []
        self.counter = 0
        self.signed_up = False
        self.sign_in_gate = sign_in_gate
        # Browsers send Origin on every POST; the frontend refuses state changes without it.
        self.http = httpx.AsyncClient(
            base_url=run.url,
            headers={"Origin": run.url},
            timeout=REQUEST_TIMEOUT_SECONDS,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=1),
        )

    async def request(
        self, name: str, method: str, path: str, *, expected: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request, record it, and return the response (raise on any failure).

        Success is `expected`, by default the action's status in EXPECTED_STATUS.
        """
        start = time.time()
        began = time.perf_counter()
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.run.record(name, start, time.perf_counter() - began, type(error).__name__)
            raise
        seconds = time.perf_counter() - began
        ok = response.status_code == (expected or EXPECTED_STATUS[name])
        self.run.record(name, start, seconds, "ok" if ok else f"HTTP {response.status_code}")
        if not ok:
            raise httpx.HTTPStatusError(
                "unexpected status", request=response.request, response=response
            )
        return response

    async def sign_in(self) -> None:
        """Create the account once, then sign in as a returning user."""
        async with self.sign_in_gate or contextlib.nullcontext():
            routes = FRONTENDS[self.run.frontend]
            if not self.signed_up:
                await self._send_credentials("sign-up", *routes["sign-up"], {"name": "bench"})
                self.signed_up = True
            self.http.cookies.clear()
            await self._send_credentials("sign-in", *routes["sign-in"], {})

    async def _send_credentials(
        self, name: str, path: str, body: str, status: int, extra: dict[str, str]
    ) -> None:
        fields = {"email": self.email, "password": self.password}
        if body == "form":
            await self.request(name, "POST", path, expected=status, data=fields)
        else:
            json_body = {**fields, **extra}
            await self.request(name, "POST", path, expected=status, json=json_body)

    async def act(self) -> None:
        """Do one action of the mix."""
        action = self.random.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        if action == "complete task" and not self.open_tasks:
            action = "add task"
        self.counter += 1
        if action == "list tasks":
            body = (await self.request(action, "GET", "/app/api/tasks")).json()
            self.open_tasks = [t["id"] for t in body["data"] if not t["completed"]][-20:]
        elif action == "add task":
            title = f"task {self.counter}"
            task = await self.request(action, "POST", "/app/api/tasks", json={"title": title})
            self.open_tasks.append(task.json()["id"])
        elif action == "complete task":
            task_id = self.open_tasks.pop(0)
            await self.request(
                action, "PATCH", f"/app/api/tasks/{task_id}", json={"completed": True}
            )
        elif action == "page":
            await self.request(action, "GET", "/")
        else:
            message = CHAT_MESSAGES[self.counter % 2].format(n=self.counter)
            await self.request(action, "POST", "/app/api/chat", json={"message": message})

    async def enter(self) -> None:
        """Sign up and in, again after each failure, until signed in or the run stops."""
        while not self.run.stop.is_set():
            try:
                await self.sign_in()
                self.run.signed_in += 1
                return
            except httpx.HTTPError:
                await self._pause(1.0, 2.0)

    async def live(self) -> None:
        """Act with think times until the run stops; a failure never ends it."""
        while not self.run.stop.is_set():
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                await self.act()
            await self._pause(*self.think)

    async def _pause(self, low: float, high: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.run.stop.wait(), self.random.uniform(low, high))


async def climb(
    run: Run,
    *,
    levels: list[int],
    spawn_rate: float,
    hold: float,
    think: tuple[float, float],
    give_up_p95: float,
    email_prefix: str,
    sign_in_concurrency: int,
    ready_file: Path | None = None,
) -> None:
    """Sign every user in, then add acting users level by level; hold each level; stop when
    saturated or asked to.

    At most `sign_in_concurrency` users sign up or in at once (0: no limit): each sign-in
    hashes a password with argon2id (64 MiB, 3 passes), the one costly call of the app.
    """
    gate = asyncio.Semaphore(sign_in_concurrency) if sign_in_concurrency else None
    users = [
        VirtualUser(
            run,
            email=f"{email_prefix}-{index}@bench.example",
            think=think,
            seed=index,
            sign_in_gate=gate,
        )
        for index in range(max(levels))
    ]
    try:
        await _sign_in_all(run, users)
        tasks: list[asyncio.Task[None]] = []
        for target in levels:
            if run.stop.is_set():
                break
            level = Level(users=target, ramp_start=time.time())
            run.levels.append(level)
            while len(tasks) < target and not run.stop.is_set():
                tasks.append(asyncio.create_task(users[len(tasks)].live()))
                await _sleep_unless_stopped(run, 1 / spawn_rate)
            level.spawned = len(tasks)
            level.hold_start = time.time()
            if ready_file is not None:
                ready_file.touch()
            await _sleep_unless_stopped(run, hold)
            level.hold_end = time.time()
            if run.stop.is_set():
                run.stopped_because = run.stopped_because or "stopped"
                break
            saturated = _saturated(run, level, give_up_p95)
            if saturated:
                run.stopped_because = saturated
                break
        run.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await asyncio.gather(*(user.http.aclose() for user in users))


async def _sign_in_all(run: Run, users: list[VirtualUser]) -> None:
    """Every user signs up and in; the run stops when they cannot within the time allowed."""
    run.sign_in_start = time.time()
    entering = asyncio.gather(*(user.enter() for user in users))
    try:
        await asyncio.wait_for(asyncio.shield(entering), SIGN_IN_TIMEOUT_SECONDS)
    except TimeoutError:
        run.stopped_because = (
            f"only {run.signed_in} of {len(users)} users signed in after "
            f"{SIGN_IN_TIMEOUT_SECONDS}s (the frontend is saturated)"
        )
        run.stop.set()
        await entering
    run.sign_in_end = time.time()


def _saturated(run: Run, level: Level, give_up_p95: float) -> str:
    """Why the climb ends after this level's hold, or "" when the next level may start."""
    window = [s for s in run.samples if level.hold_start <= s.start < level.hold_end]
    errors = sum(s.outcome != "ok" for s in window)
    task_p95 = stats.percentile([s.seconds for s in window if s.name in TASK_CALLS], 95)
    if window and errors / len(window) > MAX_ERROR_RATE:
        return f"{errors} errors in {len(window)} requests at {level.users} users"
    if task_p95 is not None and task_p95 > give_up_p95:
        return f"task-call p95 {task_p95:.2f}s at {level.users} users"
    return ""


async def _sleep_unless_stopped(run: Run, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.stop.wait(), seconds)


def main(argv: list[str]) -> None:
    """Parse the options, run the load, write the JSON result."""
    parser = argparse.ArgumentParser(prog="bench load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--frontend", choices=FRONTENDS, default="python")
    parser.add_argument("--levels", required=True, help="users per level, e.g. 100,250,500")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="new users per second")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds each level is held")
    parser.add_argument("--think", default="1,3", help="think time range in seconds, e.g. 1,3")
    parser.add_argument("--sign-in-concurrency", type=int, default=1, help="0: no limit")
    parser.add_argument("--give-up-p95", type=float, default=5.0)
    parser.add_argument("--email-prefix", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ready-file", type=Path, help="touched when the first level acts")
    args = parser.parse_args(argv)
    low, high = (float(x) for x in args.think.split(","))

    async def run_load() -> Run:
        run = Run(url=args.url, frontend=args.frontend)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, run.stop.set)
        await climb(
            run,
            levels=[int(x) for x in args.levels.split(",")],
            spawn_rate=args.spawn_rate,
            hold=args.hold,
            think=(low, high),
            give_up_p95=args.give_up_p95,
            email_prefix=args.email_prefix,
            sign_in_concurrency=args.sign_in_concurrency,
            ready_file=args.ready_file,
        )
        return run

    began = time.time()
    # uvloop (shipped with uvicorn[standard]) spends less CPU per request than asyncio's loop.
    run: Run = uvloop.run(run_load())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "url": run.url,
        "started": began,
        "ended": time.time(),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "stopped_because": run.stopped_because,
        "sign_in": {"start": run.sign_in_start, "end": run.sign_in_end, "users": run.signed_in},
        "levels": [asdict(level) for level in run.levels],
        "samples": [[s.name, s.start, s.seconds, s.outcome] for s in run.samples],
    }
    args.out.write_text(json.dumps(result))
