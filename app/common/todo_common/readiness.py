"""Readiness of one process: not ready while starting or once shutdown has begun."""

from __future__ import annotations


class Readiness:
    """Whether the process should receive traffic, apart from its dependencies' health."""

    def __init__(self) -> None:
        """Start in the `starting` state."""
        self._started = False
        self._shutting_down = False

    def mark_started(self) -> None:
        """Record that start-up work (e.g. migrations) is done."""
        self._started = True

    def mark_shutting_down(self) -> None:
        """Record that shutdown has begun; the process stays not ready from now on."""
        self._shutting_down = True

    @property
    def shutting_down(self) -> bool:
        """Whether shutdown has begun."""
        return self._shutting_down

    @property
    def not_ready_reason(self) -> str | None:
        """`"starting"`, `"shutting down"`, or None when the process may take traffic."""
        if self._shutting_down:
            return "shutting down"
        if not self._started:
            return "starting"
        return None
