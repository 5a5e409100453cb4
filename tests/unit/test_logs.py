"""Logs: JSON lines when asked, an access log without secrets."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from shopstream.logs import describe_access, formatter, masked_query


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
