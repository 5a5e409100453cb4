"""``shopstream dlq``: what was dead-lettered and why, and replaying it."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from shopstream.cli.app import command_settings, console, dlq_app
from shopstream.kafka import deadletters
from shopstream.terminal import shown


@dlq_app.command("list")
def dlq_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per letter.")] = False,
) -> None:
    """Every dead-lettered message: where it came from and why it was refused."""
    letters = deadletters.list_letters(command_settings())
    if as_json:
        for letter in letters:
            sys.stdout.write(json.dumps(dataclasses.asdict(letter)) + "\n")
        return
    table = Table(title=f"{len(letters)} dead letters")
    for column in ("origin", "key", "bytes", "reason", "starts with"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            shown(letter.origin),
            shown(letter.key),
            str(letter.size),
            shown(letter.reason),
            shown(letter.preview),
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay() -> None:
    """Send the letters not replayed before back to the ticket topic (after a fix)."""
    settings = command_settings()
    sent = deadletters.replay(settings)
    console.print(f"replayed {sent} dead letters to {settings.kafka.topic}")
