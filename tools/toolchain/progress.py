"""Run long commands with a heartbeat: what runs, how far it has come, and for how long.

The Go tool builds and the image build (images/imagebuild) run their commands through `run`;
the local cluster's silent waits use `ticker` for the same every-few-seconds line.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypedDict, Unpack

HEARTBEAT_SECONDS = 15


def log(message: str) -> None:
    """Print one progress line at once (make and CI show it while the build runs)."""
    print(f"[gotools] {message}", flush=True)


def elapsed(seconds: float) -> str:
    """Return a duration the way the progress lines print it: `42 s` or `12 min 05 s`."""
    whole = int(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


class Progress:
    """How far a long command has come, read from its output line by line.

    The base class reports nothing: the heartbeat then shows only the elapsed time.
    """

    def feed(self, line: str) -> None:
        """Take one line of the command's output."""

    def describe(self) -> str:
        """Return how far the command has come, or "" when its output does not say."""
        return ""


# The step of the command being run, such as `tool 2/7 kubernetes`, for its heartbeat lines.
STEP: contextvars.ContextVar[str] = contextvars.ContextVar("STEP", default="")


def heartbeat_line(program: str, what: str, step: str, status: str, seconds: float) -> str:
    """Return one heartbeat: `[gotools]   ... go build x (tool 1/7 k): 12/40 packages, 30 s`."""
    where = f" ({step})" if step else ""
    return f"[{program}]   ... {what}{where}: {f'{status}, ' if status else ''}{elapsed(seconds)}"


@contextlib.contextmanager
def ticker(beat: Callable[[float], None], *, every_seconds: float) -> Iterator[None]:
    """Call `beat` with the seconds elapsed, every `every_seconds` while the block runs.

    A block that ends sooner calls it never; it is called from a thread of its own.
    """
    started = time.monotonic()
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every_seconds):
            beat(time.monotonic() - started)

    thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def watch(
    command: Sequence[str],
    *,
    what: str,
    program: str = "gotools",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
    progress: Progress | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command and print a heartbeat while it runs; return its exit code and output.

    Every HEARTBEAT_SECONDS a line says what runs (`what`, and the STEP), how far it has come
    (read from its output by `progress`) and for how long, so a command that ends sooner
    prints nothing. The output (stderr included) is collected rather than streamed, since a
    Kubernetes build says nothing worth reading when it succeeds, and is also written to
    `log_file` when given. `program` names the script in the heartbeat lines.
    """
    progress = progress or Progress()
    step = STEP.get()
    lines: list[str] = []

    def beat(seconds: float) -> None:
        print(heartbeat_line(program, what, step, progress.describe(), seconds), flush=True)

    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(log_file or os.devnull, "w") as saved,
        subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process,
        ticker(beat, every_seconds=HEARTBEAT_SECONDS),
    ):
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            saved.write(line)
            progress.feed(line)
        returncode = process.wait()
    return subprocess.CompletedProcess(command, returncode, "".join(lines))


class RunOptions(TypedDict, total=False):
    """What `run` passes on to `watch` besides the command and its description."""

    program: str
    env: dict[str, str] | None
    cwd: Path | None
    log_file: Path | None
    progress: Progress | None


def run(command: Sequence[str], *, what: str, **options: Unpack[RunOptions]) -> str:
    """Run a command like `watch` and return its output; stop with the end of it if it fails.

    The failure is the command's last 40 lines and one line naming what failed, the exit
    code and the full log when there is one.
    """
    result = watch(command, what=what, **options)
    if result.returncode != 0:
        sys.stderr.write("".join(result.stdout.splitlines(keepends=True)[-40:]))
        log_file = options.get("log_file")
        where = f" (full log: {log_file})" if log_file else ""
        program = options.get("program", "gotools")
        sys.exit(f"{program}: {what} failed (exit {result.returncode}){where}: {' '.join(command)}")
    return result.stdout
