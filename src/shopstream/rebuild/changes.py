"""What a rebuild changed: product lines moved from one category to another, by name."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from shopstream.catalog import Catalog, normalise
from shopstream.enrich import recategorise
from shopstream.models import EnrichedTicket

_NAMES_SHOWN = 5

Move = tuple[str, str]
"""(category before, category after)"""


@dataclass
class Changes:
    """The tickets re-categorised under ``catalog``, and which lines that moved."""

    catalog: Catalog
    tickets: int = 0
    lines: Counter[Move] = field(default_factory=Counter)
    names: defaultdict[Move, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def recategorised(self, tickets: Sequence[EnrichedTicket]) -> list[EnrichedTicket]:
        """``tickets`` under the catalog, each moved line counted."""
        done = [recategorise(ticket, self.catalog) for ticket in tickets]
        for before, after in zip(tickets, done, strict=True):
            for old, new in zip(before.products, after.products, strict=True):
                if old.category != new.category:
                    move = (old.category, new.category)
                    self.lines[move] += 1
                    self.names[move][normalise(old.name)] += 1
        self.tickets += len(tickets)
        return done

    def summary(self) -> list[str]:
        """One line per move, most lines first: ``Other → Drink: 1,234 lines (milk)``."""
        shown = []
        for move, count in self.lines.most_common():
            names = [name for name, _ in self.names[move].most_common(_NAMES_SHOWN)]
            more = len(self.names[move]) - len(names)
            listed = ", ".join(names) + (f" and {more} more" if more else "")
            plural = "line" if count == 1 else "lines"
            shown.append(f"{move[0]} → {move[1]}: {count:,} {plural} ({listed})")
        return shown
