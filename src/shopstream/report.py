"""The manager's figures as terminal tables (``shopstream report``)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from shopstream.analytics import Analytics, Filters, cents
from shopstream.terminal import shown


def money(amount: float | Decimal) -> str:
    """To the cent, halves rounded up as a till does (1.125 -> 1.13); thousands grouped."""
    return f"{cents(amount):,}"


def _scope(filters: Filters) -> str:
    parts = [f"store {filters.store}" if filters.store else "all stores"]
    if filters.date_from or filters.date_to:
        parts.append(f"from {filters.date_from or 'the start'} to {filters.date_to or 'today'}")
    return ", ".join(parts)


def render(figures: Analytics, filters: Filters) -> RenderableType:
    """Tables a manager reads: money rounded to the cent, shares as percentages.

    Names are the tills' data: each is shown as literal text (``terminal.shown``).
    """
    heading = Text.assemble(
        ("shopstream report", "bold"),
        " · ",
        shown(_scope(filters)),
        f" · {figures.tickets:,} tickets, {figures.products:,} product lines, "
        f"{figures.stores} stores",
    )
    lists = _lists(figures)
    if figures.tickets == 0:
        return Group(heading, lists, Text("No tickets stored yet.", style="yellow"))

    averages = Table(title="Money", show_header=False)
    averages.add_column(style="bold")
    averages.add_column(justify="right")
    averages.add_row("Revenue", money(figures.revenue))
    averages.add_row("Average product price", money(figures.average_product_price))
    averages.add_row("Average ticket total", money(figures.average_ticket_total))

    categories = Table(title="Categories")
    categories.add_column("Category", style="bold")
    categories.add_column("Share of products", justify="right")
    categories.add_column("Share of revenue", justify="right")
    for name, share in figures.category_share.items():
        revenue = figures.category_revenue_share[name]
        categories.add_row(shown(name), f"{share:.1%}", f"{revenue:.1%}")

    stores = Table(title="Stores")
    stores.add_column("Store", style="bold")
    stores.add_column("Tickets", justify="right")
    stores.add_column("Revenue", justify="right")
    stores.add_column("Average product price", justify="right")
    stores.add_column("Average ticket total", justify="right")
    for name, average_total in figures.average_ticket_total_by_store.items():
        average_price = figures.average_product_price_by_store.get(name, 0.0)
        stores.add_row(
            shown(name),
            f"{figures.tickets_by_store.get(name, 0):,}",
            money(figures.revenue_by_store.get(name, Decimal(0))),
            money(average_price),
            money(average_total),
        )

    products = Table(title=f"Top {len(figures.top_products)} products")
    products.add_column("Product", style="bold")
    products.add_column("Lines", justify="right")
    products.add_column("Revenue", justify="right")
    for product in figures.top_products:
        products.add_row(shown(product.name), f"{product.lines:,}", money(product.revenue))

    return Group(heading, lists, averages, categories, stores, products)


def _lists(figures: Analytics) -> Text:
    """The category list in force, and the lists the tickets counted were categorised with
    (a version is the store's data, shown as literal text)."""
    line = Text("Category list ")
    in_force = figures.catalog.hash if figures.catalog else ""
    if figures.catalog is not None:
        loaded = figures.catalog.loaded_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        line.append(f"{in_force} (loaded {loaded})", style="bold")
    line.append("; tickets categorised with ")
    for n, (version, tickets) in enumerate(figures.catalog_versions.items()):
        line.append_text(Text.assemble(", " if n else "", shown(version), f" ({tickets:,})"))
    if not figures.catalog_versions:
        line.append("none yet")
    if set(figures.catalog_versions) - {in_force}:
        line.append(
            "\nSome tickets were categorised with another list than the one in force: "
            "`shopstream rebuild` applies it to every stored ticket.",
            style="yellow",
        )
    return line
