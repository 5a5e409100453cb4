"""The fault suite prints one verdict per scenario, and keeps them in artifacts/."""

from __future__ import annotations

import pytest

from testbed.pipeline import REPO
from tests.faults.harness import Scenario

_SCENARIOS: list[Scenario] = []
SUMMARY = REPO / "artifacts" / "faults-summary.txt"


@pytest.fixture
def record() -> list[Scenario]:
    """Append a scenario here to have its verdict in the run's summary."""
    return _SCENARIOS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _SCENARIOS:
        return
    verdicts = [s.verdict for s in _SCENARIOS]
    lines = [s.line() for s in _SCENARIOS]
    lines.append(
        f"{len(_SCENARIOS)} scenarios, {sum(s.faults for s in _SCENARIOS)} faults injected, "
        f"{sum(v.acknowledged for v in verdicts)} tickets acknowledged, "
        f"lost {sum(v.lost for v in verdicts)}, duplicated {sum(v.duplicated for v in verdicts)}"
    )
    terminalreporter.section("faults: acknowledged ⊆ stored, one record per id")
    for line in lines:
        terminalreporter.write_line(line)
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text("\n".join(lines) + "\n")
