"""Sign-up, sign-in, sign-out and sessions (todo_frontend.api.routes.auth)."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from support.app_process import AppProcess
from support.stack import AppFactory, make_client, new_email, new_password, sign_up

pytestmark = pytest.mark.app


def session_cookie(response: httpx.Response) -> str:
    """Return the raw `Set-Cookie` header of a response that starts a session."""
    header = response.headers.get("set-cookie")
    assert header, "no Set-Cookie header"
    return header


def sign_in_new_user(http: httpx.Client) -> httpx.Response:
    """Sign up a new user and return the answer of its first sign-in."""
    form = {"email": new_email(), "password": new_password()}
    assert http.post("/signup", data=form).status_code == 303
    return http.post("/signin", data=form)


def test_sign_up_sends_to_sign_in_without_a_session(client: httpx.Client) -> None:
    email, password = new_email(), new_password()
    response = client.post("/signup", data={"email": email, "password": password})
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?signed-up"
    assert "set-cookie" not in response.headers
    notice = client.get("/signin?signed-up")
    assert notice.status_code == 200
    assert "If this email had no account, it has one now" in notice.text
    assert client.post("/signin", data={"email": email, "password": password}).status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    assert email in page.text
    assert 'id="tasks"' in page.text


def test_visitor_is_sent_to_sign_in(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"


def test_signed_in_user_is_sent_from_sign_in_to_tasks(user_client: httpx.Client) -> None:
    for page in ("/signin", "/signup"):
        response = user_client.get(page)
        assert response.status_code == 303
        assert response.headers["location"] == "/"


def test_sign_in_with_the_right_password(client: httpx.Client, frontend: AppProcess) -> None:
    email, password = sign_up(client)
    with make_client(frontend) as other:
        response = other.post("/signin", data={"email": email.upper(), "password": password})
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        assert other.get("/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.Client, frontend: AppProcess
) -> None:
    email, password = sign_up(client)
    with make_client(frontend) as other:
        wrong = other.post("/signin", data={"email": email, "password": password + "x"})
        unknown = other.post("/signin", data={"email": new_email(), "password": password})
    assert wrong.status_code == unknown.status_code == 401
    assert "Email or password is incorrect." in wrong.text
    assert "Email or password is incorrect." in unknown.text
    assert "set-cookie" not in wrong.headers
    assert "set-cookie" not in unknown.headers


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body, without what differs between any two answers (the date)."""
    headers = sorted((k, v) for k, v in response.headers.items() if k not in {"date"})
    return response.status_code, headers, response.content


def test_taken_email_gets_the_answer_of_a_new_one(
    client: httpx.Client, frontend: AppProcess
) -> None:
    email, password = sign_up(client)
    taken_password = new_password()
    with make_client(frontend) as other:
        taken = other.post("/signup", data={"email": email.title(), "password": taken_password})
        new = other.post("/signup", data={"email": new_email(), "password": new_password()})
        assert comparable(taken) == comparable(new)
        # The account keeps its owner's password.
        retry = other.post("/signin", data={"email": email, "password": taken_password})
        assert retry.status_code == 401
        assert other.post("/signin", data={"email": email, "password": password}).status_code == 303
    assert "sign-up for a taken email; the account is unchanged" in frontend.output()
    assert email not in frontend.output()


@pytest.mark.parametrize("password", ["password123", "Password123", "QWERTYUIOP"])
def test_sign_up_refuses_a_common_password(
    client: httpx.Client, db: psycopg.Connection[Any], password: str
) -> None:
    email = new_email()
    response = client.post("/signup", data={"email": email, "password": password})
    assert response.status_code == 422
    assert "This password is one of the most common ones; choose another." in response.text
    row = db.execute("SELECT count(*) FROM auth_users WHERE email = %s", [email]).fetchone()
    assert row == (0,)


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "long-enough-password", "Enter a valid email address."),
        ("someone@example.com", "short", "The password must have 8 to 128 characters."),
        ("someone@example.com", "x" * 129, "The password must have 8 to 128 characters."),
    ],
)
def test_sign_up_rejects_bad_input(
    client: httpx.Client, email: str, password: str, message: str
) -> None:
    response = client.post("/signup", data={"email": email, "password": password})
    assert response.status_code == 422
    assert message in response.text


