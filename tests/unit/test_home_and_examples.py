"""``GET /`` leads to the dashboard; ``/docs`` "Try it out" starts from the seed's ticket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopstream.api import create_app
from shopstream.config import Settings
from tests.helpers import EXAMPLE_TICKET
from tests.unit.fakes import FakePublisher


@pytest.fixture
def client() -> Iterator[TestClient]:
    publisher = FakePublisher()
    with TestClient(create_app(Settings(), publisher=publisher)) as test_client:
        yield test_client


def test_the_root_redirects_to_the_dashboard(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/dashboard"
    followed = client.get("/")
    assert followed.status_code == 200
    assert followed.headers["content-type"].startswith("text/html")


def test_under_a_path_prefix_it_redirects_under_it() -> None:
    app = create_app(Settings(), publisher=FakePublisher())
    with TestClient(app, root_path="/shop") as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/shop/dashboard"


def _example(client: TestClient, path: str) -> Any:
    body = client.get("/openapi.json").json()["paths"][path]["post"]["requestBody"]
    return body["content"]["application/json"]["example"]


def test_the_ticket_routes_document_the_seeds_ticket_as_their_example(
    client: TestClient,
) -> None:
    assert _example(client, "/data") == EXAMPLE_TICKET
    assert _example(client, "/data/batch") == [EXAMPLE_TICKET]


def test_the_example_as_sent_is_accepted(client: TestClient) -> None:
    assert client.post("/data", json=_example(client, "/data")).status_code == 202
    assert client.post("/data/batch", json=_example(client, "/data/batch")).json() == {
        "status": "ok",
        "count": 1,
    }
