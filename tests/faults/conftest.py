"""The fault suite reuses the integration fixtures and prints one verdict per scenario."""

from __future__ import annotations

import pytest

from tests.faults.harness import Verdict
from tests.integration.conftest import (
    REPO,
    kafka,
    make_module_pipeline,
    make_own_pipeline,
    make_pipeline,
    own_broker,
)

__all__ = ["kafka", "make_module_pipeline", "make_own_pipeline", "make_pipeline", "own_broker"]

_VERDICTS: list[Verdict] = []
SUMMARY = REPO / "artifacts" / "faults-summary.txt"


@pytest.fixture
def record() -> list[Verdict]:
    """Append a scenario's verdict here to have it in the run's summary."""
    return _VERDICTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _VERDICTS:
        return
    lines = [v.line() for v in _VERDICTS]
    lines.append(
        f"{len(_VERDICTS)} scenarios, {sum(v.faults for v in _VERDICTS)} faults injected, "
        f"{sum(v.acknowledged for v in _VERDICTS)} tickets acknowledged, "
        f"lost {sum(v.lost for v in _VERDICTS)}, duplicated {sum(v.duplicated for v in _VERDICTS)}"
    )
    terminalreporter.section("faults: acknowledged ⊆ stored, one record per id")
    for line in lines:
        terminalreporter.write_line(line)
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text("\n".join(lines) + "\n")