def test_sign_up_rejects_oversized_and_missing_fields(client: httpx.Client) -> None:
    too_long = client.post("/signup", data={"email": "a" * 2000, "password": "x" * 10})
    assert too_long.status_code == 422
    missing = client.post("/signup", data={"email": new_email()})
    assert missing.status_code == 422
    huge = client.post("/signup", data={"email": new_email(), "password": "x" * 100_000})
    assert huge.status_code == 413


def test_password_is_stored_as_argon2id_hash(
    client: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    email, password = sign_up(client)
    row = db.execute("SELECT password_hash FROM auth_users WHERE email = %s", [email]).fetchone()
    assert row is not None
    assert row[0].startswith("$argon2id$")
    assert password not in row[0]


def test_cookie_flags_over_http(frontend: AppProcess) -> None:
    with make_client(frontend) as http:
        response = sign_in_new_user(http)
    cookie = session_cookie(response)
    assert cookie.startswith("session=")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes


def test_cookie_is_secure_when_the_public_url_is_https(start_frontend: AppFactory) -> None:
    public_url = "https://todo.example.com"
    frontend = start_frontend(PUBLIC_URL=public_url)
    with make_client(frontend, origin=public_url) as http:
        response = sign_in_new_user(http)
    assert response.status_code == 303
    cookie = session_cookie(response)
    # `__Host-` binds the cookie to this host, https and path /.
    assert cookie.startswith("__Host-session=")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)


def test_session_token_is_stored_only_as_a_digest(
    frontend: AppProcess, db: psycopg.Connection[Any]
) -> None:
    with make_client(frontend) as http:
        response = sign_in_new_user(http)
    token = session_cookie(response).split(";")[0].split("=", 1)[1].split(".")[0]
    digests = [row[0] for row in db.execute("SELECT token_digest FROM auth_sessions")]
    assert digests
    assert all(token.encode() not in bytes(digest) for digest in digests)


def test_sign_out_ends_the_session(frontend: AppProcess) -> None:
    with make_client(frontend) as http:
        sign_up(http)
        stolen = dict(http.cookies)
        response = http.post("/signout")
        assert response.status_code == 303
        assert response.headers["location"] == "/signin"
        assert "max-age=0" in response.headers["set-cookie"].lower()
    # The old cookie is worthless now, even if someone kept a copy.
    with make_client(frontend) as replay:
        replay.cookies.update(stolen)
        assert replay.get("/").status_code == 303
        assert replay.get("/app/api/tasks").status_code == 401


def test_expired_session_is_refused(client: httpx.Client, db: psycopg.Connection[Any]) -> None:
    email, _ = sign_up(client)
    assert client.get("/").status_code == 200
    db.execute(
        "UPDATE auth_sessions s SET expires_at = now() - interval '1 second'"
        " FROM auth_users u WHERE u.id = s.user_id AND u.email = %s",
        [email],
    )
    assert client.get("/").status_code == 303
    response = client.get("/app/api/tasks")
    assert response.status_code == 401
    assert response.json() == {"detail": "sign in first"}


def set_last_seen(db: psycopg.Connection[Any], email: str, minutes_ago: int) -> None:
    db.execute(
        "UPDATE auth_sessions s SET last_seen_at = now() - make_interval(mins => %s)"
        " FROM auth_users u WHERE u.id = s.user_id AND u.email = %s",
        [minutes_ago, email],
    )


def test_idle_session_is_refused(client: httpx.Client, db: psycopg.Connection[Any]) -> None:
    email, _ = sign_up(client)
    set_last_seen(db, email, 121)  # The default idle timeout is 2 hours.
    assert client.get("/").status_code == 303
    assert client.get("/app/api/tasks").status_code == 401


