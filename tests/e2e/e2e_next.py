"""The Next.js stack's release (examples/values-nextjs.yaml) and its users, for both profiles.

test_e2e_next.py (the short profile, in `make test`) and test_e2e_next_full.py (the rest of
issue 16's profile, `make e2e-next`) install the example as it stands, on top of the local
cluster's values, with its JWKS URL, issuer and audience set to the release's own Service and
URL.
"""

from __future__ import annotations

import re
from typing import Any

from conftest import REPO
from e2e_cluster import FRONTEND
from e2e_user import AppUser, UserAgent
from localcluster import deploy

JWKS_URL = f"http://{FRONTEND}/api/auth/jwks"
SESSION_COOKIE = "better-auth.session_token"
# Prints the environment in an image without `env` (FROM scratch: only node).
PRINT_ENVIRONMENT = (
    "node",
    "-e",
    "for (const [k, v] of Object.entries(process.env)) console.log(`${k}=${v}`)",
)


def example_values(url: str, digest: str) -> dict[str, Any]:
    """The example file for the `e2e` release at `url`, as `make up FRONTEND=next` makes it."""
    values = deploy.nextjs_values(REPO, public_url=url, jwks_url=JWKS_URL, digest=digest)
    # A chart-managed Secret's frontendDatabaseUrl too: one role, as the example explains.
    values["secrets"]["frontendDatabaseUrl"] = ""
    return values


def better_auth_user(agent: UserAgent, url: str) -> AppUser:
    """A user signed up and signed in through Better Auth's API, with its session cookie."""
    user = AppUser(agent, url)
    signed_up = user.call(
        "POST",
        "/api/auth/sign-up/email",
        json_body={"name": "Ada", "email": user.email, "password": user.password},
    )
    assert signed_up.status == 200, (signed_up.status, signed_up.error, signed_up.text[:300])
    # Sign-up starts no session (it would tell whether the email was taken).
    signed_in = better_auth_sign_in(user)
    assert signed_in == 200, signed_in
    return user


def better_auth_sign_in(user: AppUser) -> int:
    """Sign in through Better Auth's API; keep the session cookie. Return the status."""
    body = {"email": user.email, "password": user.password}
    reply = user.call("POST", "/api/auth/sign-in/email", json_body=body)
    found = re.search(rf"{re.escape(SESSION_COOKIE)}=([^;]+)", reply.headers.get("set-cookie", ""))
    if reply.status == 200 and found:
        user.cookies = {SESSION_COOKIE: found.group(1)}
    return reply.status or 0
