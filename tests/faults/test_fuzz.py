"""The OpenAPI schema fuzzed with schemathesis against the running API, worker and broker.

Every operation gets valid and invalid inputs. No answer may be a 5xx, every 4xx must say
what is wrong, and afterwards the store may hold only tickets that were answered 2xx.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case, GenerationMode

from shopstream.models import Ticket
from testbed.pipeline import REPO, MakePipeline, Pipeline

pytestmark = pytest.mark.faults

EXAMPLES_PER_OPERATION = 300
CASES: Counter[str] = Counter()
ACCEPTED: set[str] = set()


@pytest.fixture(scope="module")
def fuzzed(make_module_pipeline: MakePipeline) -> Iterator[Pipeline]:
    pipeline = make_module_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    yield pipeline
    # Everything stored came from an accepted request: nothing from a refused one.
    pipeline.wait_stored(sorted(ACCEPTED), timeout=120)
    stored = {t["id"] for t in json.loads(Path(pipeline.env["DATABASE_URL"]).read_text())}
    assert stored == ACCEPTED
    summary = REPO / "artifacts" / "schemathesis-summary.txt"
    summary.parent.mkdir(exist_ok=True)
    summary.write_text(
        f"schemathesis: {sum(CASES.values())} cases, "
        + ", ".join(f"{op}: {n}" for op, n in sorted(CASES.items()))
        + f"; 5xx 0; {len(ACCEPTED)} tickets accepted, {len(stored)} stored\n"
    )


def _operations(pipeline: Pipeline) -> list[APIOperation[Any, Any, Any, Any]]:
    schema = schemathesis.openapi.from_url(f"{pipeline.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


def _check(case: Case[Any]) -> None:
    response = case.call_and_validate()
    CASES[f"{case.method} {case.path}"] += 1
    assert response.status_code < 500, response.text
    if 400 <= response.status_code < 500:
        detail = response.json().get("detail")
        assert detail, f"a {response.status_code} that does not say what is wrong"
    if response.status_code == 202 and case.path == "/data":
        ACCEPTED.add(response.json()["id"])
    if response.status_code == 202 and case.path == "/data/batch":
        tickets: list[dict[str, Any]] = case.body  # type: ignore[assignment]
        # As stored: trimmed, an integer (7 or 7.0) as its text.
        ACCEPTED.update(Ticket.model_validate_json(json.dumps(t)).id for t in tickets)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_never_fails_and_explains_every_refusal(
    fuzzed: Pipeline, mode: GenerationMode
) -> None:
    for operation in _operations(fuzzed):
        if mode is GenerationMode.NEGATIVE and not (operation.body or operation.query):
            continue  # nothing to get wrong in a request without inputs

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Case[Any]) -> None:
            _check(case)

        fuzz()
