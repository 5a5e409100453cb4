"""``shopstream rebuild`` on each store, with a real broker and the pipeline running."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest

from shopstream.analytics import Filters
from shopstream.catalog import Catalog
from shopstream.stores import open_store
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from tests.analytics_data import EXPECTED, TICKETS, approx_figures
from tests.faults.harness import finish, let_some_through, load_on
from tests.helpers import shopstream
from tests.plugins.stores import OLD_LIST
from tests.unit.storedata import enriched

pytestmark = pytest.mark.integration

BREAD_FOR_BREAKFAST = {**OLD_LIST, "Bakery": "croissant, baguette, cake", "Breakfast": "bread"}
SWEETS = {**OLD_LIST, "Bakery": "bread, croissant, baguette", "Sweets": "chocolate, cake"}

# The hand-computed fixture (tests/analytics_data.py) under SWEETS: cake (3.3, Bakery, Antwerp) and
# chocolate (2.7, Other, Brussels) are Sweets now; 8 lines worth 9.8, four tickets, as before.
EXPECTED_SWEETS: dict[str, Any] = {
    **EXPECTED,
    "category_share": {
        "Fruit": 3 / 8,
        "Bakery": 1 / 8,
        "Drink": 2 / 8,
        "Sweets": 2 / 8,
        "Other": 0.0,
    },
    "category_revenue_share": {
        "Fruit": 0.9 / 9.8,
        "Bakery": 0.2 / 9.8,
        "Drink": 2.7 / 9.8,
        "Sweets": 6.0 / 9.8,
        "Other": 0.0,
    },
    "category_share_by_store": {
        "Antwerp": {"Fruit": 0.0, "Bakery": 0.0, "Drink": 0.0, "Sweets": 1.0, "Other": 0.0},
        "Brussels": {"Fruit": 0.25, "Bakery": 0.25, "Drink": 0.25, "Sweets": 0.25, "Other": 0.0},
        "Ghent": {"Fruit": 2 / 3, "Bakery": 0.0, "Drink": 1 / 3, "Sweets": 0.0, "Other": 0.0},
    },
}


def _running(
    make_pipeline: MakePipeline, store_url: str, categories: Path, workers: int = 1
) -> Pipeline:
    pipeline = make_pipeline(store_url, CATEGORIES_FILE=str(categories))
    pipeline.start_api()
    for _ in range(workers):
        pipeline.start_worker()
    return pipeline


def _analytics(pipeline: Pipeline) -> dict[str, Any]:
    figures: dict[str, Any] = httpx2.get(f"{pipeline.url}/analytics", timeout=30).json()
    return figures


def _rebuild_started(pipeline: Pipeline) -> subprocess.Popen[str]:
    """``shopstream rebuild`` running, its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "shopstream", "rebuild"],
        env=pipeline.env,
        cwd=pipeline.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rebuild(pipeline: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return shopstream("rebuild", *args, env=pipeline.env, cwd=pipeline.workdir, timeout=600)


def test_the_hand_computed_figures_before_and_after_a_rebuild(
    make_pipeline: MakePipeline, store_url: str, categories: Path
) -> None:
    pipeline = _running(make_pipeline, store_url, categories)
    assert httpx2.post(f"{pipeline.url}/data/batch", json=TICKETS).status_code == 202
    pipeline.wait_stored([t["id"] for t in TICKETS])
    old = Catalog.load(categories).version.hash
    before = _analytics(pipeline)
    assert before == approx_figures({**EXPECTED, "catalog_versions": {old: 4}})

    categories.write_text(json.dumps(SWEETS))
    new = Catalog.load(categories).version.hash
    # The API follows the list at once; the tickets keep theirs until the rebuild.
    assert _analytics(pipeline)["catalog_versions"] == {old: 4}
    result = _rebuild(pipeline)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bakery → Sweets: 1 line (cake)" in result.stdout
    assert "Other → Sweets: 1 line (chocolate)" in result.stdout
    assert f"with category list {new}: 4 tickets" in result.stdout

    report = shopstream("report", "--json", env=pipeline.env, cwd=pipeline.workdir)
    for after in (_analytics(pipeline), json.loads(report.stdout)):
        assert after.pop("catalog")["hash"] == new
        expected = {**EXPECTED_SWEETS, "catalog_versions": {new: 4}}
        del expected["catalog"]
        assert after == approx_figures(expected)


def test_a_rebuild_with_tickets_arriving_throughout(
    make_pipeline: MakePipeline, store_url: str, categories: Path
) -> None:
    """Nothing lost or doubled, every ticket under the new list, the figures switched at once."""
    _rebuild_under_load(_running(make_pipeline, store_url, categories), categories, workers=1)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_rebuild_with_several_workers_storing_throughout(
    make_pipeline: MakePipeline,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    categories: Path,
    kind: str,
) -> None:
    """The same with two workers in the group (database.json has one writer by design)."""
    store_url = f"sqlite:///{tmp_path / 'shop.db'}"
    if kind == "postgres":
        store_url = request.getfixturevalue("postgres").new_database()
    _rebuild_under_load(
        _running(make_pipeline, store_url, categories, workers=2), categories, workers=2
    )


def _following(pipeline: Pipeline, version: str) -> int:
    """How many workers said they took the list ``version``."""
    logs = (path.read_text() for path in pipeline.workdir.glob("worker-*.log"))
    return sum(f"reloaded: version {version}" in log for log in logs)


def _rebuild_under_load(pipeline: Pipeline, categories: Path, workers: int) -> None:
    load = load_on(pipeline, clients=4)
    let_some_through(pipeline.store, 3000, 4000)
    old = Catalog.load(categories).version.hash
    categories.write_text(json.dumps(BREAD_FOR_BREAKFAST))
    new = Catalog.load(categories).version.hash
    # Once every worker stores under the new list, the old list's count no longer grows.
    wait_for(lambda: _following(pipeline, new) == workers, 60, "the workers to take the list")
    wait_for(lambda: new in _analytics(pipeline)["catalog_versions"], 60, "the new list used")
    under_old = _analytics(pipeline)["catalog_versions"][old]
    before = {t.id for t in pipeline.store.tickets()}

    rebuild = _rebuild_started(pipeline)
    seen: list[int] = []  # tickets of the old list in each answer of /analytics meanwhile
    while rebuild.poll() is None:
        seen.append(_analytics(pipeline)["catalog_versions"].get(old, 0))
    out, err = rebuild.communicate()
    assert rebuild.returncode == 0, out + err
    let_some_through(pipeline.store, 300, 500)
    scenario = finish("rebuild with tickets arriving", 0, load, pipeline)

    # /analytics answered from the old tickets, then from the rebuilt ones: never a mix.
    assert seen[0] == under_old
    assert set(seen) <= {under_old, 0}, seen
    assert seen == sorted(seen, reverse=True)
    figures = _analytics(pipeline)
    assert figures["catalog_versions"] == {new: scenario.verdict.stored}
    assert figures["category_share"]["Breakfast"] == pytest.approx(1 / 3)
    assert figures["category_share"]["Bakery"] == 0.0
    # The same ids as before plus the new ones, each once, each under the new list.
    stored = list(pipeline.store.tickets())
    assert len(stored) == len({t.id for t in stored}) == len(set(load.acknowledged))
    assert before <= {t.id for t in stored}
    assert {(t.catalog_version, t.products[1].category) for t in stored} == {(new, "Breakfast")}
    assert "Bakery → Breakfast:" in out
    assert "lines (bread)" in out


def _fill(store_url: str, count: int) -> None:
    store = open_store(store_url)
    store.open()
    for start in range(0, count, 10_000):
        store.add([enriched(f"f{i}") for i in range(start, start + 10_000)])
    store.close()


def _state(store_url: str) -> Any:
    """What a reader of the store sees: every figure, and the raw bytes of a file store."""
    store = open_store(store_url)
    tally = store.tally(Filters())
    summary = (store.count(), dict(tally.versions), dict(tally.tickets), dict(tally.products))
    if store_url.endswith(".json"):
        return summary, Path(store_url).read_bytes()
    return summary


def _shadow(store_url: str) -> int | None:
    """What the rebuild wrote beside the store (bytes; in PostgreSQL, tickets); None: nothing."""
    if store_url.startswith("postgresql://"):
        with psycopg.connect(store_url, autocommit=True) as db:
            found = db.execute("SELECT to_regclass('shopstream_rebuild.tickets')").fetchone()
            if not found or found[0] is None:
                return None
            row = db.execute("SELECT count(*) FROM shopstream_rebuild.tickets").fetchone()
            return int(row[0]) if row else 0
    path = Path(store_url.removeprefix("sqlite:///"))
    shadow = path.with_name(f"{path.name}.rebuilding")
    return shadow.stat().st_size if shadow.exists() else None


def _started(store_url: str) -> bool:
    """Whether the rebuild has written a batch or more (20,000 tickets) beside the store."""
    written = _shadow(store_url)
    return written is not None and written >= (1 if "postgresql" in store_url else 1_000_000)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_rebuild_leaves_the_store_intact(
    make_pipeline: MakePipeline,
    store_url: str,
    categories: Path,
    signum: signal.Signals,
) -> None:
    _fill(store_url, 200_000)
    pipeline = _running(make_pipeline, store_url, categories)
    before = _state(store_url)
    categories.write_text(json.dumps(BREAD_FOR_BREAKFAST))

    rebuild = _rebuild_started(pipeline)
    wait_for(lambda: _started(store_url), 120, "the rebuild to start writing")
    rebuild.send_signal(signum)
    out, err = rebuild.communicate(timeout=120)
    assert rebuild.returncode == 130, out + err
    assert "rebuild interrupted" in err
    assert "was left as it was" in err
    assert _state(store_url) == before  # not a byte changed
    assert _shadow(store_url) is None  # nothing left beside it

    again = _rebuild(pipeline)  # a new run starts over, and finishes
    assert again.returncode == 0, again.stdout + again.stderr
    assert "rebuilt" in again.stdout
    assert "Bakery → Breakfast: 200,000 lines (bread)" in again.stdout
    new = Catalog.load(categories).version.hash
    assert _analytics(pipeline)["catalog_versions"] == {new: 200_000}
