"""Pages, static files, probes and headers of the frontend (todo_frontend.main)."""

from __future__ import annotations

import re

import httpx
import pytest
from support.app_process import AppProcess, assert_probes_pass
from support.stack import AppFactory, new_password

pytestmark = pytest.mark.app


def test_sign_in_page_is_a_small_self_contained_form(client: httpx.Client) -> None:
    response = client.get("/signin")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<form method="post" action="/signin">' in page
    assert 'autocomplete="current-password"' in page
    # No external resource: the browser may have no internet at all.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("/"), url


def test_task_page_loads_its_script_and_styles(user_client: httpx.Client) -> None:
    page = user_client.get("/").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert {asset.split("?")[0] for asset in assets} == {
        "/static/app.js",
        "/static/app.css",
        "/static/favicon.svg",
    }
    for asset in assets:
        response = user_client.get(asset)
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
        cached = user_client.get(asset, headers={"If-None-Match": response.headers["etag"]})
        assert cached.status_code == 304


def test_unknown_static_file_is_404(client: httpx.Client) -> None:
    assert client.get("/static/secrets.txt").status_code == 404
    assert client.get("/static/..%2Fmain.py").status_code == 404


def test_user_data_on_pages_is_escaped(client: httpx.Client) -> None:
    email = '"><script>alert(1)</script>@example.com'
    form = {"email": email, "password": new_password()}
    assert client.post("/signup", data=form).status_code == 303
    assert client.post("/signin", data=form).status_code == 303
    page = client.get("/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


NUL_REFUSED = {"detail": "the request holds a NUL character, which no field accepts"}


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-instance"] == "frontend-0"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_responses_carry_security_headers_and_the_instance(client: httpx.Client) -> None:
    for path in ("/signin", "/healthz", "/static/app.css", "/no-such-page"):
        assert_security_headers(client.get(path))


def test_pages_are_never_cached_but_static_files_are(user_client: httpx.Client) -> None:
    for path in ("/", "/signin", "/app/api/tasks"):
        assert user_client.get(path).headers["cache-control"] == "no-store", path
    static = user_client.get("/static/app.css").headers["cache-control"]
    assert static == "public, max-age=31536000, immutable"


def test_plain_http_gets_no_hsts(client: httpx.Client) -> None:
    assert "strict-transport-security" not in client.get("/signin").headers


def test_https_public_url_in_any_case_turns_on_hsts(start_frontend: AppFactory) -> None:
    frontend = start_frontend(PUBLIC_URL="HTTPS://Todo.Example.com")
    with httpx.Client(base_url=frontend.url, trust_env=False) as http:
        response = http.get("/signin")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize("path", ["/signin", "/signup"])
@pytest.mark.parametrize("field", ["email", "password"])
def test_nul_in_a_form_field_is_a_422_with_the_security_headers(
    client: httpx.Client, path: str, field: str
) -> None:
    form = {"email": "someone@example.com", "password": new_password(), field: "a\x00b"}
    response = client.post(path, data=form)
    assert response.status_code == 422
    assert response.json() == NUL_REFUSED
    assert_security_headers(response)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/app/api/tasks", {"title": "buy\x00milk"}),
        ("PATCH", "/app/api/tasks/1", {"title": "\x00"}),
        ("POST", "/app/api/chat", {"message": "add \x00"}),
    ],
)
def test_nul_in_the_json_api_is_a_422_with_the_security_headers(
    user_client: httpx.Client, method: str, path: str, body: dict[str, str]
) -> None:
    response = user_client.request(method, path, json=body)
    assert response.status_code == 422
    assert response.json() == NUL_REFUSED
    assert_security_headers(response)


def test_probes(client: httpx.Client) -> None:
    assert_probes_pass(client)


def test_metrics_count_requests_by_route(client: httpx.Client, frontend: AppProcess) -> None:
    client.get("/signin")
    client.get("/static/app.js")
    assert client.get("/metrics").status_code == 404
    metrics = httpx.get(f"{frontend.metrics_url}/metrics", timeout=5)
    assert metrics.status_code == 200
    text = metrics.text
    assert "process_uptime_seconds" in text
    assert 'http_requests_total{method="GET",route="/signin",status="200"}' in text
    assert 'route="/static/{name}"' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "# TYPE http_request_failures_total counter" in text
