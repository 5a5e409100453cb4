"""How a worker starts when its store cannot be opened: wait if it may mend, else stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopstream.catalog import Catalog
from shopstream.config import Settings, StoreSettings
from shopstream.errors import StoreError, StoreUnavailable
from shopstream.stores import JsonFileStore, open_store
from shopstream.worker import Worker
from tests.unit.fakes import FakeConsumer, FakeDeadLetters


def test_a_store_held_by_another_worker_stops_this_one_at_once(tmp_path: Path) -> None:
    path = tmp_path / "database.json"
    holder = JsonFileStore(path)
    holder.open()
    settings = Settings(store=StoreSettings(database_url=str(path)))
    worker = Worker(
        settings,
        open_store(settings.store.database_url.get_secret_value()),
        Catalog.load(),
        FakeConsumer(),
        FakeDeadLetters(),
    )
    with pytest.raises(StoreError, match="another worker"):
        worker.run()
    holder.close()


class _Restarting(JsonFileStore):
    """A store whose database is unreachable for the first attempts."""

    attempts = 0

    def open(self) -> None:
        self.attempts += 1
        raise StoreUnavailable("cannot reach PostgreSQL: connection refused")


def test_an_unreachable_database_is_waited_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _Restarting(tmp_path / "database.json")
    worker = Worker(
        Settings(store=StoreSettings(database_url=str(store.path))),
        store,
        Catalog.load(),
        FakeConsumer(),
        FakeDeadLetters(),
    )

    def give_up_after_three(*_: object) -> None:
        if store.attempts >= 3:
            worker.stop()

    monkeypatch.setattr(worker, "_pause", give_up_after_three)
    worker.run()
    assert store.attempts == 3
    assert caplog.text.count("cannot reach PostgreSQL: connection refused; retrying") == 3
