"""What a rebuild changed: product lines moved from one category to another, by name."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from shopstream.catalog import Catalog, normalise
from shopstream.models import EnrichedTicket
from shopstream.stores.jsonlines import Entry

_NAMES_SHOWN = 5

Move = tuple[str, str]
"""(category before, category after)"""


@dataclass
class Changes:
    """Re-categorises tickets under ``catalog`` and counts the product lines that moved."""

    catalog: Catalog
    lines: Counter[Move] = field(default_factory=Counter)
    names: defaultdict[Move, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    """lines moved per product name as the tickets spell it"""

    def recategorised(self, tickets: Sequence[EnrichedTicket]) -> Sequence[EnrichedTicket]:
        """``tickets`` put under the catalog, in place (a rebuild's own copies, read for it),
        each moved line counted."""
        category_of = self.catalog.category_of
        version = self.catalog.version.hash
        for ticket in tickets:
            for product in ticket.products:
                category = category_of(product.name)
                if category != product.category:
                    self.moved(product.category, category, product.name, 1)
                    product.category = category
            ticket.catalog_version = version
        return tickets

    def recategorise_entry(self, entry: Entry) -> None:
        """A ``database.json`` entry, as ``jsonlines`` reads it, put under the catalog in
        place: the same as ``recategorised``, without making a ticket of it (a third of
        the JSON rebuild's time, measured at a million)."""
        category_of = self.catalog.category_of
        for product in entry["products"]:
            category = category_of(product["name"])
            if category != product["category"]:
                self.moved(product["category"], category, product["name"], 1)
                product["category"] = category
        entry["catalog_version"] = self.catalog.version.hash

    def moved(self, before: str, after: str, name: str, lines: int) -> None:
        """Count ``lines`` lines of the product ``name`` moved from ``before`` to ``after``."""
        move = (before, after)
        self.lines[move] += lines
        self.names[move][name] += lines  # as sent: normalised once, in the summary

    def summary(self) -> list[str]:
        """One line per move, most lines first: ``Other → Drink: 1,234 lines (milk)``."""
        shown = []
        for move, count in self.lines.most_common():
            by_name: Counter[str] = Counter()
            for name, lines in self.names[move].items():
                by_name[normalise(name)] += lines
            names = [name for name, _ in by_name.most_common(_NAMES_SHOWN)]
            more = len(by_name) - len(names)
            listed = ", ".join(names) + (f" and {more} more" if more else "")
            plural = "line" if count == 1 else "lines"
            shown.append(f"{move[0]} → {move[1]}: {count:,} {plural} ({listed})")
        return shown
