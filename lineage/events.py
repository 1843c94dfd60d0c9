"""OpenLineage run events (event_v2) with deterministic run ids: pure functions, no I/O.

A run id is a UUID derived from what identifies the run (e.g. the Dagster run id and the job),
so re-emitting or replaying the same run never creates a new run in a lineage backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from openlineage.client.event_v2 import (
    Dataset,
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.serde import Serde

PRODUCER = "https://github.com/biotwin/biotwin"
RUN_ID_NAMESPACE = uuid.UUID("6f1c2a4e-5b7d-4c3e-9a8f-0d2e4b6c8a10")


def run_id(*parts: str) -> str:
    return str(uuid.uuid5(RUN_ID_NAMESPACE, "\x1f".join(parts)))


def run_event(
    state: str,
    at: datetime,
    run: str,
    job_namespace: str,
    job_name: str,
    inputs: Sequence[tuple[str, str, Mapping[str, Any]]] = (),
    outputs: Sequence[tuple[str, str, Mapping[str, Any]]] = (),
    run_facets: Mapping[str, Any] | None = None,
    job_facets: Mapping[str, Any] | None = None,
) -> RunEvent:
    """One event; datasets as (namespace, name, facets)."""
    return RunEvent(
        eventType=RunState[state],
        eventTime=at.isoformat(),
        run=Run(runId=run, facets=dict(run_facets or {})),
        job=Job(namespace=job_namespace, name=job_name, facets=dict(job_facets or {})),
        inputs=[InputDataset(namespace=ns, name=name, facets=dict(f)) for ns, name, f in inputs],
        outputs=[OutputDataset(namespace=ns, name=name, facets=dict(f)) for ns, name, f in outputs],
        producer=PRODUCER,
    )


def to_dict(event: RunEvent | Dataset) -> dict[str, Any]:
    return Serde.to_dict(event)
