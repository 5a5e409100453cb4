"""``shopstream export`` and ``GET /export.csv``: every product line, streamed."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopstream import export
from shopstream.analytics import Filters
from shopstream.api import create_app
from shopstream.config import Settings
from shopstream.models import EnrichedProduct, EnrichedTicket
from shopstream.stores import SqliteStore
from tests.contracts.stores import ExportContract
from tests.helpers import Command, settings_from
from tests.unit.fakes import FakePublisher
from tests.unit.storedata import enriched


def _endless() -> Iterator[EnrichedTicket]:
    """A store's tickets that never end: only a streamed export gives any of them back."""
    for number in itertools.count():
        yield enriched(str(number))


@pytest.mark.parametrize("kind", list(export.Format))
def test_the_export_is_written_as_the_store_is_read(kind: export.Format) -> None:
    first = list(itertools.islice(export.chunks(_endless(), Filters(), kind), 3))
    text = "".join(first)
    assert "Banana" in text
    assert len(text.splitlines()) >= 2000  # two chunks of a thousand rows, and more to come


def test_the_api_streams_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(), publisher=FakePublisher())
    with TestClient(app) as client:
        monkeypatch.setattr(app.state.store, "tickets", _endless)
        with client.stream("GET", "/export.csv") as response:
            assert response.status_code == 200
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > 1_000_000:
                    break
    assert received > 1_000_000


def test_a_large_export_holds_one_chunk_in_memory(tmp_path: Path, command: Command) -> None:
    """120,000 product lines, some 7 MB of CSV, exported with less than 2 MB allocated at
    its peak: nothing is kept but the chunk being written."""
    store = SqliteStore(tmp_path / "shop.db")
    store.open()
    for start in range(0, 60_000, 10_000):
        store.add([enriched(str(i)) for i in range(start, start + 10_000)])
    store.close()
    output = tmp_path / "lines.csv"
    command("export", DATABASE_URL=str(tmp_path / "empty.json"))  # its modules imported
    tracemalloc.start()
    try:
        result = command(
            "export", "--output", str(output), DATABASE_URL=f"sqlite:///{tmp_path / 'shop.db'}"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size > 6_000_000
    assert sum(1 for _ in output.open()) == 120_001
    assert peak < 2_000_000, f"{peak:,} bytes at the peak"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+1+1", "'+1+1"),
        ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-5", "-5"),  # an integer id, not a formula
        ("+3.25", "+3.25"),
        ("Banana", "Banana"),
        ("e=mc2", "e=mc2"),
    ],
)
def test_csv_text_a_spreadsheet_would_run_is_written_as_text(text: str, cell: str) -> None:
    assert export.spreadsheet_text(text) == cell


def test_hostile_text_is_inert_in_csv_and_kept_as_stored_in_json_lines() -> None:
    ticket = EnrichedTicket(
        id="-7",
        store="=cmd|' /C calc'!A0",
        date=datetime.date(2020, 1, 1),
        total_price=1.0,
        products=[EnrichedProduct("@x", '<img src=x onerror=alert(1)>, "quoted"', 1.0, "Other")],
    )
    csv_text = "".join(export.chunks([ticket], Filters(), export.Format.CSV))
    row = list(csv.reader(io.StringIO(csv_text, newline="")))[1]
    assert row == [
        "-7",
        "'=cmd|' /C calc'!A0",
        "2020-01-01",
        "1.0",
        "1",
        "'@x",
        '<img src=x onerror=alert(1)>, "quoted"',
        "1.0",
        "Other",
    ]
    jsonl = "".join(export.chunks([ticket], Filters(), export.Format.JSONL))
    assert '"store":"=cmd|\' /C calc\'!A0"' in jsonl
    assert '"product_id":"@x"' in jsonl


WRITE_KEY = "write-key-0123456789"
READ_KEY = "read-key-0123456789"


@pytest.mark.parametrize(
    ("protection", "key"),
    [({"API_KEYS": WRITE_KEY, "API_KEYS_PROTECT_READS": "true"}, WRITE_KEY),
     ({"API_KEYS": WRITE_KEY, "API_READ_KEYS": READ_KEY}, READ_KEY)],
)  # fmt: skip
def test_the_download_needs_a_key_when_the_figures_do(protection: dict[str, str], key: str) -> None:
    app = create_app(settings_from(**protection), publisher=FakePublisher())
    with TestClient(app) as client:
        assert client.get("/export.csv").status_code == 401
        guessed = client.get("/export.csv", headers={"Authorization": "Bearer guessed"})
        assert guessed.status_code == 401
        keyed = client.get("/export.csv", headers={"Authorization": f"Bearer {key}"})
        assert keyed.status_code == 200
        assert keyed.text.startswith("ticket_id,")
        schema = client.get("/openapi.json").json()["paths"]["/export.csv"]["get"]
        assert "401" in schema["responses"]
        assert "text/csv" in schema["responses"]["200"]["content"]


def test_a_store_that_is_down_is_a_503_not_a_cut_download() -> None:
    unreachable = "postgresql://shop:hunter2@127.0.0.1:1/shop"
    app = create_app(settings_from(DATABASE_URL=unreachable), publisher=FakePublisher())
    with TestClient(app) as client:
        response = client.get("/export.csv")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "hunter2" not in response.text


class TestExport(ExportContract):
    """On JSON and SQLite."""
