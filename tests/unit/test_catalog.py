"""The manager's list: her format, case and whitespace, articles, unknown products."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopstream.catalog import UNCATEGORISED, Catalog, normalise
from shopstream.errors import ConfigurationError


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Banana", "Fruit"),
        ("BANANA", "Fruit"),
        ("  kiwi ", "Fruit"),
        ("Apple", "Fruit"),
        ("an apple", "Fruit"),
        ("Bread", "Bakery"),
        ("Croissant", "Bakery"),
        ("Water", "Drink"),
        ("Wine", "Drink"),
    ],
)
def test_names_match_whatever_their_case(catalog: Catalog, name: str, category: str) -> None:
    assert catalog.category_of(name) == category


def test_an_unknown_product_is_other(catalog: Catalog) -> None:
    assert catalog.category_of("Chocolate") == UNCATEGORISED
    assert catalog.category_of("Bananas") == UNCATEGORISED


def test_the_bundled_list_is_the_managers(catalog: Catalog) -> None:
    assert catalog.categories == ("Fruit", "Bakery", "Drink", "Other")


def test_normalise_folds_case_spaces_and_articles() -> None:
    assert normalise("  The   Big  Cake ") == "big cake"
    assert normalise("Anchovy") == "anchovy"  # "an" only as a whole word


def test_a_list_from_a_file_replaces_the_bundled_one(tmp_path: Path) -> None:
    path = tmp_path / "categories.json"
    path.write_text(json.dumps({"Dairy": "milk, a cheese", "Fruit": ["Banana"]}))
    catalog = Catalog.load(path)
    assert catalog.category_of("Cheese") == "Dairy"
    assert catalog.category_of("banana") == "Fruit"
    assert catalog.category_of("Bread") == UNCATEGORISED


def test_a_name_in_two_categories_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="both"):
        Catalog.from_manager_list({"Fruit": "apple", "Drink": "An Apple"})


@pytest.mark.parametrize("content", ["[1, 2]", "{not json", '{"Fruit": 3}'])
def test_a_malformed_list_says_so(tmp_path: Path, content: str) -> None:
    path = tmp_path / "categories.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError):
        Catalog.load(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        Catalog.load(tmp_path / "nope.json")


def test_a_lists_version_is_what_it_says_not_how_it_is_written() -> None:
    one = Catalog.from_manager_list({"Fruit": "apple, banana", "Drink": "water"})
    same = Catalog.from_manager_list({"Fruit": " Banana,an APPLE ", "Drink": ["Water"]})
    other = Catalog.from_manager_list({"Fruit": "apple, banana", "Drink": "water, milk"})
    renamed = Catalog.from_manager_list({"Fruit": "apple, banana", "Drinks": "water"})
    assert one.version.hash == same.version.hash
    assert len({one.version.hash, other.version.hash, renamed.version.hash}) == 3
    assert len(one.version.hash) == 12