def test_idle_timeout_slides_with_use(client: httpx.Client, db: psycopg.Connection[Any]) -> None:
    email, _ = sign_up(client)
    set_last_seen(db, email, 119)
    assert client.get("/").status_code == 200
    # That request restarted the count: 119 minutes on, it is still under 2 hours idle.
    row = db.execute(
        "SELECT max(s.last_seen_at) > now() - interval '1 minute' FROM auth_sessions s"
        " JOIN auth_users u ON u.id = s.user_id WHERE u.email = %s",
        [email],
    ).fetchone()
    assert row == (True,)


def test_idle_timeout_is_a_setting(start_frontend: AppFactory, db: psycopg.Connection[Any]) -> None:
    frontend = start_frontend(SESSION_IDLE_MINUTES="5")
    with make_client(frontend) as http:
        email, _ = sign_up(http)
        set_last_seen(db, email, 4)
        assert http.get("/").status_code == 200
        set_last_seen(db, email, 6)
        assert http.get("/").status_code == 303


def test_forged_cookie_is_refused(frontend: AppProcess) -> None:
    with make_client(frontend) as http:
        sign_up(http)
        name, value = next(iter(http.cookies.items()))
        http.cookies.clear()
        http.cookies.set(name, value[:-3] + "abc")
        assert http.get("/").status_code == 303


def test_repeated_failed_sign_ins_are_rate_limited(start_frontend: AppFactory) -> None:
    frontend = start_frontend()
    with make_client(frontend) as http:
        email, password = sign_up(http)
        http.cookies.clear()
        for _ in range(5):
            response = http.post("/signin", data={"email": email, "password": "wrong-password"})
            assert response.status_code == 401
        # Even the right password waits now: the guesser cannot tell which one was right.
        response = http.post("/signin", data={"email": email, "password": password})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in response.text


# The tests reach the frontend from 127.0.0.1: trusting it makes them the ingress.
TEST_IS_THE_PROXY = "127.0.0.1/32"


def fail_sign_ins(http: httpx.Client, email: str, forwarded_for: list[str]) -> None:
    """One wrong password per entry, each claiming that `X-Forwarded-For`; all get 401."""
    for claimed in forwarded_for:
        response = http.post(
            "/signin",
            data={"email": email, "password": "wrong-password"},
            headers={"X-Forwarded-For": claimed},
        )
        assert response.status_code == 401


def test_forwarded_header_from_an_untrusted_peer_does_not_reset_the_budget(
    start_frontend: AppFactory,
) -> None:
    frontend = start_frontend()  # TRUSTED_PROXIES empty: nobody is believed.
    with make_client(frontend) as http:
        email, password = sign_up(http)
        http.cookies.clear()
        fail_sign_ins(http, email, [f"198.51.100.{n}" for n in range(5)])
        response = http.post(
            "/signin",
            data={"email": email, "password": password},
            headers={"X-Forwarded-For": "198.51.100.99"},
        )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text


def test_forwarded_header_from_an_untrusted_peer_cannot_lock_out_another_client(
    start_frontend: AppFactory,
) -> None:
    # The victim signs in through the (trusted) ingress; the attacker connects directly, from
    # another untrusted address, and names the victim's address.
    frontend = start_frontend(TRUSTED_PROXIES="127.0.0.2/32")
    victim_address = "203.0.113.50"
    with make_client(frontend) as http:
        email, password = sign_up(http)
        http.cookies.clear()
        fail_sign_ins(http, email, [victim_address] * 5)
    ingress = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=frontend.url, transport=ingress, trust_env=False) as victim:
        response = victim.post(
            "/signin",
            data={"email": email, "password": password},
            headers={"X-Forwarded-For": victim_address, "Origin": frontend.url},
        )
    assert response.status_code == 303


