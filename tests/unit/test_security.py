"""API keys, CORS, secrets and errors: what the API lets in and what it lets out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from shopstream.api import create_app
from shopstream.api.security import role
from shopstream.config import ApiSettings, Settings
from shopstream.kafka.config import producer_config
from shopstream.keys import Role, bearer_key
from tests.helpers import Command, settings_from, ticket
from tests.unit.fakes import FakePublisher

KEYS = "first-key-0123456789,second-key-9876543210"


def _client(**environment: object) -> TestClient:
    return TestClient(create_app(settings_from(**environment), publisher=FakePublisher()))


@pytest.fixture
def keyed() -> Iterator[TestClient]:
    with _client(API_KEYS=KEYS) as client:
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_without_keys_configured_everything_is_open() -> None:
    with _client() as client:
        assert client.post("/data", json=ticket("1")).status_code == 202


def test_with_keys_a_write_needs_one(keyed: TestClient) -> None:
    refused = keyed.post("/data", json=ticket("1"))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in refused.json()["detail"]
    assert keyed.post("/data", json=ticket("1"), headers=_bearer("wrong")).status_code == 401
    assert keyed.post("/data/batch", json=[ticket("1")]).status_code == 401
    for key in KEYS.split(","):
        assert keyed.post("/data", json=ticket("1"), headers=_bearer(key)).status_code == 202


def test_a_refused_write_publishes_nothing() -> None:
    publisher = FakePublisher()
    with TestClient(create_app(settings_from(API_KEYS=KEYS), publisher=publisher)) as client:
        client.post("/data", json=ticket("1"), headers=_bearer("nope"))
    assert publisher.published == []


def test_reads_are_open_unless_protected(keyed: TestClient) -> None:
    assert keyed.get("/analytics").status_code == 200
    with _client(API_KEYS=KEYS, API_KEYS_PROTECT_READS=True) as client:
        assert client.get("/analytics").status_code == 401
        assert client.get("/analytics/timeline").status_code == 401
        assert client.get("/analytics", headers=_bearer("first-key-0123456789")).status_code == 200
        assert client.get("/health").status_code == 200  # probes stay open


def test_keys_never_reach_the_logs(keyed: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyed.post("/data", json=ticket("1"), headers=_bearer("first-key-0123456789"))
    keyed.post("/data", json=ticket("1"), headers=_bearer("guessed-key"))
    assert "first-key" not in caplog.text
    assert "guessed-key" not in caplog.text
    assert "first-key" not in repr(settings_from(API_KEYS=KEYS))


def test_no_key_sent_has_no_role() -> None:
    settings = settings_from(API_KEYS=KEYS)
    assert role(settings, None) is Role.NONE


def test_cors_is_closed_unless_configured() -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with _client() as client:
        response = client.options("/data", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    with _client(CORS_ORIGINS="https://shop.example") as client:
        allowed = client.options("/data", headers={**preflight, "Origin": "https://shop.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        denied = client.options("/data", headers=preflight)
        assert "access-control-allow-origin" not in denied.headers


def test_an_unexpected_error_shows_no_trace_or_path() -> None:
    app = create_app(Settings(), publisher=FakePublisher())
    boom = APIRouter()

    @boom.get("/boom")
    def explode() -> None:
        raise RuntimeError("secret internals at /srv/shopstream/secret.py")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; the server log has the details"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_kafka_credentials_are_secret_but_reach_the_client() -> None:
    settings = settings_from(
        KAFKA_BOOTSTRAP_SERVERS="broker:9094",
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME="shop",
        KAFKA_SASL_PASSWORD="s3cr3t-pa55",
    )
    assert "s3cr3t-pa55" not in repr(settings)
    assert "s3cr3t-pa55" not in str(settings.model_dump())
    config = producer_config(settings, "api")
    assert config["sasl.password"] == "s3cr3t-pa55"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["security.protocol"] == "SASL_SSL"


READ_KEY = "read-key-0123456789"
ROLES = {"API_KEYS": KEYS, "API_READ_KEYS": READ_KEY}


def test_a_read_key_reads_but_a_write_with_it_is_403() -> None:
    publisher = FakePublisher()
    with TestClient(create_app(settings_from(**ROLES), publisher=publisher)) as client:
        refused = client.post("/data", json=ticket("1"), headers=_bearer(READ_KEY))
        assert refused.status_code == 403
        assert "may only read" in refused.json()["detail"]
        assert "API_KEYS" in refused.json()["detail"]
        batch = client.post("/data/batch", json=[ticket("1")], headers=_bearer(READ_KEY))
        assert batch.status_code == 403
        for path in ("/analytics", "/analytics/timeline"):
            assert client.get(path, headers=_bearer(READ_KEY)).status_code == 200
            assert client.get(path, headers=_bearer("first-key-0123456789")).status_code == 200
            assert client.get(path).status_code == 401  # read keys set: reads need a key
            assert client.get(path, headers=_bearer("guessed")).status_code == 401
        assert client.post("/data", json=ticket("2"), headers=_bearer("guessed")).status_code == 401
        written = client.post("/data", json=ticket("3"), headers=_bearer("second-key-9876543210"))
        assert written.status_code == 202
        assert client.get("/dashboard").status_code == 200  # the page; its data needs the key
    assert [key for key, _ in publisher.published] == ["3"]


def test_the_schema_says_what_each_route_may_answer() -> None:
    with _client(**ROLES) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert {"401", "403", "408", "413", "415", "422", "503"} <= set(
        paths["/data"]["post"]["responses"]
    )
    assert "401" in paths["/analytics"]["get"]["responses"]


@pytest.mark.parametrize("variable", ["API_KEYS", "API_READ_KEYS"])
@pytest.mark.parametrize("value", [" , ", ",", "", "  "])
def test_a_key_variable_set_to_no_key_stops_the_start(
    variable: str, value: str, command: Command
) -> None:
    result = command("report", **{"API_KEYS": "a-write-key-0123456789", variable: value})
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: invalid settings: {variable}: is set but holds no value")
    assert "a-write-key" not in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"API_READ_KEYS": "r-0123456789"}, "API_READ_KEYS is set but API_KEYS is not"),
        ({"API_KEYS_PROTECT_READS": "true"}, "API_KEYS_PROTECT_READS is true but API_KEYS"),
        ({"API_KEYS": "k-0123456789", "API_READ_KEYS": "r-0123456789,k-0123456789"},
         "a key is in both API_KEYS and API_READ_KEYS"),
    ],
)  # fmt: skip
def test_keys_that_would_leave_a_door_open_stop_the_start(
    env: dict[str, str], named: str, command: Command
) -> None:
    result = command("report", **env)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert named in line
    assert "0123456789" not in result.stderr


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "application/json; charset=latin-1",
        "text/json",
        None,
    ],
)
def test_a_body_not_declared_json_is_415_and_publishes_nothing(content_type: str | None) -> None:
    publisher = FakePublisher()
    body = json.dumps(ticket("1")).encode()
    headers = {"content-type": content_type} if content_type else {}
    with TestClient(create_app(Settings(), publisher=publisher)) as client:
        for path in ("/data", "/data/batch"):
            response = client.post(path, content=body, headers=headers)
            assert response.status_code == 415, (path, content_type)
            assert "Content-Type: application/json" in response.json()["detail"]
    assert publisher.published == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8",
                     'application/json;charset="UTF-8"'],
)  # fmt: skip
def test_json_with_or_without_its_charset_is_accepted(content_type: str) -> None:
    with _client() as client:
        body = json.dumps(ticket("1")).encode()
        response = client.post("/data", content=body, headers={"content-type": content_type})
    assert response.status_code == 202


def test_two_content_types_are_refused() -> None:
    with _client() as client:
        response = client.post(
            "/data",
            content=json.dumps(ticket("1")).encode(),
            headers=[("content-type", "text/plain"), ("content-type", "application/json")],
        )
    assert response.status_code == 415


def test_a_cross_site_simple_request_cannot_post_a_ticket() -> None:
    """What a page on another site can send without a preflight: refused, whatever CORS says."""
    publisher = FakePublisher()
    settings = Settings(api=ApiSettings(cors_origins="https://shop.example"))
    with TestClient(create_app(settings, publisher=publisher)) as client:
        response = client.post(
            "/data",
            content=json.dumps(ticket("1")),
            headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        )
        assert response.status_code == 415
        assert "access-control-allow-origin" not in response.headers
    assert publisher.published == []


def test_only_allowed_host_names_are_answered() -> None:
    with _client(API_ALLOWED_HOSTS="shop.example, *.shop.example") as client:
        rebound = client.get("/analytics", headers={"Host": "evil.example"})
        assert rebound.status_code == 400
        assert "content-security-policy" in rebound.headers
        for host in ("shop.example", "shop.example:8000", "api.shop.example"):
            assert client.get("/analytics", headers={"Host": host}).status_code == 200
    with _client() as client:  # unset: any
        assert client.get("/analytics", headers={"Host": "evil.example"}).status_code == 200


def test_the_worker_reads_a_key_as_the_api_does() -> None:
    read = {
        header: bearer_key(header)
        for header in ("Bearer k1", "bearer  k1 ", "Basic k1", "Bearer", "Bearer ", None)
    }
    assert read == {"Bearer k1": "k1", "bearer  k1 ": "k1"} | dict.fromkeys(
        ("Basic k1", "Bearer", "Bearer ", None)
    )
