"""The database password never reaches a log, an error, a ``repr`` or the terminal."""

from __future__ import annotations

import pytest

from shopstream.config import Settings, StoreSettings
from shopstream.errors import ConfigurationError
from shopstream.stores import open_store
from testbed.ports import free_port

PASSWORD = "S3cret-Pa55word"  # noqa: S105 - a test's own


def _unreachable(password: str = PASSWORD) -> str:
    return f"postgresql://shop:{password}@127.0.0.1:{free_port()}/shop"


def mask(url: str) -> str:
    """How ``url`` (one of the above) must be shown."""
    return url.replace(f":{PASSWORD}@", ":***@")


def test_the_settings_repr_and_dump_mask_the_password() -> None:
    url = _unreachable()
    settings = Settings(store=StoreSettings(database_url=url))
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert mask(url) in text
        assert PASSWORD not in text


@pytest.mark.parametrize(
    "password",
    [
        "Hunter%zz2pw",  # libpq: invalid percent-encoded token: "Hunter%zz2pw"
        "Hunter 2pw",  # libpq: unexpected spaces found in "Hunter 2pw"
    ],
)
def test_a_url_psycopg_cannot_parse_is_refused_without_echoing_the_password(
    password: str,
) -> None:
    store = open_store(_unreachable(password))
    with pytest.raises(ConfigurationError) as refused:
        store.open()
    assert "Hunter" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert "DATABASE_URL" in str(refused.value)


def test_an_unknown_url_is_refused_with_the_password_masked() -> None:
    with pytest.raises(ConfigurationError) as refused:
        open_store(f"mysql://shop:{PASSWORD}@db/shop")
    assert "mysql://shop:***@db/shop" in str(refused.value)
    assert PASSWORD not in str(refused.value)
