"""The manager's figures (``report``), their product lines (``export``) and the exercise's
stress test (``stress``)."""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from shopstream import export as exporting
from shopstream.analytics import Filters, figures
from shopstream.catalog import Catalog
from shopstream.cli.app import app, command_settings, console, errors
from shopstream.report import render as render_report
from shopstream.stores import open_store
from shopstream.terminal import shown


@app.command()
def stress(
    count: Annotated[int, typer.Option(min=1, help="Tickets to send.")] = 1000,
    url: Annotated[str, typer.Option(help="Default: http://API_HOST:API_PORT/data")] = "",
    concurrency: Annotated[
        int, typer.Option(min=1, help="Requests in flight; 1 = the exercise's loop.")
    ] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the store.")] = 60.0,
) -> None:
    """The exercise's stress test: POST tickets, then wait until every accepted one is stored."""
    from shopstream.load import stress as run  # aiohttp takes 0.15 s to load; only this needs it

    settings = command_settings()
    target = url or f"http://{settings.api.host}:{settings.api.port}/data"
    store = open_store(settings.store.database_url.get_secret_value())
    with Progress(
        TextColumn("{task.description}", markup=False),  # the console reads no markup
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("sending", total=count)
        result = run(
            target,
            count,
            store,
            concurrency=concurrency,
            timeout=timeout,
            on_sent=lambda sent: progress.advance(task, sent),
        )
    load = result.load
    refused = ", ".join(f"{n}x{code}" for code, n in sorted(load.refused.items())) or "0"
    console.print(
        f"sent {load.sent}  accepted {len(load.acknowledged)}  refused {refused}  "
        f"errors {load.errors}  stored {result.stored}  "
        f"seconds {result.seconds:.2f}  tickets/s {result.rate:.0f}"
    )
    if result.missing:
        errors.print(
            shown(
                f"{len(result.missing)} accepted tickets are not in {settings.store.database_url}",
                "red",
            )
        )
    if not result.ok:
        raise typer.Exit(1)


StoreOption = Annotated[str | None, typer.Option(help="Only this store's tickets.")]
FromOption = Annotated[
    datetime.datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="From this date (inclusive)."),
]
ToOption = Annotated[
    datetime.datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="Up to this date (inclusive)."),
]


def _filters(
    store: str | None, date_from: datetime.datetime | None, date_to: datetime.datetime | None
) -> Filters:
    return Filters(
        store=store,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
    )


@app.command()
def report(
    store: StoreOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The JSON of GET /analytics.")] = False,
) -> None:
    """The manager's figures from the store: tables, or the JSON the API gives."""
    settings = command_settings()
    filters = _filters(store, date_from, date_to)
    tally = open_store(settings.store.database_url.get_secret_value()).tally(filters)
    catalog = Catalog.load(settings.store.categories_file)
    result = figures(tally, catalog.categories, catalog.version)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        console.print(render_report(result, filters))


@app.command()
def export(
    kind: Annotated[
        exporting.Format,
        typer.Option("--format", help="CSV (a header, then one row a line) or JSON Lines."),
    ] = exporting.Format.CSV,
    store: StoreOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file (default: standard output).")
    ] = None,
) -> None:
    """The stored product lines, one row each: ticket_id, store, date, total_price, line,
    product_id, name, price, category. Streamed from the store, whatever its size."""
    settings = command_settings()
    source = open_store(settings.store.database_url.get_secret_value())
    chunks = exporting.chunks(source.tickets(), _filters(store, date_from, date_to), kind)
    if output is None:
        try:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
        except BrokenPipeError:  # `shopstream export | head`: the reader has had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    # Written beside it, then renamed: an export cut short never looks like a whole one.
    partial = output.with_name(f"{output.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as file:
            for chunk in chunks:
                file.write(chunk)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
