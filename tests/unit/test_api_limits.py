"""Limits with clear answers: body size, products per ticket, tickets per batch, text length."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopstream.api import create_app
from shopstream.config import ApiSettings, KafkaSettings, Settings
from shopstream.errors import MessageRefused
from shopstream.models import MAX_PRODUCTS_PER_TICKET, MAX_TEXT_LENGTH, Ticket, as_message
from tests.helpers import ticket
from tests.unit.fakes import FakePublisher, post_scope


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    settings = Settings(
        kafka=KafkaSettings(max_ticket_bytes=4096),
        api=ApiSettings(max_batch_bytes=8192, batch_max_tickets=3),
    )
    with TestClient(create_app(settings, publisher=publisher)) as test_client:
        yield test_client


def test_a_body_over_the_limit_is_413(client: TestClient, publisher: FakePublisher) -> None:
    big = ticket("1", store="x" * 5000)
    response = client.post("/data", json=big)
    assert response.status_code == 413
    assert "4,096 bytes" in response.json()["detail"]
    assert publisher.published == []


def test_a_body_without_a_length_is_still_limited(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"id": "1", "store": "'
        for _ in range(10):
            yield b"x" * 1000

    response = client.post("/data", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_batch_body_over_its_limit_is_413(client: TestClient) -> None:
    response = client.post("/data/batch", json=[ticket(str(i), store="y" * 3000) for i in range(3)])
    assert response.status_code == 413


def test_too_many_tickets_in_a_batch_is_422(client: TestClient) -> None:
    response = client.post("/data/batch", json=[ticket(str(i)) for i in range(4)])
    assert response.status_code == 422
    assert "1 to 3 tickets" in response.text


def test_too_many_products_is_422_naming_products() -> None:
    products = [{"id": "1", "name": "Banana", "price": 1.0}] * (MAX_PRODUCTS_PER_TICKET + 1)
    with TestClient(create_app(Settings(), publisher=FakePublisher())) as client:
        response = client.post("/data", json=ticket("1", products=products))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "products"


def test_a_too_long_name_is_422_naming_it(client: TestClient) -> None:
    product = {"id": "1", "name": "n" * (MAX_TEXT_LENGTH + 1), "price": 1.0}
    response = client.post("/data", json=ticket("1", products=[product]))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "products.0.name"


def test_a_body_under_the_limit_that_publishes_larger_is_413(
    client: TestClient, publisher: FakePublisher
) -> None:
    """Integer ids gain quotes and 1 becomes 1.0: the limit is on the bytes published."""
    products = [{"id": n, "name": "B", "price": 1} for n in range(120)]
    body = json.dumps(ticket(1, products=products), separators=(",", ":")).encode()
    assert len(body) <= 4096 < len(as_message(Ticket.model_validate_json(body)))
    response = client.post("/data", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "as published" in response.json()["detail"]
    assert publisher.published == []


def test_a_batch_with_one_oversized_ticket_is_413_naming_it_and_publishes_none(
    publisher: FakePublisher,
) -> None:
    settings = Settings(
        kafka=KafkaSettings(max_ticket_bytes=4096), api=ApiSettings(max_batch_bytes=64 * 1024)
    )
    big = ticket("big", products=[{"id": "1", "name": "n" * 190, "price": 1.0}] * 30)
    with TestClient(create_app(settings, publisher=publisher)) as client:
        response = client.post("/data/batch", json=[ticket("ok"), big, ticket("ok2")])
    assert response.status_code == 413
    assert response.json()["detail"]["oversized"] == [1]
    assert "ticket 1 is" in response.json()["detail"]["message"]
    assert publisher.published == []


def test_a_ticket_kafka_refuses_for_what_it_is_gets_a_4xx_not_a_503(
    client: TestClient, publisher: FakePublisher
) -> None:
    publisher.failure = MessageRefused("Kafka refused the ticket: Message size too large", 413)
    response = client.post("/data", json=ticket("1"))
    assert response.status_code == 413
    assert "Message size too large" in response.json()["detail"]
    assert "retry-after" not in response.headers


def test_a_body_that_stops_arriving_is_408_and_closes_the_connection() -> None:
    publisher = FakePublisher()
    app = create_app(Settings(api=ApiSettings(request_body_timeout_s=0.2)), publisher=publisher)
    body = json.dumps(ticket("1")).encode()
    started: list[dict[str, Any]] = []
    answered: list[bytes] = []
    first_chunk_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal first_chunk_sent
        if not first_chunk_sent:
            first_chunk_sent = True
            return {"type": "http.request", "body": body[:10], "more_body": True}
        await asyncio.Event().wait()  # the rest never comes
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message)
        else:
            answered.append(message.get("body", b""))

    scope = post_scope("/data", (b"content-length", b"%d" % len(body)))

    async def serve() -> float:
        async with app.router.lifespan_context(app):
            began = time.monotonic()
            # Before REQUEST_BODY_TIMEOUT_S the request waited for ever: fail, don't hang.
            await asyncio.wait_for(app(scope, receive, send), 10)  # type: ignore[arg-type]
            return time.monotonic() - began

    took = asyncio.run(serve())
    [start] = started
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert b"0.2 s" in b"".join(answered)
    assert 0.2 <= took < 5
    assert publisher.published == []
