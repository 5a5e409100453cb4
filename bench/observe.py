"""Watch a JSON store and print when each ticket of a run appeared: ``id monotonic-seconds``.

Runs as its own process so that its polling shares no interpreter lock with the load
generator. ``python -m bench.observe <database.json> <id prefix> <count> <timeout s>``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from shopstream.stores.jsonlines import Entry
from shopstream.stores.jsonview import JsonView

_POLL_S = 0.0005


def main() -> None:
    path, prefix, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    seen: dict[str, float] = {}

    def take(entry: Entry) -> None:
        ticket_id = entry["id"]
        if ticket_id.startswith(prefix) and ticket_id not in seen:
            seen[ticket_id] = time.monotonic()

    view = JsonView(Path(path), on_entry=take)
    deadline = time.monotonic() + timeout
    print("ready", flush=True)
    while len(seen) < count and time.monotonic() < deadline:
        view.refresh()
        time.sleep(_POLL_S)
    for ticket_id, at in seen.items():
        print(ticket_id, at)


if __name__ == "__main__":
    main()
