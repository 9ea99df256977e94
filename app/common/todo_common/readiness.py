"""Readiness of one process: not ready while starting, after a failed start or in shutdown."""

from __future__ import annotations


class Readiness:
    """Whether the process should receive traffic, apart from its dependencies' health."""

    def __init__(self) -> None:
        """Start in the `starting` state."""
        self._started = False
        self._failed = False
        self._shutting_down = False

    def mark_started(self) -> None:
        """Record that start-up work (e.g. migrations) is done."""
        self._started = True

    def mark_failed(self) -> None:
        """Record that start-up work failed for good: the process must stop (non-zero)."""
        self._failed = True

    @property
    def failed(self) -> bool:
        """Whether start-up work failed for good."""
        return self._failed

    def mark_shutting_down(self) -> None:
        """Record that shutdown has begun; the process stays not ready from now on."""
        self._shutting_down = True

    @property
    def shutting_down(self) -> bool:
        """Whether shutdown has begun."""
        return self._shutting_down

    @property
    def not_ready_reason(self) -> str | None:
        """`"starting"`, `"start-up failed"`, `"shutting down"`, or None (may take traffic)."""
        if self._shutting_down:
            return "shutting down"
        if self._failed:
            return "start-up failed"
        if not self._started:
            return "starting"
        return None
