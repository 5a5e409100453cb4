"""database.json: readable by json.load after every batch, appended, repaired, locked."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from shopstream.analytics import Filters
from shopstream.errors import StoreError, StoreUnavailable
from shopstream.stores import JsonFileStore, jsonview
from shopstream.stores.jsonlines import Line, classify, lines
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
    assert _ids(path) == ["0", "1", "2"]


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


def _store_ten(path: Path) -> None:
    writer = JsonFileStore(path)
    writer.open()
    writer.add([enriched(str(i)) for i in range(10)])
    writer.close()


def _edit_line(path: Path, number: int, edit: Callable[[str], str]) -> None:
    lines = path.read_text().split("\n")
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines))


def test_a_line_re_indented_by_hand_loses_nothing(path: Path) -> None:
    _store_ten(path)
    _edit_line(path, 3, lambda line: "        " + line.replace('":', '": '))
    assert len(json.loads(path.read_text())) == 10  # still a JSON array json.load reads
    store = JsonFileStore(path)
    store.open()
    assert store.count() == 10
    store.add([enriched("10")])
    store.close()
    assert _ids(path) == [str(i) for i in range(11)]


def test_an_odd_line_mid_file_stops_the_worker_naming_it_and_changes_nothing(
    path: Path,
) -> None:
    _store_ten(path)
    _edit_line(path, 4, lambda line: line.replace('"total_price":3.0', '"total_price":"3"'))
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"line 4: not a stored ticket \(total_price"):
        JsonFileStore(path).open()
    assert path.read_bytes() == before
    assert list(path.parent.glob("*.torn-*")) == []


def test_a_day_not_of_the_calendar_is_named_not_read(path: Path) -> None:
    """2024-02-30 matched the date's pattern: the store read the line, the rebuild copied
    it, and export, `rebuild --into` and the figures failed on it with a raw ValueError."""
    _store_ten(path)
    _edit_line(path, 4, lambda line: re.sub(r'"date":"[^"]*"', '"date":"2024-02-30"', line))
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"line 4: not a stored ticket \(date: not a day of"):
        JsonFileStore(path).open()
    assert path.read_bytes() == before


def test_a_last_line_edited_into_a_whole_object_is_named_not_cut_off(path: Path) -> None:
    """A torn write never leaves a whole JSON object: the last ticket, its date made
    2024-02-30 and the array's ] joined to its line, was cut off into a .torn file."""
    _store_ten(path)
    _edit_line(path, 11, lambda line: re.sub(r'"date":"[^"]*"', '"date":"2024-02-30"', line))
    path.write_text(path.read_text().removesuffix("\n]\n") + "]\n")
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"line 11: not a stored ticket \(date: not a day of"):
        JsonFileStore(path).open()
    assert path.read_bytes() == before
    assert list(path.parent.glob("*.torn-*")) == []


def test_a_line_that_is_not_json_mid_file_stops_the_worker(path: Path) -> None:
    _store_ten(path)
    _edit_line(path, 6, lambda line: line[: len(line) // 2])
    before = path.read_bytes()
    with pytest.raises(StoreError, match="line 6"):
        JsonFileStore(path).open()
    assert path.read_bytes() == before


def test_a_ticket_copied_by_hand_stops_the_worker_naming_both_lines(path: Path) -> None:
    _store_ten(path)
    lines = path.read_text().split("\n")
    lines.insert(8, lines[2])  # ticket 1 (line 3) again as line 9
    path.write_text("\n".join(lines))
    with pytest.raises(StoreError, match="ticket 1 is on line 3 and again on line 9"):
        JsonFileStore(path).open()


def test_what_follows_the_closing_bracket_stops_the_worker(path: Path) -> None:
    _store_ten(path)
    path.write_bytes(path.read_bytes() + b'{"note": "added by hand"}\n')
    with pytest.raises(StoreError, match="after the closing"):
        JsonFileStore(path).open()


def test_a_file_replaced_while_open_keeps_every_ticket(store: JsonFileStore, path: Path) -> None:
    store.add([enriched(str(i)) for i in range(5)])
    edited = path.read_text()  # what an editor loaded
    store.add([enriched(str(i)) for i in range(5, 8)])  # stored after the editor loaded it
    replacement = path.with_name("database.json.tmp")
    replacement.write_text(edited.replace('"Brussels"', '"Bruxelles"', 1))
    os.replace(replacement, path)  # the editor saves through a new file and a rename
    with pytest.raises(StoreUnavailable, match="replaced"):
        store.add([enriched("8")])
    assert store.add([enriched("8")]).new == 1
    assert sorted(_ids(path), key=int) == [str(i) for i in range(9)]
    assert json.loads(path.read_text())[0]["store"] == "Bruxelles"  # the edit is kept
    assert store.count() == 9


def test_a_file_deleted_while_open_is_written_again_whole(store: JsonFileStore, path: Path) -> None:
    store.add([enriched(str(i)) for i in range(4)])
    path.unlink()
    with pytest.raises(StoreUnavailable):
        store.add([enriched("4")])
    store.add([enriched("4")])
    assert _ids(path) == [str(i) for i in range(5)]


def test_a_file_cut_in_place_while_open_stops_the_worker(store: JsonFileStore, path: Path) -> None:
    store.add([enriched(str(i)) for i in range(6)])
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:3], *lines[-2:]]).replace("},\n]", "}\n]"))
    with pytest.raises(StoreError, match="gone"):
        store.add([enriched("6")])


