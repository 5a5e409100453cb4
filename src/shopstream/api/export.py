"""``GET /export.csv``: the stored product lines as CSV, streamed, under the figures' filters."""

from __future__ import annotations

from itertools import chain

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from shopstream import export
from shopstream.api.analytics import QueryDep
from shopstream.api.deps import StoreDep

router = APIRouter(
    tags=["analytics"],
    responses={
        503: {"description": "The store (a database) is unavailable; retry after `Retry-After`"}
    },
)


@router.get(
    "/export.csv",
    summary="The stored product lines as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per product line"}},
)
def get_export(query: QueryDep, store: StoreDep) -> StreamingResponse:
    """The columns of `shopstream export`: ticket_id, store, date, total_price, line,
    product_id, name, price, category; the same filters as `GET /analytics`.

    Streamed as the store is read, a thousand rows at a time.
    """
    tickets = store.tickets()
    # The first ticket is read here, in the thread pool: a store that cannot be read is
    # then a 503, before any of the answer is sent.
    first = next(tickets, None)
    stored = iter(()) if first is None else chain([first], tickets)
    return StreamingResponse(
        export.chunks(stored, query.filters(), export.Format.CSV),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="shopstream-lines.csv"'},
    )
