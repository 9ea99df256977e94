"""The sign-in and sign-up limiter (todo_common.ratelimit), on a hand-driven clock."""

import pytest
from todo_common.ratelimit import RateLimiter

pytestmark = pytest.mark.app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(max_events=3, window_seconds=60, max_keys=2, clock=clock)


def test_allows_until_the_limit_then_says_how_long_to_wait(
    limiter: RateLimiter, clock: Clock
) -> None:
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.record("a")
        clock.now += 1
    assert limiter.retry_after("a") == 58
    assert limiter.retry_after("b") == 0


def test_failures_expire_after_the_window(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(3):
        limiter.record("a")
    clock.now += 60
    assert limiter.retry_after("a") == 0


def test_reset_forgets_a_key(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.record("a")
    limiter.reset("a")
    assert limiter.retry_after("a") == 0


def test_memory_is_bounded_by_forgetting_the_oldest_key(limiter: RateLimiter) -> None:
    for key in ("a", "b", "c"):
        for _ in range(3):
            limiter.record(key)
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("b") > 0
    assert limiter.retry_after("c") > 0
