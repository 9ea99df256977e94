"""Liveness and readiness probes."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from todo_common.database import ping

from todo_frontend.api.deps import ServicesDep

router = APIRouter(tags=["health"])

DB_PING_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answer 200 while the process serves."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """Answer 200 when the database answers; 503 while starting or shutting down.

    The backend's health is deliberately not checked: during a backend outage the pages
    still serve sign-in and a friendly error, so this pod stays in rotation.
    """
    reason = services.readiness.not_ready_reason
    if reason is None and not await ping(services.pool, timeout_seconds=DB_PING_TIMEOUT_SECONDS):
        reason = "database unavailable"
    if reason is not None:
        return JSONResponse({"status": "not ready", "detail": reason}, status_code=503)
    return JSONResponse({"status": "ready"})
