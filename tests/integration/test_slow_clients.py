"""Slow or greedy clients against a real ``shopstream api`` (uvicorn), over raw sockets."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx2
import pytest

from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from tests.helpers import ticket

pytestmark = pytest.mark.integration

BODY_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 8


@pytest.fixture(scope="module")
def api(make_module_pipeline: MakePipeline) -> Pipeline:
    pipeline = make_module_pipeline(
        REQUEST_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S), API_MAX_CONNECTIONS=str(MAX_CONNECTIONS)
    )
    pipeline.start_api()
    return pipeline


def _connect(api: Pipeline) -> socket.socket:
    return socket.create_connection(("127.0.0.1", api.api_port), timeout=10)


def _start_post(api: Pipeline) -> tuple[socket.socket, bytes]:
    """A POST /data whose headers and first 10 bytes are sent; the rest is returned."""
    body = json.dumps(ticket("slow")).encode()
    head = (
        f"POST /data HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    client = _connect(api)
    client.sendall(head + body[:10])
    return client, body[10:]


def _until_closed(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (10 s at most)."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def test_a_body_never_finished_is_answered_408_and_the_connection_closed(api: Pipeline) -> None:
    client, _ = _start_post(api)
    began = time.monotonic()
    with client:
        # Before REQUEST_BODY_TIMEOUT_S this waited for ever: recv times out, the test fails.
        answer = _until_closed(client)
    took = time.monotonic() - began
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"did not arrive within 1 s" in answer
    assert b"connection: close" in answer.lower()
    assert BODY_TIMEOUT_S * 0.9 <= took < BODY_TIMEOUT_S + 5


def test_a_body_trickling_in_is_cut_off_at_the_deadline_too(api: Pipeline) -> None:
    """The deadline is for the whole body, not between bytes: a byte every 0.2 s is no escape."""
    client, rest = _start_post(api)
    began = time.monotonic()
    client.settimeout(0.2)
    answer = b""
    with client:
        for byte in rest:
            try:
                answer = client.recv(65536)
                break
            except TimeoutError:
                client.send(bytes([byte]))
    took = time.monotonic() - began
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert took < BODY_TIMEOUT_S + 5


def test_past_the_connection_limit_new_clients_get_503_until_others_leave(api: Pipeline) -> None:
    idle = [_connect(api) for _ in range(MAX_CONNECTIONS)]
    try:
        # uvicorn counts a connection once accepted: wait until it has seen all of them.
        wait_for(lambda: _health(api) == 503, 10, "the API to refuse past the limit")
    finally:
        for connection in idle:
            connection.close()
    wait_for(lambda: _health(api) == 200, 10, "the API to answer again")


def _health(api: Pipeline) -> int:
    return httpx2.get(f"{api.url}/health", timeout=10).status_code


@pytest.fixture(autouse=True)
def _api_still_answers(api: Pipeline) -> Iterator[None]:
    yield
    assert wait_for(lambda: _health(api) == 200, 10, "the API to answer after the test")
