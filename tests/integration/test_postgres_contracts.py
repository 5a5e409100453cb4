"""Every store's contract, on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from testbed.postgres import PostgresServer
from tests.contracts.stores import (
    ApiFiguresContract,
    ExportContract,
    FiguresContract,
    ReportContract,
    StoreContract,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def store_url(postgres: PostgresServer) -> str:
    return postgres.new_database()


class TestStores(StoreContract):
    pass


class TestFigures(FiguresContract):
    pass


class TestApiFigures(ApiFiguresContract):
    pass


class TestReport(ReportContract):
    pass


class TestExport(ExportContract):
    pass
