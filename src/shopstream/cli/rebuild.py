"""``shopstream rebuild``: the list in force applied to every stored ticket, or a new store
built from the ticket topic (``--into``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from shopstream.catalog import Catalog
from shopstream.cli.app import app, command_settings, console, errors
from shopstream.config import Settings
from shopstream.rebuild.inplace import rebuild as rebuild_in_place
from shopstream.rebuild.replay import replay_into
from shopstream.rebuild.writer import Interrupted, Reporting
from shopstream.secret_url import DatabaseUrl
from shopstream.supervise import stop_on_signals
from shopstream.terminal import shown

INTERRUPTED = 130
T = TypeVar("T")


class _CountAndRate(ProgressColumn):
    """``12,000/50,000 tickets, 31,234/s``"""

    def render(self, task: Task) -> Text:
        total = f"{task.total:,.0f}" if task.total is not None else "?"
        # Rich's estimate needs a few refreshes; until then (or in a log), the mean so far.
        mean = task.completed / task.elapsed if task.elapsed else None
        speed = task.finished_speed or task.speed or mean
        rate = f"{speed:,.0f}/s" if speed else "…/s"
        return Text(f"{task.completed:,.0f}/{total} tickets, {rate}")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=30),
        TaskProgressColumn(),
        _CountAndRate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _advance(bar: Progress, task: TaskID, count: int) -> None:
    """``count`` more done; the total grows with it when the workers stored more meanwhile."""
    bar.advance(task, count)
    done = next(t for t in bar.tasks if t.id == task)
    if done.total is not None and done.completed > done.total:
        bar.update(task, total=done.completed)


def _shown_running(description: str, run: Callable[[Reporting], T], interrupted: str) -> T:
    """``run`` under a progress bar; interrupted, ``interrupted`` says what was left, exit 130."""
    with progress_bar() as bar:
        task = bar.add_task(description, total=None)
        try:
            return run(
                Reporting(
                    total=lambda total: bar.update(task, total=total),
                    done=lambda count: _advance(bar, task, count),
                )
            )
        except Interrupted:
            bar.stop()
            errors.print(f"rebuild interrupted: {interrupted}")
            raise typer.Exit(INTERRUPTED) from None


@app.command()
def rebuild(
    into: Annotated[
        str | None,
        typer.Option(
            help="Build this new store (a .json path, sqlite:///... or postgresql://...) from "
            "the ticket topic instead, up to the workers' position, then say how to switch "
            "DATABASE_URL to it.",
            metavar="URL",
        ),
    ] = None,
) -> None:
    """Apply the category list in force (CATEGORIES_FILE) to every stored ticket.

    The store is rebuilt beside itself and switched to at once, while the API and the
    workers run on: the figures come from the old tickets until the rebuilt ones are all
    there. Ctrl-C or SIGTERM stops it and leaves the store as it was.
    """
    settings = command_settings()
    catalog = Catalog.load(settings.store.categories_file)
    stopping = stop_on_signals()
    if into is not None:
        _into(settings, DatabaseUrl(into), catalog, stopping)
        return
    store = settings.store.database_url
    done = _shown_running(
        "rebuilding",
        lambda progress: rebuild_in_place(settings, catalog, stopping, progress),
        f"{store} was left as it was; run `shopstream rebuild` again to start over",
    )
    console.print(
        f"rebuilt {store} with category list {catalog.version.hash}: {done.tickets:,} tickets "
        f"in {done.seconds:.1f} s ({done.rate:,.0f} tickets/s), {done.meanwhile:,} of them "
        "stored meanwhile"
    )
    moves = done.changes.summary()
    for move in moves:
        console.print(shown(move))
    if not moves:
        console.print("no product line changed category")


def _into(
    settings: Settings, target: DatabaseUrl, catalog: Catalog, stopping: threading.Event
) -> None:
    done = _shown_running(
        "replaying",
        lambda progress: replay_into(
            settings, target.get_secret_value(), catalog, stopping, progress
        ),
        f"{target} holds what was built so far and is not complete; run the same command "
        "again to resume",
    )
    console.print(
        f"built {target} from the topic {settings.kafka.topic} up to the position of group "
        f"{settings.worker.group}: {done.messages:,} messages in {done.seconds:.1f} s "
        f"({done.rate:,.0f}/s), {done.tickets:,} tickets stored, with category list "
        f"{catalog.version.hash}"
    )
    if done.not_stored:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in done.not_stored.most_common())
        console.print(shown(f"not stored, as the workers did not store them either: {reasons}"))
    if done.missing_count:
        errors.print(
            shown(
                f"{target} lacks {done.missing_count:,} tickets that {settings.store.database_url} "
                f"holds (e.g. {', '.join(done.missing)}): if the workers are running, they stored "
                "them after this rebuild read their position; stop them and run this command "
                "again. A ticket the topic does not hold (added to the store by hand, or "
                "deleted by retention) cannot be rebuilt."
            )
        )
        raise typer.Exit(1)
    console.print(f"every ticket of {settings.store.database_url} is in {target}")
    console.print(
        "To switch to it: stop the workers, run this command again (it adds what they "
        f"stored since), then start them with DATABASE_URL={target}"
        + (" (with the password you gave here)" if str(target) != target.get_secret_value() else "")
    )