def test_a_hole_of_zeros_mid_write_is_cut_with_what_follows_it(path: Path) -> None:
    _write_and_tear(path, 3, b',\n{"id":"3"\x00\x00\x00\x00\n' + enriched("4").to_json() + b"\n]\n")
    store = JsonFileStore(path)
    store.open()
    assert store.count() == 3
    store.close()
    assert _ids(path) == ["0", "1", "2"]


def test_a_reader_answers_an_odd_line_with_a_store_error(path: Path) -> None:
    _store_ten(path)
    _edit_line(path, 5, lambda _: '{"id": "4", "store": "X"},')
    with pytest.raises(StoreError, match="line 5"):
        JsonFileStore(path).tally(Filters())


def test_a_reader_counts_a_copied_line_once(path: Path) -> None:
    _store_ten(path)
    lines = path.read_text().split("\n")
    lines.insert(5, lines[2])
    path.write_text("\n".join(lines))
    reader = JsonFileStore(path)
    assert reader.count() == 10
    assert reader.tally(Filters()).tickets["Brussels"].count == 10


def test_a_reader_reads_each_entry_once_whatever_the_filters(path: Path) -> None:
    _store_ten(path)
    reader = JsonFileStore(path)
    read: list[str] = []
    reader._view.on_entry = lambda entry: read.append(entry["id"])
    for n in range(40):  # more filters than any cache of tallies would keep
        tally = reader.tally(Filters(store=f"store {n % 20}"))
        assert tally.tickets == {}
    assert reader.tally(Filters(store="Brussels")).tickets["Brussels"].count == 10
    assert len(read) == 10


def test_the_same_id_with_another_purchase_is_reported_not_stored(
    store: JsonFileStore, path: Path
) -> None:
    store.add([enriched("1")])
    added = store.add([enriched("1", store="Ghent"), enriched("2")])
    assert (added.new, added.conflicts) == (1, ["1"])
    assert json.loads(path.read_text())[0]["store"] == "Brussels"


def test_a_reader_waits_for_a_line_being_written(path: Path) -> None:
    """The writer's append arrives in pieces: a reader between two must not judge the line."""
    _store_ten(path)
    whole = path.read_bytes()
    end = whole.rindex(b"}") + 1
    line = b",\n" + enriched("10").to_json()
    path.write_bytes(whole[:end] + line[: len(line) // 2])  # half of the next line written
    reader = JsonFileStore(path)
    assert reader.count() == 10
    path.write_bytes(whole[:end] + line + b"\n]\n")  # then the rest
    assert reader.count() == 11
    assert reader.tally(Filters()).tickets["Brussels"].count == 11


def test_a_line_growing_while_it_is_read_is_not_taken_for_two(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a file line by line as it grows, the end of a half-written line comes as
    one more line: the first half must be left for the next look, not judged."""
    _store_ten(path)
    whole = path.read_bytes()
    offset, number = whole.rindex(b"}") + 1, whole.count(b"\n")
    line = b",\n" + enriched("10").to_json() + b"\n]\n"
    halves = [line[:2], line[2:40], line[40:]]  # as three reads of a growing file return

    def growing(file: BinaryIO, start: int, first: int) -> Iterator[Line]:
        yield from lines(file, start, first)
        if start <= offset:
            at, n = offset, number
            for half in halves:
                yield from classify(half, n, at)
                at, n = at + len(half), n + half.count(b"\n")

    path.write_bytes(whole[:offset])
    monkeypatch.setattr(jsonview, "lines", growing)
    reader = JsonFileStore(path)
    assert reader.count() == 10  # the half line is left for later, not an error


@pytest.mark.parametrize("ids", [["t1", "new"], ["new", "new"]], ids=["held", "twice"])
def test_entries_given_as_new_are_refused_whole_if_one_is_not(
    store: JsonFileStore, path: Path, ids: list[str]
) -> None:
    store.add([enriched("t1")])
    before = path.read_bytes()
    with pytest.raises(StoreError, match="holds already, or one twice"):
        store.add_new(ids, [enriched(i).to_json() for i in ids])
    assert path.read_bytes() == before
    assert store.count() == 1
