"""Start host processes detached, remember them in pid files, wait for health, stop them.

Each process leads its own session (process group), so `stop` reaches the children it forks too.
A pid file holds the pid and the process's start time: a pid the kernel has since reused for an
unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ClusterError
from .progress import say
from .settings import Paths

HEALTH_POLL_SECONDS = 0.5
# Set in the environment of every process we start (and inherited by their children), so tests
# and people can tell our processes from anyone else's: `grep -l MARKER /proc/*/environ`.
MARKER = "TODO_CHATBOT_CLUSTER"


@dataclass(frozen=True)
class Process:
    """One supervised process: its name (also its log and pid file name) and command line."""

    name: str
    argv: Sequence[str | Path]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces; the fields after its ')' are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_file(paths: Paths, name: str) -> Path:
    return paths.pids / f"{name}.pid"


def running_pid(paths: Paths, name: str) -> int | None:
    """The pid of a supervised process that is still the one we started, else None."""
    try:
        pid_text, started = _pid_file(paths, name).read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    pid = int(pid_text)
    if _start_time(pid) != started or _is_zombie(pid):
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def start(paths: Paths, process: Process) -> int:
    """Start a process unless it already runs; its output goes to $STATE/logs/<name>.log."""
    pid = running_pid(paths, process.name)
    if pid is not None:
        return pid
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    log_path = paths.log(process.name)
    with log_path.open("ab") as log, open(os.devnull, "rb") as devnull:
        log.write(f"---- start {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        log.flush()
        try:
            child = subprocess.Popen(
                [str(a) for a in process.argv],
                stdin=devnull,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**(process.env or os.environ), MARKER: str(paths.state)},
                cwd=process.cwd,
                user=process.user,
                group=process.user,
            )
        except OSError as exc:
            raise ClusterError(f"{process.name} could not start ({exc.strerror})") from exc
    started = _start_time(child.pid)
    _pid_file(paths, process.name).write_text(f"{child.pid} {started}\n")
    return child.pid


def wait_healthy(
    paths: Paths, name: str, healthy: Callable[[], bool], *, timeout_seconds: float
) -> None:
    """Poll `healthy` until it answers True; fail with one line if the process dies or stalls."""
    deadline = time.monotonic() + timeout_seconds
    began = time.monotonic()
    next_note = began + 15
    while True:
        if healthy():
            return
        if running_pid(paths, name) is None:
            raise ClusterError(f"{name} exited during start-up: read {paths.log(name)}")
        now = time.monotonic()
        if now > deadline:
            raise ClusterError(
                f"{name} not healthy after {timeout_seconds:.0f}s: read {paths.log(name)}"
            )
        if now > next_note:
            say(f"waiting for {name} ({now - began:.0f}s)")
            next_note = now + 15
        time.sleep(HEALTH_POLL_SECONDS)


def stop(
    paths: Paths,
    name: str,
    *,
    stop_signal: signal.Signals = signal.SIGTERM,
    grace_seconds: float = 10,
) -> bool:
    """Stop a supervised process and its process group; True when something was stopped.

    `stop_signal` goes first (PostgreSQL wants SIGINT, its fast shutdown); SIGKILL follows when
    the group is still there after the grace period.
    """
    pid_file = _pid_file(paths, name)
    pid = running_pid(paths, name)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, stop_signal)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and running_pid(paths, name) is not None:
        time.sleep(0.2)
    if running_pid(paths, name) is not None:
        _signal_group(pid, signal.SIGKILL)
        while running_pid(paths, name) is not None:
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def marked_pids(paths: Paths) -> set[int]:
    """Every process carrying our marker for this state folder, pid file or not.

    A crash between starting a process and writing its pid file leaves one that only the marker
    in its environment (inherited by its children) identifies.
    """
    wanted = f"{MARKER}={paths.state}".encode()
    pids = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            entries = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in entries:
            pids.add(int(environ.parent.name))
    return pids - {os.getpid()}


def stop_marked(paths: Paths, *, grace_seconds: float = 10) -> set[int]:
    """Stop the processes `marked_pids` finds: SIGTERM, then SIGKILL after the grace period."""
    pids = marked_pids(paths)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while marked_pids(paths) & pids and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in marked_pids(paths) & pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def http_ok(url: str, *, context: ssl.SSLContext | None = None, timeout: float = 2) -> bool:
    """True when a GET of `url` answers 200."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def insecure_context() -> ssl.SSLContext:
    """A TLS context for the health endpoints of components serving self-signed certificates."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
