"""database.json: readable by json.load after every batch, appended, repaired, locked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstream.errors import StoreError
from shopstream.stores import JsonFileStore
from tests.unit.storedata import enriched


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "database.json"


@pytest.fixture
def store(path: Path) -> Iterator[JsonFileStore]:
    opened = JsonFileStore(path)
    opened.open()
    yield opened
    opened.close()


def _ids(path: Path) -> list[str]:
    return [t["id"] for t in json.loads(path.read_text())]


def test_a_new_file_is_an_empty_json_array(store: JsonFileStore, path: Path) -> None:
    assert json.loads(path.read_text()) == []


def test_json_load_reads_the_file_after_every_batch(store: JsonFileStore, path: Path) -> None:
    for batch in range(5):
        store.add([enriched(f"{batch}-{i}") for i in range(batch + 1)])
        assert len(_ids(path)) == sum(range(1, batch + 2))
    first = json.loads(path.read_text())[0]
    assert first == json.loads(enriched("0-0").to_json())


def test_appending_leaves_every_stored_byte_in_place(store: JsonFileStore, path: Path) -> None:
    store.add([enriched(str(i)) for i in range(50)])
    before = path.read_bytes()
    store.add([enriched("new")])
    after = path.read_bytes()
    kept = len(before) - len(b"\n]\n")
    assert after[:kept] == before[:kept]
    assert _ids(path)[-1] == "new"


def test_an_empty_array_made_by_hand_is_accepted(path: Path) -> None:
    path.write_text("[]")
    store = JsonFileStore(path)
    store.open()
    store.add([enriched("1")])
    store.close()
    assert _ids(path) == ["1"]


def _write_and_tear(path: Path, count: int, torn_tail: bytes) -> bytes:
    store = JsonFileStore(path)
    store.open()
    store.add([enriched(str(i)) for i in range(count)])
    store.close()
    whole = path.read_bytes()
    body = whole[: -len(b"\n]\n")] if count else whole[: len(b"[\n")]
    path.write_bytes(body + torn_tail)
    return torn_tail


@pytest.mark.parametrize(
    "torn_tail",
    [
        b',\n{"id":"99","store":"Bru',  # the next entry half written
        b",]\n",  # the separator over the old closing bracket
        b",\n",  # separator only
        b"",  # closing bracket lost
        b"\n]",  # final newline lost
        b",\n\x00\x00\x00\x00",  # a hole of zeros after a power cut
    ],
)
def test_a_torn_write_is_repaired_without_losing_a_stored_ticket(
    path: Path, torn_tail: bytes
) -> None:
    _write_and_tear(path, 10, torn_tail)
    store = JsonFileStore(path)
    store.open()
    assert store.count() == 10
    assert _ids(path) == [str(i) for i in range(10)]
    store.add([enriched("10")])
    store.close()
    assert _ids(path) == [str(i) for i in range(11)]


def test_a_torn_first_write_is_repaired_to_an_empty_array(path: Path) -> None:
    _write_and_tear(path, 0, b'{"id":"0","sto')
    store = JsonFileStore(path)
    store.open()
    store.close()
    assert _ids(path) == []


def test_the_cut_bytes_are_kept_beside_the_file(path: Path) -> None:
    _write_and_tear(path, 3, b',\n{"id":"3","store":"Bru')
    store = JsonFileStore(path)
    store.open()
    store.close()
    [aside] = path.parent.glob("database.json.torn-*")
    assert aside.read_bytes() == b',\n{"id":"3","store":"Bru'


def test_a_reader_ignores_a_torn_tail(path: Path) -> None:
    _write_and_tear(path, 4, b',\n{"id":"4","sto')
    assert JsonFileStore(path).count() == 4


def test_a_file_in_another_layout_is_left_alone(path: Path) -> None:
    original = json.dumps([json.loads(enriched("1").to_json())], indent=4)
    path.write_text(original)
    with pytest.raises(StoreError, match="move it aside"):
        JsonFileStore(path).open()
    assert path.read_text() == original


def test_only_one_writer_at_a_time(store: JsonFileStore, path: Path) -> None:
    with pytest.raises(StoreError, match="another worker"):
        JsonFileStore(path).open()
