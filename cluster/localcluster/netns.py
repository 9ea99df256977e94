"""Work inside a named network namespace from this process, one thread at a time.

`setns(2)` moves only the calling thread; a socket keeps the namespace it was made in, so a
socket opened inside `entered` serves there after the thread has returned to the host's.
Python 3.11 has no `os.setns`, hence libc through ctypes.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

NETNS_DIR = Path("/run/netns")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the block's network calls of this thread inside the namespace `name`."""
    with open("/proc/thread-self/ns/net", "rb") as own, open(NETNS_DIR / name, "rb") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(own.fileno())


def call(name: str | None, function: Callable[[], T]) -> T:
    """`function()` inside the namespace `name`, or where this thread is when `name` is None."""
    if name is None:
        return function()
    with entered(name):
        return function()


def command(name: str | None) -> list[str]:
    """The prefix that runs a command in the namespace `name` and nothing else of it.

    `nsenter --net` rather than `ip netns exec`: the latter also gives the command a mount
    namespace of its own, and the kubelet's volume mounts must be seen by containerd and runc.
    """
    return [] if name is None else ["nsenter", f"--net={NETNS_DIR / name}", "--"]
