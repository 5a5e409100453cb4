"""Logs: JSON lines when asked, an access log without secrets, the worker's progress line."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from shopstream.logs import describe_access, formatter, masked_query
from shopstream.progress import Progress


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("shopstream.worker", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_is_one_object_with_its_fields() -> None:
    line = formatter("json").format(_record("stored %d", 7, stored=7, lag=0))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "stored 7"
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == "shopstream.worker"
    assert parsed["stored"] == 7
    assert parsed["lag"] == 0
    assert parsed["time"].endswith("+00:00")


def test_a_traceback_stays_in_the_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    parsed = json.loads(formatter("json").format(record))
    assert "ValueError: boom" in parsed["exc_info"]


def test_text_lines_are_for_people() -> None:
    line = formatter("text").format(_record("stored %d", 7))
    assert line.endswith(" INFO    shopstream.worker: stored 7")


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/analytics?store=Gent", "/analytics?store=Gent"),
        ("/data?api_key=s3cret", "/data?api_key=***"),
        ("/analytics?store=Gent&token=s3cret&x=1", "/analytics?store=Gent&token=***&x=1"),
        ("/a?Authorization=Bearer%20s3cret", "/a?Authorization=***"),
        ("/a?password=s3cret#frag", "/a?password=***#frag"),
        ("/a?access_key_id=s3cret&secret=s3cret", "/a?access_key_id=***&secret=***"),
    ],
)
def test_a_query_parameter_named_like_a_secret_is_masked(path: str, shown: str) -> None:
    assert masked_query(path) == shown


def test_an_access_record_is_masked_and_described() -> None:
    record = _record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/x?key=k1", "1.1", 200)
    assert describe_access(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /x?key=*** HTTP/1.1" 200'
    fields = record.__dict__
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/x?key=***", 200)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_line_says_stored_rate_lag_and_dead_letters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = _Clock()
    lags = iter([{0: 0, 1: 0}, {0: 3, 1: 0}, {0: 3, 1: 0}, {0: 0, 1: 0}, {0: 0, 1: 0}])
    measured: list[dict[int, int]] = []
    progress = Progress(5.0, lambda: next(lags), measured.append, clock)
    progress.tick(0, 0)  # measures at once; says nothing: nothing moved, nothing to read
    clock.now += 1
    progress.tick(50, 0)  # within the interval: nothing
    clock.now += 4
    progress.tick(100, 2)
    clock.now += 5
    progress.tick(100, 2)  # nothing moved, the lag is what was said: silent
    clock.now += 5
    progress.tick(100, 2)  # the worker committed: the lag is back to 0
    clock.now += 5
    progress.tick(100, 2)  # idle: silent
    assert [r.getMessage() for r in caplog.records] == [
        "progress: 100 stored (+100, 20/s), lag 3, 2 dead letters",
        "progress: 100 stored (+0, 0/s), lag 0, 2 dead letters",
    ]
    assert len(measured) == 5
    first = caplog.records[0].__dict__
    assert (first["stored"], first["rate"], first["lag"], first["dead_letters"]) == (100, 20, 3, 2)


def test_a_backlog_at_the_start_is_said(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    Progress(5.0, lambda: {0: 700, 1: 300}, clock=_Clock()).tick(0, 0)
    assert (
        caplog.records[0].getMessage() == "progress: 0 stored (+0, 0/s), lag 1000, 0 dead letters"
    )


def test_a_lag_kafka_does_not_give_is_unknown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = _Clock()
    progress = Progress(5.0, lambda: None, clock=clock)
    progress.tick(0, 0)
    clock.now += 5
    progress.tick(10, 0)
    assert [r.getMessage() for r in caplog.records] == [
        "progress: 0 stored (+0, 0/s), lag unknown, 0 dead letters",
        "progress: 10 stored (+10, 2/s), lag unknown, 0 dead letters",
    ]
