"""Running it: ``up`` (everything), ``api`` and ``worker``."""

from __future__ import annotations

import contextlib
import signal
from typing import Annotated

import typer

from shopstream.catalogfile import CatalogFile
from shopstream.cli.app import app, command_settings, errors
from shopstream.kafka.config import check_security
from shopstream.kafka.consumer import BatchConsumer
from shopstream.kafka.deadletters import DeadLetters
from shopstream.kafka.lag import GroupLag
from shopstream.metrics import WorkerMetrics, exposed, own_registry, shared_by_processes
from shopstream.metrics_http import MetricsServer
from shopstream.stores import open_store
from shopstream.up import run_pipeline, run_workers
from shopstream.worker import Worker


@app.command()
def up() -> None:
    """Run the whole pipeline: local Kafka, the API on API_HOST:API_PORT, and a worker."""
    raise typer.Exit(run_pipeline(command_settings()))


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

    settings = command_settings()
    check_security(settings)  # here, as one line: in uvicorn's start-up it is a traceback
    processes = workers or settings.api.workers
    # N processes sum their metrics in files; one keeps them in memory.
    shared = shared_by_processes() if processes > 1 else contextlib.nullcontext()
    with shared:
        uvicorn.run(
            "shopstream.api.app:app_from_environment",
            factory=True,
            host=host or settings.api.host,
            port=port or settings.api.port,
            workers=processes,
            log_config=None,  # the root logger's handler, set up by command_settings, serves
            access_log=settings.api.access_log,
            limit_concurrency=settings.api.max_connections,
            # Off unless asked: it cost 8 to 22% of a sequential request (docs/performance.md).
            proxy_headers=settings.api.proxy_headers,
        )


@app.command()
def worker(
    processes: Annotated[
        int | None,
        typer.Option(min=1, help="Workers in this consumer group. Default: WORKER_PROCESSES"),
    ] = None,
) -> None:
    """Run a worker: consume, enrich, store, commit. SIGTERM or Ctrl-C stops it cleanly.

    A changed CATEGORIES_FILE is read between batches; SIGHUP makes it read the file again
    whatever it looks like. With several processes, they share the topic's partitions in
    one consumer group (as the same number of separate `shopstream worker` commands would,
    on any machines); one that crashes is started again.
    """
    settings = command_settings()
    count = processes or settings.worker.processes
    if count > 1:
        if settings.store.database_url.get_secret_value().endswith(".json"):
            errors.print(
                f"{settings.store.database_url} takes one writer at a time: use --processes 1, "
                "or a SQL store (DATABASE_URL=sqlite:///... or postgresql://...)"
            )
            raise typer.Exit(2)
        raise typer.Exit(run_workers(settings, count))
    categories = CatalogFile(settings.store.categories_file)
    lag = GroupLag(settings)
    registry = own_registry()  # None under `worker --processes N`: its supervisor serves
    metrics = WorkerMetrics(registry)
    server = MetricsServer(settings, exposed(registry))
    the_worker = Worker(
        settings,
        open_store(settings.store.database_url.get_secret_value()),
        categories,
        BatchConsumer(settings),
        DeadLetters(settings),
        lag,
        metrics,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: the_worker.stop())
    signal.signal(signal.SIGHUP, lambda *_: categories.reload())
    try:
        the_worker.run()
    finally:
        lag.close()
        server.close()
