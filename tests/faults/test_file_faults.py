"""database.json under a person's hands and a worker's crashes, under continuous load.

Each scenario ends with the usual verdict: every acknowledged ticket stored, none twice.
"""

from __future__ import annotations

import json
import os
import signal
from functools import partial
from pathlib import Path

import pytest

from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from tests.faults.harness import Scenario, finish, let_some_through, load_on

pytestmark = pytest.mark.faults


def _database(pipeline: Pipeline) -> Path:
    return Path(pipeline.env["DATABASE_URL"])


def _adopted(pipeline: Pipeline, times: int) -> bool:
    logs = "".join(p.read_text(errors="replace") for p in pipeline.workdir.glob("worker-*.log"))
    return logs.count("was replaced while the worker wrote it (") >= times


def _edit_line(path: Path, number: int, edit: str) -> str:
    """Replace line ``number`` (from 1) as an editor would, in place; return the old line."""
    lines = path.read_bytes().split(b"\n")
    old = lines[number - 1].decode()
    lines[number - 1] = edit.encode()
    path.write_bytes(b"\n".join(lines))
    return old


def test_an_odd_line_mid_file(make_pipeline: MakePipeline, record: list[Scenario]) -> None:
    """A line re-indented by hand is read as it is; a broken one stops the worker, naming it.

    The worker is stopped for each edit (an editor writing in place under a running
    worker races it), as a person would do it.
    """
    pipeline = make_pipeline()
    pipeline.start_api()
    worker = pipeline.start_worker()
    load = load_on(pipeline)
    let_some_through(pipeline.store, 300, 500)
    path = _database(pipeline)

    worker.terminate()
    assert worker.wait(30) == 0
    old = _edit_line(path, 5, "")
    _edit_line(path, 5, "      " + old.replace('":', '": '))  # re-indented, still valid JSON
    assert json.loads(path.read_text())  # json.load still reads it
    worker = pipeline.start_worker()
    let_some_through(pipeline.store)

    worker.terminate()
    assert worker.wait(30) == 0
    good = _edit_line(path, 9, '{"id": "half a ticket", "sto')
    before = path.read_bytes()
    refused = pipeline.start_worker()
    assert refused.wait(60) == 1
    assert "line 9: not a stored ticket" in pipeline.logs()
    assert path.read_bytes() == before  # nothing cut, nothing changed
    _edit_line(path, 9, good)  # the person puts it right
    pipeline.start_worker()
    let_some_through(pipeline.store)
    finish("odd line mid-file", 2, load, pipeline, record)


def test_the_file_replaced_by_rename(make_pipeline: MakePipeline, record: list[Scenario]) -> None:
    """An editor saves through a new file and a rename while the worker writes on."""
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    load = load_on(pipeline)
    path = _database(pipeline)
    for edit in range(3):
        let_some_through(pipeline.store, 300, 600)
        loaded = path.read_bytes()  # the editor loads the file...
        let_some_through(pipeline.store, 50, 100)  # ...the worker stores more meanwhile...
        saved = path.with_name(f"{path.name}.swp")
        saved.write_bytes(loaded.replace(b'"Brussels"', b'"Bruxelles"', 1))
        os.replace(saved, path)  # ...and the editor saves its copy over it
        wait_for(partial(_adopted, pipeline, edit + 1), 60, "the worker to adopt the new file")
    let_some_through(pipeline.store)
    finish("file replaced by rename", 3, load, pipeline, record)
    assert json.loads(path.read_text())[0]["store"] == "Bruxelles"  # the edit is kept


@pytest.mark.parametrize("crash_at", ["before-fsync", "mid-write"])
def test_a_crash_while_writing(
    make_pipeline: MakePipeline, record: list[Scenario], crash_at: str
) -> None:
    """The worker dies with its append written but not fsynced, or half written."""
    pipeline = make_pipeline(WORKER_BATCH_SIZE="100", CRASH_AT=crash_at, CRASH_P="0.2")
    pipeline.start_api()
    load = load_on(pipeline)
    for _ in range(4):
        crashing = pipeline.spawn(module="tests.faults.crashing_worker")
        assert crashing.wait(120) == -signal.SIGKILL
    pipeline.start_worker()
    let_some_through(pipeline.store)
    finish(f"crash {crash_at.replace('-', ' ')}", 4, load, pipeline, record)
    if crash_at == "mid-write":
        assert list(_database(pipeline).parent.glob("database.json.torn-*"))
