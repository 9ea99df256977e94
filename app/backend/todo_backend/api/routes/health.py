"""Probes: `/healthz` (liveness) and `/readyz` (readiness, checks the database)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

from todo_common.database import ping
from todo_common.readiness import Readiness

router = APIRouter(tags=["health"])

DB_PING_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, str]:
    """200 when started and the database answers; 503 otherwise (and during shutdown)."""
    readiness: Readiness = request.app.state.readiness
    reason = readiness.not_ready_reason
    if reason is None:
        pool: AsyncConnectionPool = request.app.state.pool
        if not await ping(pool, timeout_seconds=DB_PING_TIMEOUT_SECONDS):
            reason = "database unavailable"
    if reason is not None:
        return JSONResponse({"detail": f"not ready: {reason}"}, status_code=503)
    return {"status": "ready"}
