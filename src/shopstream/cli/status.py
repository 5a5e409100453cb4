"""``shopstream status [--json]``: Kafka, the workers' lag, the store and the API at once."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from shopstream.cli.app import app, command_settings, console
from shopstream.status import Status, status
from shopstream.terminal import shown


@app.command("status")
def show_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    url: Annotated[str, typer.Option(help="The API. Default: http://API_HOST:API_PORT")] = "",
) -> None:
    """The pipeline's state; exits 0 only when Kafka answers and the API is ready."""
    found = status(command_settings(), url.rstrip("/") or None)
    if as_json:
        sys.stdout.write(json.dumps(found.as_json(), indent=2) + "\n")
    else:
        for line in _lines(found):
            console.print(shown(line))
    if not found.ok:
        raise typer.Exit(1)


def _lines(found: Status) -> list[str]:
    kafka, settings = found.kafka, found.settings
    lines = [f"kafka         {settings.bootstrap_servers}: " + (
        f"{len(kafka.brokers)} broker(s) answer" if kafka.answers else "no broker answers"
    )]  # fmt: skip
    lines += [
        f"  broker {b.id}    {b.host}:{b.port}" + (" (controller)" if b.controller else "")
        for b in kafka.brokers
    ]
    if kafka.error:
        lines.append(f"  error       {kafka.error}")
    if kafka.answers:
        lines.append(f"topic         {settings.kafka.topic}: {len(kafka.partitions)} partitions")
        lines += [
            f"  partition {p.partition} leader {p.leader}, replicas {_ids(p.replicas)}, "
            f"in sync {_ids(p.in_sync)}; end {p.end}, committed "
            f"{'-' if p.committed is None else p.committed}, lag {p.lag}"
            for p in kafka.partitions
        ]
        lines.append(
            f"group         {settings.worker.group} ({kafka.group_state}): "
            f"{len(kafka.members)} member(s), lag {'unknown' if kafka.lag is None else kafka.lag}"
        )
        lines += [
            f"  member      {m.client_id} at {m.host}: partitions {_ids(m.partitions) or '-'}"
            for m in kafka.members
        ]
        lines.append(f"dead letters  {kafka.dead_letters} in {settings.kafka.dead_letter_topic}")
    store = found.store
    lines.append(
        f"store         {store.url}: "
        + (f"{store.tickets} tickets" if store.error is None else f"unreadable: {store.error}")
    )
    api = found.api
    lines.append(f"api           {api.url}: {api.detail}")
    return lines


def _ids(ids: list[int]) -> str:
    return ",".join(map(str, ids))
