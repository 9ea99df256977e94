"""Issue #16, the Next.js stack: the Next.js + Better Auth frontend, deployed by values alone.

The short profile, fit for CI (about 40 s once the image is built): the release of
examples/values-nextjs.yaml as it stands, on top of the local cluster's values
(Release.full_values), its JWKS URL, issuer and audience set to this release's Service and
URL, both images pinned to the builds just pushed. It must be Ready after Better Auth's
migration Job ran (its tables exist, the hook is gone); a real browser in the user's network
namespace signs up, adds, completes and deletes tasks, chats, signs out and back in; the
backend accepts the token Better Auth issues, checked against the frontend's key set, and
refuses a token signed by another key (with the real key id, with one of its own) and a real
token whose claims were changed; the backend reaches the key set only through
networkPolicy.backendToFrontend. An expired token and one for another audience, signed by
the real key, are checked by tests/app/backend/test_backend_jwks.py (Better Auth signs
neither on request).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from conftest import ReleaseFactory, wait_until_served
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from e2e_cluster import Release, kubectl_json
from e2e_next import JWKS_URL, better_auth_user, example_values
from e2e_user import UserAgent, run_browser
from support.secret import Secret, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NODE_PORT = 30131
BACKEND_API = "http://127.0.0.1:8000/api/tasks"
BETTER_AUTH_TABLES = {"user", "session", "account", "verification", "jwks"}


@pytest.fixture(scope="module")
def stack(
    new_release: ReleaseFactory,
    next_digest: str,
    user_agent: UserAgent,
    figures: dict[str, Any],
) -> Iterator[Release]:
    """The release of the example values, installed once for the module."""
    release = new_release("next", NODE_PORT)
    release.values = example_values(release.url, next_digest)
    figures["next_deploy_seconds"] = round(release.install(), 1)
    wait_until_served(release, user_agent)
    yield release


@pytest.fixture(scope="module")
def token(stack: Release, user_agent: UserAgent) -> Secret:
    """A token Better Auth issued to a user who signed up through its API."""
    user = better_auth_user(user_agent, stack.url)
    issued = user.call("GET", "/api/auth/token")
    assert issued.status == 200, (issued.status, issued.error)
    return Secret(issued.json()["token"])


def backend_answer(stack: Release, token: str) -> tuple[int, str]:
    """What the backend answers a task list request with this bearer token (in its pod)."""
    pod = stack.ready_pods("backend")[0]
    [answer] = stack.http_in_pod(pod, [{"url": BACKEND_API, "headers": bearer(token)}])
    return answer


def forged(token: str, *, kid: str | None = None, **claims: Any) -> str:
    """The token's claims (changed by `claims`) signed by a key the frontend never had."""
    header = jwt.get_unverified_header(token)
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    headers = {"kid": kid or header["kid"]}
    return jwt.encode(payload, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=headers)


def tampered(token: str, **claims: Any) -> str:
    """The token with its claims changed and its signature kept."""
    head, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = json.dumps({**decoded, **claims}, separators=(",", ":")).encode()
    return ".".join([head, base64.urlsafe_b64encode(changed).rstrip(b"=").decode(), signature])


def test_install_is_ready_after_better_auths_migration_job(stack: Release) -> None:
    for component in ("backend", "frontend"):
        assert len(stack.ready_pods(component)) == 1, component
    rows = stack.schema.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    assert {row[0] for row in rows} >= BETTER_AUTH_TABLES, rows
    # The hook Job is deleted once it succeeded.
    assert kubectl_json("-n", stack.namespace, "get", "jobs")["items"] == []


def test_a_user_visits_through_the_nextjs_pages(stack: Release) -> None:
    result = run_browser("visit", stack.url)
    assert result["javascript_errors"] == []
    [(user_id,)] = stack.schema.query('SELECT id FROM "user" WHERE email = %s', [result["email"]])
    titles = stack.schema.query("SELECT title, completed FROM tasks WHERE user_id = %s", [user_id])
    assert titles == [("write the report", True)]


def test_the_backend_accepts_better_auths_token_by_the_key_set(
    stack: Release, token: Secret
) -> None:
    status, body = backend_answer(stack, token)
    assert status == 200, body[:300]
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (lambda token: forged(token), "invalid token"),
        (lambda token: forged(token, kid="not-the-frontends"), "token is signed by an unknown key"),
        (lambda token: tampered(token, aud="http://elsewhere.example"), "invalid token"),
        (lambda token: tampered(token, exp=0), "invalid token"),
    ],
    ids=["another-key", "another-key-id", "audience-changed", "expiry-changed"],
)
def test_the_backend_refuses_a_token_the_frontend_did_not_sign(
    stack: Release, token: Secret, make: Any, detail: str
) -> None:
    status, body = backend_answer(stack, make(str(token)))
    assert status == 401, body[:300]
    assert json.loads(body)["detail"] == detail


def test_the_backend_reaches_the_key_set_only_through_backend_to_frontend(
    stack: Release,
) -> None:
    pod = stack.ready_pods("backend")[0]
    [(status, body)] = stack.http_in_pod(pod, [{"url": JWKS_URL}])
    assert status == 200, body[:300]
    assert json.loads(body)["keys"]
    stack.upgrade({"networkPolicy": {"backendToFrontend": False}})
    try:
        [(status, body)] = stack.http_in_pod(stack.ready_pods("backend")[0], [{"url": JWKS_URL}])
        assert status == 0, f"the key set answered {status} without backendToFrontend"
    finally:
        stack.upgrade({"networkPolicy": {"backendToFrontend": True}})
