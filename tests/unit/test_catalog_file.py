"""A running worker or API follows CATEGORIES_FILE: changed lists taken whole, broken ones not."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from shopstream import catalogfile
from shopstream.catalog import Catalog
from shopstream.catalogfile import CatalogFile
from shopstream.errors import ConfigurationError

DRINKS = {"Fruit": "apple", "Drink": "water"}
WITH_MILK = {"Fruit": "apple", "Drink": "water, milk"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "categories.json"
    path.write_text(json.dumps(DRINKS))
    return path


@pytest.fixture(autouse=True)
def _settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken list is judged at once (the settling delay has a test of its own)."""
    monkeypatch.setattr(catalogfile, "SETTLE_S", 0.0)


def _write(path: Path, content: str) -> None:
    """Write in place, as an editor may, with a modification time a look can tell apart."""
    before = path.stat().st_mtime_ns
    path.write_text(content)
    os.utime(path, ns=(before - 10**9, before - 10**9))


def test_a_changed_list_is_taken_at_the_next_look(path: Path) -> None:
    categories = CatalogFile(path)
    assert categories.current().category_of("milk") == "Other"
    _write(path, json.dumps(WITH_MILK))
    assert categories.current().category_of("milk") == "Drink"
    assert categories.current().version.hash == Catalog.load(path).version.hash


def test_an_unchanged_file_is_not_read_again(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    categories = CatalogFile(path)
    first = categories.current()
    monkeypatch.setattr(Path, "read_bytes", lambda _: pytest.fail("read again"))
    assert categories.current() is first


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"Fruit": "apple", "Drink": "wat', "cannot read the category list"),
        ('["apple"]', "must be a JSON object"),
        ('{"Fruit": "apple", "Drink": "apple"}', "listed under both"),
    ],
)
def test_a_broken_list_is_logged_once_and_the_previous_kept(
    path: Path, caplog: pytest.LogCaptureFixture, content: str, reason: str
) -> None:
    categories = CatalogFile(path)
    kept = categories.current()
    _write(path, content)
    with caplog.at_level(logging.ERROR, logger="shopstream.catalogfile"):
        for _ in range(5):
            assert categories.current() is kept
    [record] = caplog.records
    assert reason in record.getMessage()
    assert f"keeping version {kept.version.hash}" in record.getMessage()
    _write(path, json.dumps(WITH_MILK))  # mended: taken, and nothing more logged
    assert categories.current().category_of("milk") == "Drink"
    assert len(caplog.records) == 1


def test_a_file_removed_keeps_the_list_and_says_so_once(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    categories = CatalogFile(path)
    kept = categories.current()
    path.unlink()
    with caplog.at_level(logging.ERROR, logger="shopstream.catalogfile"):
        assert categories.current() is kept
        assert categories.current() is kept
    assert len(caplog.records) == 1
    assert "No such file" in caplog.records[0].getMessage()


def test_a_file_that_changes_while_it_is_read_is_read_again_later(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Never a half-read list: the bytes read must be the file as it stood throughout."""
    categories = CatalogFile(path)
    kept = categories.current()
    _write(path, json.dumps(WITH_MILK))
    real_read = Path.read_bytes

    def read_while_written(self: Path) -> bytes:
        data = real_read(self)
        with self.open("a") as more:  # the writer goes on meanwhile
            more.write(" ")
        return data

    monkeypatch.setattr(Path, "read_bytes", read_while_written)
    with caplog.at_level(logging.ERROR):
        assert categories.current() is kept
    assert caplog.records == []
    monkeypatch.setattr(Path, "read_bytes", real_read)
    assert categories.current().category_of("milk") == "Drink"


def test_a_list_being_written_is_given_time_before_it_is_judged(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(catalogfile, "SETTLE_S", 3600.0)
    categories = CatalogFile(path)
    kept = categories.current()
    path.write_text('{"Fruit": ')  # just now: an editor still writing
    with caplog.at_level(logging.ERROR):
        assert categories.current() is kept
    assert caplog.records == []
    path.write_text(json.dumps(WITH_MILK))
    assert categories.current().category_of("milk") == "Drink"


def test_reload_reads_a_file_whose_change_does_not_show(path: Path) -> None:
    """SIGHUP: an edit that kept the size and the modification time is still taken."""
    categories = CatalogFile(path)
    assert categories.current().category_of("apple") == "Fruit"
    stat = path.stat()
    path.write_text(json.dumps(DRINKS).replace("apple", "pearl"))  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert categories.current().category_of("apple") == "Fruit"
    categories.reload()
    assert categories.current().category_of("pearl") == "Fruit"


def test_a_broken_list_at_start_is_a_configuration_error(path: Path) -> None:
    path.write_text("{")
    with pytest.raises(ConfigurationError):
        CatalogFile(path)


def test_without_a_file_the_bundled_list_is_in_force() -> None:
    assert CatalogFile(None).current().version.hash == Catalog.load().version.hash
