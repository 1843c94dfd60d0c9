"""The last lines of `biotwin run`: what failed, why, and what to run next.

A failed run must explain itself in a few lines — the step that failed and its reason, the
checks that block with their row counts and the query that shows the rows, what did not run
because of it — and never end in a traceback (the full log is in the Dagster UI).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FAILED_ROWS = "dagster_dbt/failed_row_count"  # dagster-dbt's metadata key on a test's check
PYTHON_FAILURES = "failures"  # the ingestion assets' structural check
MESSAGE_LINES = 3


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    name: str
    blocking: bool
    rows: int | None


def _first_lines(text: str, n: int = MESSAGE_LINES, width: int = 300) -> list[str]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return [line[:width] for line in lines[:n]]


def _without_class(message: str) -> str:
    """`assets.ingest.reference.ReferenceError: reference data …` → `reference data …`."""
    head, sep, rest = message.partition(": ")
    return rest if sep and " " not in head else message


def step_failures(result) -> list[tuple[str, list[str]]]:
    """(step, the first lines of its reason) for every step that failed."""
    out = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        data = event.event_specific_data
        user = getattr(data, "user_failure_data", None)
        if user is not None and user.description:
            reason = user.description
        else:
            # Dagster wraps the user's exception: its own message is the innermost cause
            error = data.error
            while error is not None and error.cause is not None:
                error = error.cause
            reason = _without_class(error.message) if error is not None else "failed"
        out.append((event.step_key or "?", _first_lines(reason)))
    return out


def steps_not_run(result) -> list[str]:
    """Steps of the run that never started (Dagster abandons what depends on a failure)."""
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    return sorted(node.name for node in result.job_def.graph.nodes if node.name not in started)


def failed_checks(result) -> list[FailedCheck]:
    out = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        metadata = evaluation.metadata
        count = metadata.get(FAILED_ROWS, metadata.get(PYTHON_FAILURES))
        out.append(
            FailedCheck(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                blocking=evaluation.severity.value == "ERROR",
                rows=None if count is None else int(count.value),
            )
        )
    return out


def test_tables(manifest: Mapping) -> dict[str, str]:
    """dbt test name -> the table its failing rows are stored in (store_failures)."""
    return {
        node["name"]: f"{node['schema']}.{node['alias']}"
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "test" and node.get("config", {}).get("store_failures")
    }


def failure_report(result, tables: Mapping[str, str]) -> list[str]:
    """The lines that end a failed run."""
    lines = ["", "what failed:"]
    for step, reason in step_failures(result):
        lines.append(f"  step {step}: {reason[0] if reason else 'failed'}")
        lines += [f"    {more}" for more in reason[1:]]
    checks = failed_checks(result)
    blocking = [c for c in checks if c.blocking]
    if blocking:
        lines.append("  checks that block what is downstream:")
        for check in blocking:
            rows = "" if check.rows is None else f": {check.rows:,} rows"
            lines.append(f"    {check.name} on {check.asset}{rows}")
            if check.name in tables:
                lines.append(
                    "      see them: biotwin query --live "  # noqa: S608 - printed advice, not run
                    f'"SELECT * FROM {tables[check.name]} LIMIT 20"'
                )
            elif check.asset.startswith("raw/"):
                lines.append(
                    '      see them: biotwin query --live "SELECT source_path, row_number, reason '
                    'FROM raw.quarantine ORDER BY quarantined_at DESC LIMIT 20"'
                )
    skipped = steps_not_run(result)
    if skipped:
        shown = ", ".join(skipped[:6]) + (
            f" and {len(skipped) - 6} more" if len(skipped) > 6 else ""
        )
        lines.append(f"  not run because of it: {shown}")
    warnings = [c for c in checks if not c.blocking]
    if warnings:
        lines.append(
            f"  {len(warnings)} warning checks did not block (the data flowed; see "  # noqa: S608
            'biotwin query --live "SELECT issue_type, count(*) FROM marts.dq_issues GROUP BY 1")'
        )
    lines.append(
        "next: fix what is named above (a landing file, a reference row), then biotwin run "
        "again; every event of this run is in the UI (biotwin ui)"
    )
    return lines
