"""The bench's verdicts: a ratio of two figures of one run, against its bound."""

from __future__ import annotations

import pytest

from bench.figures import Figure, Figures, Ratio


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
