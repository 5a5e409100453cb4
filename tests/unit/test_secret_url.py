"""Masking a database URL: every way libpq takes a password, and nothing else touched."""

from __future__ import annotations

import pytest

from shopstream.config import Settings, StoreSettings
from shopstream.secret_url import mask, scrub


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://shop:pw@db:5432/shop", "postgresql://shop:***@db:5432/shop"),
        ("postgres://shop:p%40ss/w@db/shop", "postgres://shop:***@db/shop"),
        ("postgresql://shop:p@ss@db/shop", "postgresql://shop:***@db/shop"),
        ("postgresql://shop@db/shop?password=pw&sslmode=require",
         "postgresql://shop@db/shop?password=***&sslmode=require"),
        ("postgresql://shop@db/shop?sslpassword=pw", "postgresql://shop@db/shop?sslpassword=***"),
        ("host=db password=pw user=shop", "host=db password=*** user=shop"),
        ("postgresql://shop@db/shop", "postgresql://shop@db/shop"),
        ("sqlite:///var/shop.db", "sqlite:///var/shop.db"),
        ("database.json", "database.json"),
    ],
)  # fmt: skip
def test_a_url_is_shown_with_its_password_masked(url: str, shown: str) -> None:
    assert mask(url) == shown
    settings = Settings(store=StoreSettings(database_url=url))
    assert str(settings.store.database_url) == shown
    assert settings.store.database_url.get_secret_value() == url
    for text in (repr(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert shown in text
        assert "pw" not in text.replace("password", "")


def test_scrub_takes_the_password_out_of_any_text() -> None:
    url = "postgresql://shop:p%40ss@db/shop"
    assert scrub(f"bad token p%40ss, p@ss, in {url}", url) == (
        "bad token ***, ***, in postgresql://shop:***@db/shop"
    )
