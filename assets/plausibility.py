"""Plausibility rules on freshly ingested raw rows: kept, counted and flagged, never dropped.

Structural failures go to quarantine during ingestion; these rules look at rows that passed and
say which ones deserve a person's eye (dq_issues downstream holds the full list).
"""

from __future__ import annotations

import duckdb

from assets.ingest.sql import table as sql_table

# system -> (rule name, table, SQL condition on the raw row, what it means)
RULES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "historian": (
        (
            "digital_state",
            "historian_point",
            "digital_state IS NOT NULL",
            "a PI digital state instead of a value",
        ),
        (
            "not_good_quality",
            "historian_point",
            "quality <> 'Good'",
            "quality flag Bad, Questionable or Substituted",
        ),
        ("extreme_value", "historian_point", "abs(value) > 1e9", "value beyond ±1e9"),
    ),
    "lims": (
        (
            "numeric_entry_mismatch",
            "lims_result",
            "numeric_entry IS NOT NULL AND try_cast(entry AS DOUBLE) IS NOT NULL "
            "AND abs(try_cast(entry AS DOUBLE) - numeric_entry) "
            "> 1e-9 * greatest(1, abs(numeric_entry))",
            "NUMERIC_ENTRY differs from ENTRY",
        ),
        ("unreviewed", "lims_result", "result_status IN ('ENTERED')", "result not yet reviewed"),
    ),
    "instruments": (
        ("censored", "instrument_measurement", "censor <> ''", "below the instrument's range"),
        ("negative_value", "instrument_measurement", "value < 0", "negative reading"),
    ),
    "custody": (
        ("unsigned", "custody_event", "coalesce(signed_by, '') = ''", "hand-off not signed"),
        (
            "temperature_out_of_range",
            "custody_event",
            "temperature_c NOT BETWEEN -200 AND 60",
            "temperature outside -200..60 °C",
        ),
    ),
    "mes": (
        ("open_phase", "mes_phase", "end_raw IS NULL", "phase without an end (batch running)"),
    ),
}


def plausibility(con: duckdb.DuckDBPyConnection, system: str, run_id: str) -> dict[str, dict]:
    """rule -> {count, meaning, sample record ids} for the rows this run loaded."""
    out = {}
    for name, table, condition, meaning in RULES.get(system, ()):
        # the condition and table are this module's constants; the run id is bound
        count, sample = con.execute(
            f"""SELECT count(*), list(_record_id ORDER BY _record_id)[1:3]
                FROM {sql_table("raw", table)} WHERE _run_id = ? AND ({condition})""",  # noqa: S608
            [run_id],
        ).fetchall()[0]
        out[name] = {"count": int(count), "meaning": meaning, "sample_record_ids": sample or []}
    return out
