"""A store of each kind (``store_url``: database.json, SQLite, PostgreSQL) and the manager's
list as a file of the test's own (``categories``), for the tests run on every store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

OLD_LIST = {
    "Fruit": "an apple, banana, orange, pear, kiwi",
    "Bakery": "bread, croissant, baguette, cake",
    "Drink": "water, soda, beer, wine",
}
"""the bundled list, in a file the test may change"""


@pytest.fixture(params=["json", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "json":
        return str(tmp_path / "database.json")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    url: str = request.getfixturevalue("postgres").new_database()
    return url


@pytest.fixture
def categories(tmp_path: Path) -> Path:
    path = tmp_path / "categories.json"
    path.write_text(json.dumps(OLD_LIST))
    return path
