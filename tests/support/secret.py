"""`Secret`: a string that keeps its value out of pytest's reports."""

from __future__ import annotations


class Secret(str):
    """A `str` whose repr is `'<secret>'`.

    pytest shows fixture values and compared operands with `repr`, so a failing test would
    otherwise print passwords, keys and tokens. The value itself is unchanged: f-strings,
    `str()` and everything that reads the characters see the real secret.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        """Hide the value."""
        return "'<secret>'"


def bearer(token: str) -> dict[str, str]:
    """Return `{"Authorization": "Bearer <token>"}` with the value kept a `Secret`."""
    return {"Authorization": Secret(f"Bearer {token}")}
