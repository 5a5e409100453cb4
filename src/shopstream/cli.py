"""The ``shopstream`` command."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import signal
import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from shopstream.analytics import Filters, figures
from shopstream.catalog import Catalog
from shopstream.config import Settings, load_settings
from shopstream.errors import ShopstreamError
from shopstream.kafka import deadletters
from shopstream.kafka.admin import broker_answers
from shopstream.kafka.config import check_security, client_config
from shopstream.kafka.consumer import BatchConsumer
from shopstream.kafka.deadletters import DeadLetters
from shopstream.localkafka import local_kafka
from shopstream.report import render as render_report
from shopstream.stores import open_store
from shopstream.terminal import console as plain_console
from shopstream.terminal import shown
from shopstream.up import run_pipeline, run_workers
from shopstream.worker import Worker

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


def _settings() -> Settings:
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return settings


@app.command()
def up() -> None:
    """Run the whole pipeline: local Kafka, the API on API_HOST:API_PORT, and a worker."""
    raise typer.Exit(run_pipeline(_settings()))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default: API_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: API_PORT")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes sharing the port. Default: API_WORKERS")
    ] = None,
) -> None:
    """Run the HTTP API alone."""
    import uvicorn  # here, not at the top: the worker's start-up need not load it

    settings = _settings()
    check_security(settings)  # here, as one line: in uvicorn's start-up it is a traceback
    uvicorn.run(
        "shopstream.api.app:app_from_environment",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        workers=workers or settings.api.workers,
        log_config=None,
        access_log=False,
        limit_concurrency=settings.api.max_connections,
    )


@app.command()
def worker(
    processes: Annotated[
        int | None,
        typer.Option(min=1, help="Workers in this consumer group. Default: WORKER_PROCESSES"),
    ] = None,
) -> None:
    """Run a worker: consume, enrich, store, commit. SIGTERM or Ctrl-C stops it cleanly.

    With several processes, they share the topic's partitions in one consumer group (as
    the same number of separate `shopstream worker` commands would, on any machines); one
    that crashes is started again.
    """
    settings = _settings()
    count = processes or settings.worker.processes
    if count > 1:
        if settings.store.database_url.get_secret_value().endswith(".json"):
            errors.print(
                f"{settings.store.database_url} takes one writer at a time: use --processes 1, "
                "or a SQL store (DATABASE_URL=sqlite:///... or postgresql://...)"
            )
            raise typer.Exit(2)
        raise typer.Exit(run_workers(count))
    the_worker = Worker(
        settings,
        open_store(settings.store.database_url.get_secret_value()),
        Catalog.load(settings.store.categories_file),
        BatchConsumer(settings),
        DeadLetters(settings),
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: the_worker.stop())
    the_worker.run()


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

    settings = _settings()
    target = url or f"http://{settings.api.host}:{settings.api.port}/data"
    store = open_store(settings.store.database_url.get_secret_value())
    with Progress(
        "[progress.description]{task.description}",
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


@app.command()
def report(
    store: Annotated[str | None, typer.Option(help="Only this store's tickets.")] = None,
    date_from: Annotated[
        datetime.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="From date.")
    ] = None,
    date_to: Annotated[
        datetime.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="To date.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The JSON of GET /analytics.")] = False,
) -> None:
    """The manager's figures from the store: tables, or the JSON the API gives."""
    settings = _settings()
    filters = Filters(
        store=store,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
    )
    tally = open_store(settings.store.database_url.get_secret_value()).tally(filters)
    result = figures(tally, Catalog.load(settings.store.categories_file).categories)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        console.print(render_report(result, filters))


@kafka_app.command("start")
def kafka_start(
    sasl: Annotated[
        bool,
        typer.Option(
            help="Also listen on KAFKA_LOCAL_SASL_PORT for SASL_PLAINTEXT clients (PLAIN, "
            "SCRAM-SHA-256/512) as KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD, like a cloud Kafka."
        ),
    ] = False,
    tls: Annotated[
        bool,
        typer.Option(
            help="Also listen on KAFKA_LOCAL_SSL_PORT for SSL clients with a certificate of "
            "the broker's own CA (made in KAFKA_STATE_DIR/tls), and with --sasl on "
            "KAFKA_LOCAL_SASL_SSL_PORT for SASL_SSL clients."
        ),
    ] = False,
    brokers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=9,
            help="Nodes, each broker and controller (3: a quorum that survives one down). "
            "Default: KAFKA_LOCAL_BROKERS",
        ),
    ] = None,
) -> None:
    """Start the local broker (or cluster); returns once it answers."""
    settings = _settings()
    # SIGTERM as Ctrl-C: a start stopped before its broker answers takes the JVM down with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    broker = local_kafka(settings, sasl=sasl, brokers=brokers, tls=tls)
    if not settings.uses_local_broker and not (sasl or tls):
        console.print(f"KAFKA_BOOTSTRAP_SERVERS={settings.bootstrap_servers}: nothing to start")
        return
    started = broker.start()
    console.print(
        f"kafka {'started' if started else 'already running'} at {broker.bootstrap_servers}"
        f" (log: {broker.log_file})"
    )
    if broker.sasl is not None:
        state = "SASL" if started else "SASL (if it was started with --sasl)"
        console.print(f"{state} clients: {broker.sasl.bootstrap_servers}")
    if broker.tls is not None:
        files = broker.tls_files
        state = "TLS" if started else "TLS (if it was started with --tls)"
        sasl_ssl = f", SASL_SSL at {broker.tls.sasl_bootstrap_servers}" if broker.sasl else ""
        console.print(
            f"{state} clients: SSL at {broker.tls.bootstrap_servers}{sasl_ssl}; "
            f"KAFKA_SSL_CA_FILE={files.ca_cert} KAFKA_SSL_CERT_FILE={files.client_cert} "
            f"KAFKA_SSL_KEY_FILE={files.client_key} (the certificate SSL requires)",
            soft_wrap=True,
        )


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the local broker gracefully."""
    stopped = local_kafka(_settings()).stop()
    console.print("kafka stopped" if stopped else "kafka was not running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Exit 0 only if a broker answers at the configured address."""
    settings = _settings()
    broker = local_kafka(settings)
    if broker_answers(client_config(settings, "status")):
        pid = broker.pid() if settings.uses_local_broker else None
        console.print(
            f"kafka answers at {settings.bootstrap_servers}" + (f" (pid {pid})" if pid else "")
        )
        return
    console.print(f"no kafka broker answers at {settings.bootstrap_servers}")
    raise typer.Exit(1)


@dlq_app.command("list")
def dlq_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per letter.")] = False,
) -> None:
    """Every dead-lettered message: where it came from and why it was refused."""
    letters = deadletters.list_letters(_settings())
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
    settings = _settings()
    sent = deadletters.replay(settings)
    console.print(f"replayed {sent} dead letters to {settings.kafka.topic}")


def main() -> None:
    """Entry point: a ShopstreamError is one readable line, never a traceback."""
    try:
        app()
    except ShopstreamError as exc:
        one_line = " ".join(str(exc).split())  # a driver's message may span lines
        errors.print(Text.assemble(("error:", "red"), " ", shown(one_line)))
        sys.exit(1)
