"""Metrics, `X-Instance`, body limit and JSON errors (todo_common.web) on a small app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from todo_common import web

pytestmark = [pytest.mark.app, pytest.mark.anyio]


class Item(BaseModel):
    name: str


def make_app() -> FastAPI:
    app = FastAPI()
    web.install(app, instance_name="pod-7", max_body_bytes=1024)

    @app.post("/items/{item_id}")
    async def create(item_id: int, item: Item) -> dict[str, object]:
        return {"id": item_id, "name": item.name}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail that must stay in the log")

    return app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> FastAPI:
    return make_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http


@pytest.fixture
async def metrics_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=web.metrics_app(app.state.metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as http:
        yield http


async def test_unhandled_exception_is_a_json_500_counted_as_failure(
    client: httpx.AsyncClient, metrics_client: httpx.AsyncClient
) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert response.headers["x-instance"] == "pod-7"
    assert "internal detail" not in response.text
    metrics = (await metrics_client.get("/metrics")).text
    assert 'http_request_failures_total{route="/boom"} 1.0' in metrics
    assert 'http_requests_total{method="GET",route="/boom",status="500"} 1.0' in metrics


async def test_a_route_that_served_has_its_failure_series_at_zero(
    client: httpx.AsyncClient, metrics_client: httpx.AsyncClient
) -> None:
    before = (await metrics_client.get("/metrics")).text
    assert 'route="/items/{item_id}"' not in before
    assert (await client.post("/items/1", json={"name": "a"})).status_code == 200
    metrics = (await metrics_client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/items/{item_id}",status="200"} 1.0' in metrics
    for status in web.FAILURE_STATUSES:
        assert (
            f'http_requests_total{{method="POST",route="/items/{{item_id}}",status="{status}"}} 0.0'
            in metrics
        )
    assert 'http_request_failures_total{route="/items/{item_id}"} 0.0' in metrics
    assert (
        'http_request_duration_seconds_count{route="/items/{item_id}",status_class="5xx"} 0.0'
        in metrics
    )


async def test_streamed_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 400

    response = await client.post("/items/1", content=chunks())
    assert response.status_code == 413
    assert response.json() == {"detail": "request body is larger than 1 KiB"}
    assert response.headers["x-instance"] == "pod-7"


async def test_body_within_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post("/items/3", json={"name": "n" * 900})
    assert response.status_code == 200
    assert response.json() == {"id": 3, "name": "n" * 900}


async def test_validation_errors_are_one_sentence(client: httpx.AsyncClient) -> None:
    response = await client.post("/items/x", json={"name": 5, "secret-ish": "value"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "path.item_id: Input should be a valid integer, unable to parse string as an"
        " integer; name: Input should be a valid string"
    }


async def test_metrics_are_served_by_the_metrics_app_only(
    client: httpx.AsyncClient, metrics_client: httpx.AsyncClient
) -> None:
    assert (await client.get("/metrics")).status_code == 404
    scraped = await metrics_client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "process_uptime_seconds" in scraped.text
    # Scrapes are not requests of the app: they would inflate its rate and availability.
    assert 'route="/metrics"' not in (await metrics_client.get("/metrics")).text
    assert (await metrics_client.get("/items/1")).status_code == 404
