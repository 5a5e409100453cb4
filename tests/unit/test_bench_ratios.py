"""The bench's verdicts: a ratio of two figures of one run, against its bound, and the last
full run's beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.figures import Figure, Figures, Previous, Ratio


def _figures(ours: list[float], ceiling: list[float]) -> Figures:
    figures = Figures()
    figures.add(Figure("ours", "ours", "/s", ours))
    figures.add(Figure("ceiling", "the ceiling", "/s", ceiling))
    return figures


def test_every_run_must_keep_the_bound_when_asked() -> None:
    figures = _figures([62, 58, 65], [100, 100, 100])
    ratio = Ratio("ours", "ceiling", at_least=0.60, every_run=True)
    assert ratio.values(figures) == [0.62, 0.58, 0.65]
    assert ratio.line(figures).endswith("(target ≥ 60% in every run: MISSED)")
    medians = Ratio("ours", "ceiling", at_least=0.60)
    assert medians.line(figures).endswith("62% (target ≥ 60%: met)")


def test_an_upper_bound_is_shown_as_a_plain_ratio() -> None:
    figures = _figures([1.2, 1.5], [1.0, 1.0])
    line = Ratio("ours", "ceiling", at_most=1.3, every_run=True, percent=False).line(figures)
    assert line == "- ours / the ceiling: 1.20, 1.50 (target ≤ 1.30 in every run: MISSED)"


def test_a_figure_is_measured_once() -> None:
    figures = _figures([1], [1])
    with pytest.raises(ValueError, match="'ours' measured twice"):
        figures.add(Figure("ours", "again", "/s", [2]))


def test_figures_and_ratios_are_shown_beside_the_last_full_run(tmp_path: Path) -> None:
    """Keyed figures are found by key; a run from before keys existed, by name."""
    older = {"date": "2026-11-30", "commit": "aaa", "figures": [_recorded("Ours", 40.0)]}
    newer = {
        "date": "2026-12-01",
        "commit": "bbb",
        "figures": [_recorded("Ours, renamed", 50.0, "ours"), _recorded("Ceiling", 100.0)],
    }
    (tmp_path / "2026-11-30.json").write_text(json.dumps(older))
    (tmp_path / "2026-12-01.json").write_text(json.dumps(newer))
    (tmp_path / "2026-12-02-partial.json").write_text(json.dumps({**newer, "date": "x"}))
    previous = Previous.load(tmp_path)
    assert previous is not None
    figures = Figures()
    figures.add(Figure("ours", "Ours", "/s", [60.0]))
    figures.add(Figure("ceiling", "Ceiling", "/s", [100.0]))
    assert figures["ours"].row(previous) == "| Ours | 60.0 /s | 60.0 to 60.0 | 50.0 |  |"
    line = Ratio("ours", "ceiling", at_least=0.55).line(figures, previous)
    assert line == "- Ours / Ceiling: 60% (last full run, 2026-12-01: 50%) (target ≥ 55%: met)"


def test_no_full_run_on_record_shows_nothing_beside() -> None:
    assert Previous.load(Path("/nonexistent")) is None


def _recorded(name: str, median: float, key: str | None = None) -> dict[str, object]:
    figure: dict[str, object] = {"name": name, "unit": "/s", "median": median, "values": [median]}
    return figure if key is None else {**figure, "key": key}
