"""A running pipeline follows CATEGORIES_FILE: on each store, with a real broker."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx2
import pytest

from shopstream.catalog import Catalog
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from tests.helpers import ticket
from tests.plugins.stores import OLD_LIST

pytestmark = pytest.mark.integration

BUNDLED = Catalog.load()
WITH_MILK = {**OLD_LIST, "Drink": "water, soda, beer, wine, milk"}
MILK = [{"id": "m", "name": "Milk", "price": 1.2}, {"id": "b", "name": "Banana", "price": 0.5}]


def _running(make_pipeline: MakePipeline, store_url: str, categories: Path) -> Pipeline:
    pipeline = make_pipeline(store_url, CATEGORIES_FILE=str(categories))
    pipeline.start_api()
    pipeline.start_worker()
    return pipeline


def _stored_milk(pipeline: Pipeline, ticket_id: str) -> tuple[str, str]:
    """Post a ticket with milk; once stored, its milk's category and its list's version."""
    response = httpx2.post(f"{pipeline.url}/data", json=ticket(ticket_id, products=MILK))
    assert response.status_code == 202
    pipeline.wait_stored([ticket_id])
    [stored] = [t for t in pipeline.store.tickets() if t.id == ticket_id]
    return stored.products[0].category, stored.catalog_version


def _analytics(pipeline: Pipeline) -> dict[str, Any]:
    figures: dict[str, Any] = httpx2.get(f"{pipeline.url}/analytics", timeout=10).json()
    return figures


def _milk_stored_under_the_old_list(
    make_pipeline: MakePipeline, store_url: str, categories: Path, ticket_id: str
) -> tuple[Pipeline, str]:
    """A running pipeline that stored a ticket with milk as Other; the list's version."""
    pipeline = _running(make_pipeline, store_url, categories)
    old = Catalog.load(categories).version.hash
    assert _stored_milk(pipeline, ticket_id) == ("Other", old)
    return pipeline, old


def _replace(path: Path, content: dict[str, str]) -> None:
    """Save as an editor does: a new file renamed over the old one."""
    new = path.with_name(f"{path.name}.new")
    new.write_text(json.dumps(content))
    os.replace(new, path)


def test_a_list_changed_under_a_running_pipeline_is_used_for_new_tickets(
    make_pipeline: MakePipeline, store_url: str, categories: Path
) -> None:
    pipeline, old = _milk_stored_under_the_old_list(make_pipeline, store_url, categories, "before")

    _replace(categories, WITH_MILK)
    new = Catalog.load(categories).version.hash
    assert _stored_milk(pipeline, "after") == ("Drink", new)  # no restart

    figures = _analytics(pipeline)
    assert figures["catalog"]["hash"] == new  # the API follows the file too
    assert figures["catalog_versions"] == {old: 1, new: 1}  # a mixed store says so
    assert f"category list {categories} reloaded: version {new} (was {old})" in pipeline.logs()


def test_an_invalid_new_list_is_logged_once_and_the_old_one_kept(
    make_pipeline: MakePipeline, store_url: str, categories: Path
) -> None:
    pipeline, old = _milk_stored_under_the_old_list(make_pipeline, store_url, categories, "first")

    categories.write_text('{"Fruit": "banana", "Drink": "milk, banana"}')  # banana twice
    refused = "was not reloaded, keeping version"
    wait_for(lambda: refused in pipeline.logs(), 30, "the worker to refuse the list")
    for n in range(3):  # the worker goes on, with the old list
        assert _stored_milk(pipeline, f"during-{n}") == ("Other", old)
    worker_log = "\n".join(path.read_text() for path in pipeline.workdir.glob("worker-*.log"))
    assert worker_log.count(refused) == 1
    assert "listed under both 'Fruit' and 'Drink'" in worker_log
    assert pipeline.roles["worker"].poll() is None

    _replace(categories, WITH_MILK)  # mended: taken at once
    assert _stored_milk(pipeline, "mended")[0] == "Drink"


def _whole_logs(pipeline: Pipeline) -> str:
    """Every log of the pipeline, whole: ``logs()`` keeps only each one's tail, for failures."""
    return "".join(path.read_text(errors="replace") for path in pipeline.workdir.glob("*.log"))


def test_sighup_makes_the_workers_read_the_list_whatever_it_looks_like(
    make_pipeline: MakePipeline, tmp_path: Path, categories: Path
) -> None:
    """Two workers under one supervisor: the supervisor passes SIGHUP on, and lives on."""
    pipeline = make_pipeline(
        f"sqlite:///{tmp_path / 'shop.db'}", CATEGORIES_FILE=str(categories), KAFKA_PARTITIONS="2"
    )
    pipeline.start_api()
    supervisor = pipeline.spawn("worker", "--processes", "2")
    assert _stored_milk(pipeline, "before")[0] == "Other"

    # An edit that keeps the file's size and modification time: a look at it sees nothing.
    stat = categories.stat()
    categories.write_text(json.dumps(OLD_LIST).replace("wine", "milk"))
    assert categories.stat().st_size == stat.st_size
    os.utime(categories, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    ids = [f"unseen-{n}" for n in range(4)]  # on both partitions
    assert all(_stored_milk(pipeline, i)[0] == "Other" for i in ids)

    # A worker that has not yet set its handler would die of the signal, not reload.
    wait_for(lambda: _whole_logs(pipeline).count("worker consuming") >= 2, 60, "both workers up")
    supervisor.send_signal(signal.SIGHUP)
    wait_for(lambda: _whole_logs(pipeline).count("reloaded: version") >= 2, 30, "both reloads")
    assert all(_stored_milk(pipeline, f"seen-{n}")[0] == "Drink" for n in range(4))
    assert supervisor.poll() is None
