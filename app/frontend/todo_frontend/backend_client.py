"""Calls from the frontend to the backend API, each authenticated by a fresh JWT.

One `httpx.AsyncClient` is shared by all requests, without keep-alive (see below). A refused
connection is retried twice; any failure that remains (refused connection, timeout, 5xx, a
rejected token) becomes `BackendUnavailable` with a message fit to show the user; the next
call simply tries again, so the page recovers on its own when the backend is back. A call
may name statuses whose `{"detail"}` the backend wrote for the user (the chat's 502/504 AI
errors): those messages are passed on instead of the generic one.
"""

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from todo_frontend.core.security import backend_token

logger = logging.getLogger(__name__)

# A backend's sentences are short; anything longer is not one of them.
MAX_RELAYED_DETAIL_CHARS = 500
UNAVAILABLE = (
    "The task service is unavailable right now; your changes were not lost — try again in a moment."
)
TIMED_OUT = (
    "The task service is taking too long to answer; try again in a moment"
    " (check the list first: the change may already be there)."
)

# During a rollout a backend pod that is leaving, or a Service whose endpoints are being
# reprogrammed, can refuse a connection for a moment. A connection that never opened never
# carried the request, so retrying it is safe even for a POST; httpcore waits 0 s, then
# 0.5 s. A connect inside the cluster takes well under a millisecond, so a short connect
# timeout keeps a dropped SYN from using the whole call's budget.
CONNECT_RETRIES = 2
CONNECT_TIMEOUT_SECONDS = 2.0


class BackendUnavailable(Exception):
    """The backend could not answer; `str(error)` is the message for the user."""

    def __init__(self, message: str, *, status_code: int) -> None:
        """Keep the user message and the HTTP status the frontend answers with."""
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class BackendResponse:
    """A backend answer the frontend passes on: its status and JSON body (`None` if empty)."""

    status_code: int
    body: Any
    # The backend's `Retry-After` (its chat limits' 429), for the browser to honour.
    retry_after: str | None = None


class BackendClient:
    """The backend API at `base_url`, on behalf of one user per call."""

    def __init__(self, *, base_url: str, secret: str, timeout_seconds: float) -> None:
        """Create the shared HTTP client; close it with `aclose()`."""
        self._secret = secret
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=_timeout(timeout_seconds),
            # A backend Service is plain HTTP inside the cluster; proxies in the pod's
            # environment must not capture it.
            trust_env=False,
            transport=httpx.AsyncHTTPTransport(
                retries=CONNECT_RETRIES,
                # kube-proxy balances connections, not requests: kept-alive connections
                # would stay on the replicas that existed when they opened, and a replica
                # added under steady traffic would get none. A connection per call costs
                # well under a millisecond inside the cluster.
                limits=httpx.Limits(max_keepalive_connections=0),
            ),
        )

    async def aclose(self) -> None:
        """Close the client and any connection still open."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        user_id: str,
        json: Any = None,
        timeout_seconds: float | None = None,
        relayed_errors: frozenset[int] = frozenset(),
    ) -> BackendResponse:
        """Send one request as `user_id`; raise `BackendUnavailable` when the backend fails.

        `timeout_seconds` replaces the client's default for this call. For a status in
        `relayed_errors` the backend's own `{"detail"}` sentence becomes the user's message
        (with that status); without one the generic message stands.
        """
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_seconds is None else _timeout(timeout_seconds)
        headers = {"Authorization": f"Bearer {backend_token(self._secret, user_id)}"}
        try:
            response = await self._http.request(
                method, path, json=json, headers=headers, timeout=timeout
            )
        except httpx.TimeoutException:
            logger.warning("backend timed out", extra={"method": method, "path": path})
            raise BackendUnavailable(TIMED_OUT, status_code=504) from None
        except httpx.HTTPError as error:
            logger.warning(
                "backend unreachable",
                extra={"method": method, "path": path, "error": type(error).__name__},
            )
            raise BackendUnavailable(UNAVAILABLE, status_code=503) from None
        if response.status_code in relayed_errors:
            detail = _detail(response)
            if detail is not None:
                logger.warning(
                    "backend reported an error",
                    extra={"method": method, "path": path, "status": response.status_code},
                )
                raise BackendUnavailable(detail, status_code=response.status_code)
        if response.status_code >= 500 or response.status_code in (401, 403):
            # A 401/403 means the two services disagree on BETTER_AUTH_SECRET: an
            # operator's problem, which the user can only wait out.
            logger.error(
                "backend failed",
                extra={"method": method, "path": path, "status": response.status_code},
            )
            raise BackendUnavailable(UNAVAILABLE, status_code=503)
        try:
            body = response.json() if response.content else None
        except ValueError:
            logger.error(
                "backend answered with something other than JSON",
                extra={"method": method, "path": path, "status": response.status_code},
            )
            raise BackendUnavailable(UNAVAILABLE, status_code=503) from None
        return BackendResponse(
            status_code=response.status_code,
            body=body,
            retry_after=response.headers.get("retry-after"),
        )


def _detail(response: httpx.Response) -> str | None:
    """Return the backend's `{"detail": "<sentence>"}` message, or None if it sent no such body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    if isinstance(detail, str) and 0 < len(detail) <= MAX_RELAYED_DETAIL_CHARS:
        return detail
    return None


def _timeout(seconds: float) -> httpx.Timeout:
    """`seconds` for the whole call, of which at most `CONNECT_TIMEOUT_SECONDS` per connect."""
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT_SECONDS))