def test_rate_limit_follows_the_chain_of_trusted_proxies(start_frontend: AppFactory) -> None:
    frontend = start_frontend(TRUSTED_PROXIES=f"{TEST_IS_THE_PROXY}, 203.0.113.0/24")
    with make_client(frontend) as http:
        email, password = sign_up(http)
        http.cookies.clear()
        # Left of the client's address is whatever the client claimed: new claims, same client.
        fail_sign_ins(http, email, [f"192.0.2.{n}, 198.51.100.20, 203.0.113.7" for n in range(5)])
        for claimed, status in (
            ("192.0.2.99, 198.51.100.20, 203.0.113.8", 429),
            ("198.51.100.21, 203.0.113.7", 303),
        ):
            http.cookies.clear()
            response = http.post(
                "/signin",
                data={"email": email, "password": password},
                headers={"X-Forwarded-For": claimed},
            )
            assert response.status_code == status, claimed


def test_rate_limit_tells_clients_behind_a_proxy_apart(start_frontend: AppFactory) -> None:
    frontend = start_frontend(TRUSTED_PROXIES=TEST_IS_THE_PROXY)
    with make_client(frontend) as http:
        email, password = sign_up(http)
        http.cookies.clear()
        # The first hop is whatever the client claims; the last one, the ingress appended.
        guesser = {"X-Forwarded-For": "198.51.100.20, 203.0.113.7"}
        for _ in range(5):
            response = http.post(
                "/signin", data={"email": email, "password": "wrong-password"}, headers=guesser
            )
            assert response.status_code == 401
        user = {"X-Forwarded-For": "198.51.100.20"}
        response = http.post("/signin", data={"email": email, "password": password}, headers=user)
        assert response.status_code == 303
        http.cookies.clear()
        response = http.post(
            "/signin", data={"email": email, "password": password}, headers=guesser
        )
        assert response.status_code == 429


def sign_up_from(http: httpx.Client, address: str) -> httpx.Response:
    """Post a new sign-up as the ingress would forward it from `address`; return the answer."""
    http.cookies.clear()
    return http.post(
        "/signup",
        data={"email": new_email(), "password": new_password()},
        headers={"X-Forwarded-For": address},
    )


def test_sign_up_flood_from_one_client_is_rate_limited(
    start_frontend: AppFactory, db: psycopg.Connection[Any]
) -> None:
    frontend = start_frontend(TRUSTED_PROXIES=TEST_IS_THE_PROXY)
    flooder = "203.0.113.9"
    with make_client(frontend) as http:
        for _ in range(5):  # The default budget per client.
            assert sign_up_from(http, flooder).status_code == 303
        http.cookies.clear()
        refused_email = new_email()
        response = http.post(
            "/signup",
            data={"email": refused_email, "password": new_password()},
            headers={"X-Forwarded-For": flooder},
        )
        assert response.status_code == 429
        assert 0 < int(response.headers["retry-after"]) <= 600
        assert '<form method="post" action="/signup">' in response.text
        assert "Too many sign-ups from your network; try again in" in response.text
        assert "set-cookie" not in response.headers
        # Other clients still sign up, and sign-ins have a budget of their own.
        email, password = sign_up(http)
        http.cookies.clear()
        response = http.post(
            "/signin",
            data={"email": email, "password": password},
            headers={"X-Forwarded-For": flooder},
        )
        assert response.status_code == 303
    row = db.execute("SELECT count(*) FROM auth_users WHERE email = %s", [refused_email]).fetchone()
    assert row == (0,)


def test_sign_up_limit_tells_clients_behind_a_proxy_apart(start_frontend: AppFactory) -> None:
    frontend = start_frontend(SIGNUP_LIMIT_PER_CLIENT="2", TRUSTED_PROXIES=TEST_IS_THE_PROXY)
    # The first hop is whatever the client claims; the last one, the ingress appended.
    with make_client(frontend) as http:
        for claimed in ("198.51.100.20", "192.0.2.1"):
            assert sign_up_from(http, f"{claimed}, 203.0.113.7").status_code == 303
        # A new first hop does not make a new client...
        assert sign_up_from(http, "192.0.2.2, 203.0.113.7").status_code == 429
        # ...but another address the ingress saw is one, with its own budget.
        assert sign_up_from(http, "198.51.100.20").status_code == 303
