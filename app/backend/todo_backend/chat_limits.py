"""Per-user limits on chat turns: with a real AI provider every turn costs money.

Counted in memory per replica, like the frontend's sign-in limits: with N replicas a user
gets at most N times the limits, which still bounds what one account can spend.
"""

import contextlib
from collections.abc import Iterator

from fastapi import HTTPException
from todo_common.ratelimit import RateLimiter

# A turn usually ends within seconds; the user's other turn has likely ended by then.
CONCURRENT_RETRY_SECONDS = 5


class ChatLimits:
    """At most `turns_per_minute` turns started per user in any minute, `concurrent` at once."""

    def __init__(self, *, turns_per_minute: int, concurrent: int) -> None:
        """Make limits with no turn counted yet."""
        self._started = RateLimiter(max_events=turns_per_minute, window_seconds=60)
        self._concurrent = concurrent
        self._running: dict[str, int] = {}

    @contextlib.contextmanager
    def turn(self, user_id: str) -> Iterator[None]:
        """Hold one of the user's turns for the block; 429 with `Retry-After` over a limit."""
        if self._running.get(user_id, 0) >= self._concurrent:
            raise _too_many(
                f"The assistant is already answering {self._concurrent} of your messages, as"
                " many as it takes at once; wait for an answer, then send this one again.",
                CONCURRENT_RETRY_SECONDS,
            )
        wait = self._started.retry_after(user_id)
        if wait:
            raise _too_many(
                f"You sent the assistant too many messages in the last minute; send this one"
                f" again in {wait} seconds.",
                wait,
            )
        self._started.record(user_id)
        self._running[user_id] = self._running.get(user_id, 0) + 1
        try:
            yield
        finally:
            self._running[user_id] -= 1
            if not self._running[user_id]:
                del self._running[user_id]


def _too_many(message: str, retry_after_seconds: int) -> HTTPException:
    return HTTPException(
        status_code=429, detail=message, headers={"Retry-After": str(retry_after_seconds)}
    )
