"""OpenLineage events of a Dagster run itself: the parent of every asset run in it.

An asset's events name the Dagster run as their parent; these are that parent's own START and
COMPLETE / FAIL / ABORT, so a lineage backend shows one run of `dagster.job.<job>` with its
assets beneath it. The run id is the Dagster run id (a UUID), the one the children point to.
Pure: the caller reads the run from the Dagster instance (orchestration/lineage_runs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage import events, facets
from lineage.naming import dagster_job_name

END_STATES = {"SUCCESS": "COMPLETE", "FAILURE": "FAIL", "CANCELED": "ABORT"}


@dataclass(frozen=True)
class DagsterRun:
    """What the events say about a run: read from its record in the Dagster instance."""

    run_id: str
    job: str
    status: str  # Dagster's run status: STARTED, SUCCESS, FAILURE, CANCELED, ...
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None = None


def dagster_run_events(
    run: DagsterRun, namespace: str, code_version: str, project_url: str
) -> list[dict[str, Any]]:
    """START once the run has started; its end event once it has ended; nothing before."""
    if run.started_at is None:
        return []
    name = dagster_job_name(run.job)
    job_facets = {
        "jobType": facets.job_type("DAGSTER", "JOB"),
        "sourceCodeLocation": facets.code_location(
            code_version, project_url, "orchestration/definitions.py"
        ),
    }
    out = [
        events.run_event(
            "START", run.started_at, run.run_id, namespace, name, job_facets=job_facets
        )
    ]
    end = END_STATES.get(run.status)
    if end is not None and run.ended_at is not None:
        run_facets = {}
        if end == "FAIL":
            run_facets["errorMessage"] = facets.error_message(run.error or "the run failed")
        out.append(
            events.run_event(
                end,
                run.ended_at,
                run.run_id,
                namespace,
                name,
                run_facets=run_facets,
                job_facets=job_facets,
            )
        )
    return [events.to_dict(e) for e in out]
