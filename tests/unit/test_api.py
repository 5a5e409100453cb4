"""The API with a fake publisher: what is refused, what is published, what a client hears."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopstream.api import create_app
from shopstream.config import ApiSettings, Settings
from shopstream.errors import BackpressureError, PublishError
from tests.helpers import EXAMPLE_TICKET, ticket
from tests.unit.fakes import FakePublisher, post_scope


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    app = create_app(Settings(api=ApiSettings(batch_max_tickets=5)), publisher=publisher)
    with TestClient(app) as test_client:
        yield test_client


def test_a_valid_ticket_is_published_under_its_id(
    client: TestClient, publisher: FakePublisher
) -> None:
    response = client.post("/data", json=ticket(42))
    assert response.status_code == 202
    assert response.json() == {"status": "ok", "id": "42"}
    [(key, value)] = publisher.published
    assert key == "42"
    assert json.loads(value) == {**EXAMPLE_TICKET, "id": "42"}


def test_an_invalid_ticket_names_the_field_and_publishes_nothing(
    client: TestClient, publisher: FakePublisher
) -> None:
    bad = ticket("1", products=[{"id": "1", "name": "Banana", "price": "cheap"}])
    response = client.post("/data", json=bad)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "products.0.price"
    assert error["loc"] == ["body", "products", 0, "price"]
    assert "cheap" not in response.text
    assert publisher.published == []


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'"ticket"'])
def test_a_body_that_is_not_a_ticket_is_422(
    client: TestClient, publisher: FakePublisher, body: bytes
) -> None:
    response = client.post("/data", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert publisher.published == []


@pytest.mark.parametrize(
    ("failure", "retry_after"),
    [
        (PublishError("no acknowledgement from Kafka within 6 s"), "5"),
        (BackpressureError("the producer queue is full"), "1"),  # retry soon
    ],
)
def test_kafka_not_taking_the_ticket_is_503_with_retry_after(
    client: TestClient, publisher: FakePublisher, failure: PublishError, retry_after: str
) -> None:
    publisher.failure = failure
    response = client.post("/data", json=EXAMPLE_TICKET)
    assert response.status_code == 503
    assert response.headers["retry-after"] == retry_after
    assert str(failure) in response.json()["detail"]


def test_a_batch_is_published_whole(client: TestClient, publisher: FakePublisher) -> None:
    response = client.post("/data/batch", json=[ticket(str(i)) for i in range(5)])
    assert response.status_code == 202
    assert response.json() == {"status": "ok", "count": 5}
    assert [key for key, _ in publisher.published] == ["0", "1", "2", "3", "4"]


def test_a_batch_with_bad_tickets_names_each_and_publishes_none(
    client: TestClient, publisher: FakePublisher
) -> None:
    batch: list[Any] = [ticket("0"), ticket("1", store=""), ticket("2"), ticket("3", date="x")]
    response = client.post("/data/batch", json=batch)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["invalid"] == [1, 3]
    assert {e["field"] for e in detail["errors"]} == {"1.store", "3.date"}
    assert publisher.published == []


@pytest.mark.parametrize("size", [0, 6])
def test_a_batch_must_hold_one_to_the_maximum(
    client: TestClient, publisher: FakePublisher, size: int
) -> None:
    response = client.post("/data/batch", json=[ticket(str(i)) for i in range(size)])
    assert response.status_code == 422
    assert "1 to 5 tickets" in response.text
    assert publisher.published == []


def test_a_batch_that_is_not_a_list_is_422(client: TestClient) -> None:
    response = client.post("/data/batch", json=EXAMPLE_TICKET)
    assert response.status_code == 422
    assert response.json()["detail"]["invalid"] == []


def test_health_and_readiness(client: TestClient, publisher: FakePublisher) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200
    publisher.is_ready = False
    assert client.get("/ready").status_code == 503


def test_the_openapi_schema_documents_the_ticket_bodies(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/data"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Ticket"}
    ticket_schema = schema["components"]["schemas"]["Ticket"]
    assert set(ticket_schema["required"]) == {"id", "store", "date", "products"}
    assert "Product" in schema["components"]["schemas"]
    batch = schema["paths"]["/data/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["items"] == {"$ref": "#/components/schemas/Ticket"}


def test_a_client_hanging_up_mid_body_is_not_an_error(
    publisher: FakePublisher, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(), publisher=publisher)
    sent: list[dict[str, Any]] = []
    body = json.dumps(EXAMPLE_TICKET).encode()
    arrivals: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": body[:10], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(arrivals)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = post_scope("/data")

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)  # type: ignore[arg-type]

    asyncio.run(serve())
    assert publisher.published == []
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
