"""A per-process limit on events per key in a sliding window (sign-ins, sign-ups, chat).

Each process counts events in memory: with N replicas a client gets at most N times the
limit, which still turns password guessing or account spam from thousands of tries a minute
into a few.
"""

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Allow at most `max_events` events per key within `window_seconds`."""

    def __init__(
        self,
        *,
        max_events: int,
        window_seconds: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Make an empty limiter; past `max_keys` clients, the oldest one is forgotten."""
        self._max_events = max_events
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        """Return the seconds until `key` may try again; 0 when it may try now."""
        events = self._recent(key)
        if len(events) < self._max_events:
            return 0
        return max(1, int(events[0] + self._window - self._clock()) + 1)

    def record(self, key: str) -> None:
        """Count one event of `key` (a failed sign-in, a sign-up)."""
        events = self._recent(key)
        events.append(self._clock())
        self._events[key] = events
        if len(self._events) > self._max_keys:
            # Dicts keep insertion order: the first key is the one least recently added.
            del self._events[next(iter(self._events))]

    def reset(self, key: str) -> None:
        """Forget the events of `key` (a client that signed in is no longer guessing)."""
        self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        events = self._events.pop(key, deque())
        horizon = self._clock() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        if events:
            # Re-insert so the most recently used keys are the last to be forgotten.
            self._events[key] = events
        return events
