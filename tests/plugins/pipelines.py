"""Pipelines (the API and workers as real processes) on the session's or a test's broker.

Each pipeline's processes are stopped at teardown and their logs printed, which pytest
shows when a test failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstream.localkafka import LocalBroker
from testbed.pipeline import MakePipeline, Pipeline, on_broker


def _pipelines(broker: LocalBroker, workdir: Path) -> Iterator[MakePipeline]:
    made: list[Pipeline] = []

    def make(database_url: str | None = None, **env: str) -> Pipeline:
        pipeline = on_broker(broker.bootstrap_servers, workdir, database_url, **env)
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        pipeline.stop()
        print(pipeline.logs())


@pytest.fixture
def make_pipeline(kafka: LocalBroker, tmp_path: Path) -> Iterator[MakePipeline]:
    """``make_pipeline(database_url=..., **env)``: a pipeline on the session broker."""
    yield from _pipelines(kafka, tmp_path)


@pytest.fixture
def make_own_pipeline(own_broker: LocalBroker, tmp_path: Path) -> Iterator[MakePipeline]:
    """Pipelines on the test's own broker, stopped before it is."""
    yield from _pipelines(own_broker, tmp_path)


@pytest.fixture(scope="module")
def make_module_pipeline(
    kafka: LocalBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakePipeline]:
    """The same, for a pipeline that serves every test of a module."""
    yield from _pipelines(kafka, tmp_path_factory.mktemp("pipeline"))
