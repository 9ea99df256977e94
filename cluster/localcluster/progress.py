"""Progress lines for long steps: what is happening, and how long it took."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_START = time.monotonic()


def say(message: str) -> None:
    """Print one progress line at once, prefixed with the time since the command started."""
    print(f"[cluster {time.monotonic() - _START:6.1f}s] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a step, then report its duration when it ends without an error."""
    say(f"{what} ...")
    began = time.monotonic()
    yield
    say(f"{what}: done in {time.monotonic() - began:.1f}s")
