"""GET /analytics, /analytics/timeline and the dashboard's assets, on each store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopstream.api import create_app
from shopstream.config import Settings, StoreSettings
from shopstream.stores import JsonFileStore
from tests.contracts.stores import ApiFiguresContract
from tests.unit.fakes import FakePublisher
from tests.unit.storedata import enriched


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    app = create_app(
        Settings(store=StoreSettings(database_url=store_url)), publisher=FakePublisher()
    )
    with TestClient(app) as test_client:
        yield test_client


def test_a_bad_date_filter_is_422_naming_it(client: TestClient) -> None:
    response = client.get("/analytics?date_from=2020-02-30")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "date_from"]


def test_the_filters_are_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/analytics"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"store", "date_from", "date_to"}
    assert "200" in operation["responses"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/dashboard", "text/html"),
        ("/dashboard/dashboard.js", "text/javascript"),
        ("/dashboard/dashboard.css", "text/css"),
        ("/dashboard/plotly-basic.min.js", "text/javascript"),
    ],
)
def test_the_dashboard_serves_every_asset_itself(client: TestClient, path: str, kind: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)


def test_the_dashboard_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/dashboard").text
    assert "http://" not in page
    assert "https://" not in page


def test_a_store_that_is_down_answers_503_without_its_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = "postgresql://shop:hunter2@127.0.0.1:1/shop"
    app = create_app(
        Settings(store=StoreSettings(database_url=unreachable)), publisher=FakePublisher()
    )
    with TestClient(app) as down:
        response = down.get("/analytics")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"detail": "the store is unavailable; retry shortly"}
    assert "cannot reach PostgreSQL" in caplog.text
    assert "hunter2" not in caplog.text


def test_a_json_store_line_the_figures_cannot_use_is_503_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "database.json"
    writer = JsonFileStore(path)
    writer.open()
    writer.add([enriched(str(i)) for i in range(3)])
    writer.close()
    lines = path.read_text().split("\n")
    lines[2] = lines[2].replace('"price":1.5', '"price":"1.5"', 1)
    path.write_text("\n".join(lines))
    app = create_app(
        Settings(store=StoreSettings(database_url=str(path))), publisher=FakePublisher()
    )
    with TestClient(app) as client:
        response = client.get("/analytics")
    assert response.status_code == 503
    assert response.headers["retry-after"]


def test_a_sqlite_file_that_is_not_a_database_is_503(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    path.write_bytes(b"not a database" * 100)
    app = create_app(
        Settings(store=StoreSettings(database_url=f"sqlite:///{path}")), publisher=FakePublisher()
    )
    with TestClient(app) as client:
        assert client.get("/analytics").status_code == 503


class TestApiFigures(ApiFiguresContract):
    """On JSON and SQLite."""
