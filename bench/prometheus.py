"""The local cluster's Prometheus (localcluster.monitoring), asked through its HTTP API.

The host reaches its NodePort on the host end of the user's veth, as the user does.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from localcluster import monitoring

TIMEOUT_SECONDS = 30


def _get(path: str, **params: str) -> Any:
    """GET /api/v1/<path>; return its `data` (raise on anything but a success)."""
    url = f"{monitoring.url()}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        answer = json.loads(response.read())
    if answer.get("status") != "success":
        raise RuntimeError(f"prometheus {path} {params}: {answer}")
    return answer["data"]


def value(expr: str, at: float) -> float | None:
    """The single value of an instant query at epoch second `at`; None when it has none."""
    result = _get("query", query=expr, time=f"{at:.3f}")["result"]
    if not result:
        return None
    if len(result) > 1:
        raise RuntimeError(f"prometheus: {expr} has {len(result)} series, expected one")
    return float(result[0]["value"][1])


def series(expr: str, start: float, end: float, step_seconds: float) -> list[tuple[float, float]]:
    """The (time, value) points of a range query that yields one series (empty: none)."""
    result = _get(
        "query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step_seconds}s"
    )["result"]
    if len(result) > 1:
        raise RuntimeError(f"prometheus: {expr} has {len(result)} series, expected one")
    return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []
