"""The ``shopstream`` command's groups, its consoles, and its entry point."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.text import Text

import shopstream
from shopstream.config import Settings, load_settings
from shopstream.errors import InvalidSettings, ShopstreamError
from shopstream.logs import configure_logging, writes_json
from shopstream.terminal import console as plain_console
from shopstream.terminal import shown

app = typer.Typer(
    help="Tickets over HTTP into Apache Kafka, enriched and stored.", no_args_is_help=True
)
kafka_app = typer.Typer(
    help="The local Apache Kafka broker (KRaft, no ZooKeeper).", no_args_is_help=True
)
dlq_app = typer.Typer(help="The dead-letter topic: rejected messages.", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(dlq_app, name="dlq")
console = plain_console()
errors = plain_console(stderr=True)


def _print_version(asked: bool) -> None:
    if asked:
        console.print(f"shopstream {shopstream.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print it, exit."),
    ] = False,
) -> None:
    """Tickets over HTTP into Apache Kafka, enriched and stored."""


def command_settings() -> Settings:
    """The settings, with logging set up as they say: every command starts here."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def main() -> None:
    """Entry point: a ShopstreamError is one readable line, never a traceback.

    The exit status is 2 for an invalid setting (a usage error, as for an invalid option),
    1 for anything else.
    """
    try:
        app()
    except ShopstreamError as exc:
        one_line = " ".join(str(exc).split())  # a driver's message may span lines
        if writes_json():
            logging.getLogger("shopstream").error("%s", one_line)
        else:
            errors.print(Text.assemble(("error:", "red"), " ", shown(one_line)))
        sys.exit(2 if isinstance(exc, InvalidSettings) else 1)
