"""Progress lines for long steps: what is happening, and how long it took."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from toolchain.progress import ticker

_START = time.monotonic()


def say(message: str) -> None:
    """Print one progress line at once, prefixed with the time since the command started."""
    print(f"[cluster {time.monotonic() - _START:6.1f}s] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a step, then report how it ended and after how long.

    A failure is reported as the step's own line before the error propagates, so the output
    says which step failed even when the error's message names only a command.
    """
    say(f"{what} ...")
    began = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{what}: failed after {time.monotonic() - began:.1f}s")
        raise
    say(f"{what}: done in {time.monotonic() - began:.1f}s")


def heartbeat(what: str, *, every_seconds: float = 15) -> AbstractContextManager[None]:
    """Print `still waiting for <what> (N s)` every `every_seconds` while the block runs.

    For waits that a child process does silently (`kubectl rollout status`, `helm --wait`), so a
    slow start never looks like a hang.
    """
    return ticker(
        lambda seconds: say(f"still waiting for {what} ({seconds:.0f}s)"),
        every_seconds=every_seconds,
    )
