"""Every variable the settings read has a row in the operations guide's tables."""

from __future__ import annotations

import re
from pathlib import Path

from shopstream.config import environment_names

GUIDE = Path(__file__).parents[2] / "docs" / "operations.md"


def _documented() -> set[str]:
    rows = (line for line in GUIDE.read_text().splitlines() if line.startswith("| `"))
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_is_in_the_configuration_tables() -> None:
    missing = environment_names() - _documented()
    assert not missing, f"not in {GUIDE.name}: {sorted(missing)}"
