"""A per-process limit on failed sign-ins per client.

Each process counts failures in memory: with N replicas a client gets at most N times the
limit, which still turns password guessing from thousands of tries a minute into a few.
"""

import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """Allow at most `max_failures` failures per key within `window_seconds`."""

    def __init__(
        self,
        *,
        max_failures: int,
        window_seconds: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Make an empty limiter; past `max_keys` clients, the oldest one is forgotten."""
        self._max_failures = max_failures
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        """Return the seconds until `key` may try again; 0 when it may try now."""
        failures = self._recent(key)
        if len(failures) < self._max_failures:
            return 0
        return max(1, int(failures[0] + self._window - self._clock()) + 1)

    def record_failure(self, key: str) -> None:
        """Count one failed attempt of `key`."""
        failures = self._recent(key)
        failures.append(self._clock())
        self._failures[key] = failures
        if len(self._failures) > self._max_keys:
            # Dicts keep insertion order: the first key is the one least recently added.
            del self._failures[next(iter(self._failures))]

    def reset(self, key: str) -> None:
        """Forget the failures of `key` (after it signs in)."""
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.pop(key, deque())
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if failures:
            # Re-insert so the most recently used keys are the last to be forgotten.
            self._failures[key] = failures
        return failures
