"""The manager's category list: load it, normalise its names, look a product up.

The list comes in her own format, a category mapped to a comma-separated sentence of
product names (``{"Fruit": "an apple, banana, orange, pear, kiwi"}``). Names are matched
ignoring case and surrounding whitespace, and a leading article is not part of a name:
her "an apple" is the product "Apple".

Each list has a version: a hash of what it says (which name goes to which category, and
the categories), not of how the file is written, so that re-indenting it is no new list.
The stores record it on every ticket, and the figures say which versions they count.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shopstream.errors import ConfigurationError

UNCATEGORISED = "Other"
UNVERSIONED = "unversioned"
"""the catalog version of a ticket stored before tickets recorded theirs"""
_VERSION_DIGITS = 12
_ARTICLES = ("a ", "an ", "the ")
_SEEN_MAX = 100_000  # names remembered as sent; past it the memory starts again


def normalise(name: str) -> str:
    """The form two product names are compared in."""
    key = " ".join(name.split()).casefold()
    for article in _ARTICLES:
        if key.startswith(article):
            return key.removeprefix(article)
    return key


class CatalogVersion(BaseModel):
    """Which list: its content hash, and when this process loaded it."""

    model_config = ConfigDict(frozen=True)

    hash: str = Field(description="Hash of what the list says (names and categories)")
    loaded_at: datetime.datetime = Field(description="When this process loaded it (UTC)")


def _content_hash(category_by_name: Mapping[str, str], categories: tuple[str, ...]) -> str:
    canonical = orjson.dumps([list(categories), sorted(category_by_name.items())])
    return hashlib.sha256(canonical).hexdigest()[:_VERSION_DIGITS]


class Catalog:
    """Maps a product name to its category; unknown products are ``Other``, never dropped."""

    def __init__(self, names_by_category: Mapping[str, list[str]]) -> None:
        self._category_by_name: dict[str, str] = {}
        for category, names in names_by_category.items():
            for name in names:
                key = normalise(name)
                known = self._category_by_name.setdefault(key, category)
                if known != category:
                    raise ConfigurationError(
                        f"product {name!r} is listed under both {known!r} and {category!r}; "
                        "keep it in one category"
                    )
        self.categories: tuple[str, ...] = (*names_by_category, UNCATEGORISED)
        self.version = CatalogVersion(
            hash=_content_hash(self._category_by_name, self.categories),
            loaded_at=datetime.datetime.now(datetime.UTC),
        )
        self._seen: dict[str, str] = {}  # product name as sent -> category

    def current(self) -> Catalog:
        """Itself: a list read once is its own source (``CatalogFile`` follows a file)."""
        return self

    def category_of(self, product_name: str) -> str:
        # A chain sells a bounded set of names, so most lookups skip normalising.
        category = self._seen.get(product_name)
        if category is None:
            category = self._category_by_name.get(normalise(product_name), UNCATEGORISED)
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            self._seen[product_name] = category
        return category

    @classmethod
    def from_manager_list(cls, raw: Mapping[str, object]) -> Catalog:
        """Build from ``{"Fruit": "apple, banana"}`` (a list of names is accepted too)."""
        names_by_category: dict[str, list[str]] = {}
        for category, names in raw.items():
            if isinstance(names, str):
                listed = names.split(",")
            elif isinstance(names, list) and all(isinstance(n, str) for n in names):
                listed = list(names)
            else:
                raise ConfigurationError(
                    f"category {category!r} must map to a comma-separated string of names"
                )
            names_by_category[category] = [n for n in listed if n.strip()]
        return cls(names_by_category)

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Read the list from ``path``, or the bundled ``categories.json`` when it is None."""
        try:
            if path is None:
                data = resources.files("shopstream").joinpath("categories.json").read_bytes()
            else:
                data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the category list {path}: {exc}") from exc
        return cls.parse(data, path)

    @classmethod
    def parse(cls, data: bytes, path: Path | None = None) -> Catalog:
        """The list in ``data``, the content of ``path`` (named in errors)."""
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"cannot read the category list {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigurationError(
                f"the category list {path} must be a JSON object of category -> names"
            )
        return cls.from_manager_list(raw)
