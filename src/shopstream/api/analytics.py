"""``GET /analytics`` and ``GET /analytics/timeline``: the manager's figures as JSON."""

from __future__ import annotations

import datetime
import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from shopstream.analytics import Analytics, Filters, Timeline, figures, timeline
from shopstream.api.deps import CatalogDep, StoreDep

router = APIRouter(
    tags=["analytics"],
    responses={
        503: {"description": "The store (a database) is unavailable; retry after `Retry-After`"}
    },
)


def _calendar_date(value: object) -> object:
    """Only ``YYYY-MM-DD``: a query string is otherwise read as a Unix timestamp."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")


IsoDate = Annotated[
    datetime.date,
    BeforeValidator(_calendar_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]


class AnalyticsQuery(BaseModel):
    """Which tickets the figures count; every filter is optional, no other is accepted."""

    model_config = ConfigDict(extra="forbid")

    store: str | None = Field(default=None, description="Only this store's tickets")
    date_from: IsoDate | None = Field(default=None, description="From this date (inclusive)")
    date_to: IsoDate | None = Field(default=None, description="Up to this date (inclusive)")

    def filters(self) -> Filters:
        return Filters(store=self.store, date_from=self.date_from, date_to=self.date_to)


QueryDep = Annotated[AnalyticsQuery, Query()]


@router.get("/analytics", summary="The manager's figures")
def get_analytics(query: QueryDep, store: StoreDep, catalog: CatalogDep) -> Analytics:
    """Category shares, average product price and average ticket total, overall and per store;
    the category list in force, and the lists the tickets counted were categorised with."""
    return figures(store.tally(query.filters()), catalog.categories, catalog.version)


@router.get("/analytics/timeline", summary="Tickets per day")
def get_timeline(query: QueryDep, store: StoreDep) -> Timeline:
    return timeline(store.tally(query.filters()))
