"""Statistics of the benchmark: percentiles and per-request-kind summaries of load samples.

Percentiles are exact, computed from every recorded duration (no histogram buckets), with
linear interpolation between the closest ranks (the method numpy and Excel use by default).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A load sample as the load generator writes it: kind, start (epoch s), seconds, outcome
# ("ok", "HTTP 503", or the client's exception name such as "ConnectError").
Sample = tuple[str, float, float, str]


def percentile(values: Iterable[float], pct: float) -> float | None:
    """The `pct`-th percentile (0-100) of `values`, or None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= pct <= 100:
        raise ValueError(f"'pct' must be between 0 and 100, got {pct}")
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class KindSummary:
    """Latency and failures of one kind of request (or of all of them: kind "all")."""

    kind: str
    count: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    errors_by_kind: dict[str, int]

    @classmethod
    def of(cls, kind: str, samples: Sequence[Sample]) -> KindSummary:
        """Summarize samples (all of the same kind, or any mix for an overall line)."""
        durations = [s[2] * 1000 for s in samples]
        failures = Counter(s[3] for s in samples if s[3] != "ok")

        def pct(p: float) -> float | None:
            value = percentile(durations, p)
            return None if value is None else round(value, 1)

        return cls(
            kind=kind,
            count=len(samples),
            errors=sum(failures.values()),
            p50_ms=pct(50),
            p95_ms=pct(95),
            p99_ms=pct(99),
            max_ms=round(max(durations), 1) if durations else None,
            errors_by_kind=dict(sorted(failures.items())),
        )


def summarize(
    samples: Sequence[Sample], *, start: float = -math.inf, end: float = math.inf
) -> dict[str, KindSummary]:
    """Per-kind summaries of the samples that started in [start, end), plus "all"."""
    window = [s for s in samples if start <= s[1] < end]
    kinds = sorted({s[0] for s in window})
    summary = {kind: KindSummary.of(kind, [s for s in window if s[0] == kind]) for kind in kinds}
    summary["all"] = KindSummary.of("all", window)
    return summary


def only(samples: Sequence[Sample], kinds: Iterable[str]) -> list[Sample]:
    """The samples of the given kinds."""
    wanted = set(kinds)
    return [s for s in samples if s[0] in wanted]


def rate(samples: Sequence[Sample], start: float, end: float) -> float:
    """Requests per second that started in [start, end)."""
    if end <= start:
        return 0.0
    return sum(start <= s[1] < end for s in samples) / (end - start)


def from_json(rows: Iterable[Sequence[object]]) -> list[Sample]:
    """Samples from the load generator's JSON rows."""
    return [(str(r[0]), float(str(r[1])), float(str(r[2])), str(r[3])) for r in rows]
