"""`marts.batch_exceptions`: one row per exception per batch, from every system and the twin.

Each kind is one SELECT over a conformed table (the marts, `ref.*`, `twin.*`), so a row says
what a reviewer must look at and carries the keys `biotwin trace <trace_table> <trace_key>`
follows to the source file and row. Severity (docs/gmp.md, "Review by exception"):

- `critical`: the batch cannot be released as it stands (an out-of-specification CQA, a
  missing required signature, a break in the chain of identity, a critical deviation);
- `major`: a reviewer must assess it (an amended or cancelled result, a late signature, a
  required phase a finished batch's record does not have, a
  temperature excursion in transit, a CPP outside its range or a gap in its record, a
  monitoring alarm, a forecast outside specification, quarantined data, a major deviation);
- `minor`: listed for completeness (a minor deviation, an implausible reading, a flagged
  reading of a parameter that is not a CPP).

The twin's kinds appear only where the twin has run (its tables exist).
"""

from __future__ import annotations

import duckdb

from biotwin.warehouse import rows_of, table_exists

TABLE = "marts.batch_exceptions"
SEVERITIES = ("critical", "major", "minor")
# a CPP reading run outside its specification shorter than this is noise, not an excursion
MIN_EXCURSION_MINUTES = 10
# readings of a CPP further apart than this while the batch runs: a gap in its record
GAP_MINUTES = 15

_COLUMNS = (
    "batch_id, kind, severity, occurred_at_utc, sentence, source_system, trace_table, "
    "trace_key, file_sha256"
)

DEVIATIONS = """
SELECT batch_id, 'deviation',
       CASE lower(classification) WHEN 'critical' THEN 'critical' WHEN 'major' THEN 'major'
            ELSE 'minor' END,
       opened_at_utc,
       'Deviation ' || deviation_id || ' (' || coalesce(classification, 'unclassified') || ')'
           || coalesce(' in ' || phase, '') || ': ' || coalesce(description, ''),
       'mes', 'marts.fct_deviation', deviation_id, NULL
FROM marts.fct_deviation WHERE batch_id IS NOT NULL
"""

# the dq issues that concern one batch, as the reviewer's kinds
DQ_KINDS = {
    "out_of_spec": ("out_of_spec_result", "marts.fct_lab_result"),
    "custody_gap": ("custody_gap", "marts.fct_custody_event"),
    "unsigned_handoff": ("unsigned_handoff", "marts.fct_custody_event"),
    "temperature_excursion": ("temperature_excursion", "marts.fct_custody_event"),
    "implausible_value": ("implausible_reading", "marts.fct_process_timeseries"),
    "flagged_reading": ("flagged_reading", "marts.fct_process_timeseries"),
    "quarantined_rows": ("quarantined_data", "marts.dq_issues"),
    "unlinked_record": ("unlinked_data", "marts.dq_issues"),
}


def _dq_issues() -> str:
    kinds = " ".join(f"WHEN '{t}' THEN '{k}'" for t, (k, _) in DQ_KINDS.items())
    tables = " ".join(f"WHEN '{t}' THEN '{table}'" for t, (_, table) in DQ_KINDS.items())
    wanted = ", ".join(f"'{t}'" for t in DQ_KINDS)
    return f"""
SELECT i.batch_id, CASE i.issue_type {kinds} END,
       CASE
         WHEN i.issue_type = 'out_of_spec' AND EXISTS (
              SELECT 1 FROM marts.fct_lab_result AS r WHERE r._record_id = i.record_id
              AND r.out_of_spec AND r.criticality = 'CQA') THEN 'critical'
         WHEN i.issue_type IN ('custody_gap', 'unsigned_handoff') THEN 'critical'
         WHEN i.issue_type IN ('flagged_reading', 'implausible_value') AND cpp.parameter_id
              IS NOT NULL THEN 'major'
         WHEN i.issue_type IN ('flagged_reading', 'implausible_value') THEN 'minor'
         ELSE 'major' END,
       i.first_at_utc,
       CASE i.issue_type
         WHEN 'out_of_spec' THEN 'Result out of specification: ' || i.detail
         WHEN 'custody_gap' THEN 'Chain of custody: a required step is missing before ' || i.detail
         WHEN 'unsigned_handoff' THEN 'Chain of custody: hand-off not signed (' || i.detail || ')'
         WHEN 'temperature_excursion' THEN 'Temperature excursion in custody: ' || i.detail
         WHEN 'implausible_value' THEN 'Implausible reading (not used): ' || i.detail
         WHEN 'flagged_reading' THEN i.n_records || ' readings flagged by the historian: '
              || i.detail
         WHEN 'quarantined_rows' THEN 'Quarantined data of this batch: ' || i.detail
         ELSE 'Record not linked to this batch: ' || i.detail END,
       i.source_system,
       CASE i.issue_type {tables} END,
       CASE WHEN i.issue_type IN ('quarantined_rows', 'unlinked_record') THEN i.issue_id
            ELSE i.record_id END,
       i.file_sha256
FROM marts.dq_issues AS i
LEFT JOIN marts.fct_process_timeseries AS p
       ON i.issue_type IN ('flagged_reading', 'implausible_value') AND p._record_id = i.record_id
LEFT JOIN marts.dim_batch AS b ON b.batch_id = i.batch_id
LEFT JOIN (SELECT DISTINCT product_id, parameter_id FROM ref.specifications
           WHERE criticality = 'CPP') AS cpp
       ON cpp.product_id = b.product_id AND cpp.parameter_id = p.parameter_id
WHERE i.batch_id IS NOT NULL AND i.issue_type IN ({wanted})
"""


# a result changed after it was first entered (amended) or cancelled and retested
CHANGED_RESULTS = """
WITH versions AS (
    SELECT *, lag(result_text) OVER (PARTITION BY result_id ORDER BY version) AS before_text
    FROM marts.fct_lab_result
)
SELECT batch_id,
       CASE WHEN status = 'cancelled' THEN 'cancelled_result' ELSE 'amended_result' END,
       'major', sampled_at_utc,
       CASE WHEN status = 'cancelled'
            THEN parameter_id || ' at ' || coalesce(sample_point, '?') || ': result '
                 || coalesce(result_text, '?') || ' cancelled'
            ELSE parameter_id || ' at ' || coalesce(sample_point, '?') || ' amended from '
                 || coalesce(before_text, '?') || ' to ' || coalesce(result_text, '?') END
           || coalesce(' (' || change_reason || ')', ''),
       source_system, 'marts.fct_lab_result', _record_id, NULL
FROM versions
WHERE batch_id IS NOT NULL
  AND (status = 'cancelled' OR (is_current AND version > 1 AND before_text IS DISTINCT FROM
       result_text))
"""

# the signatures the reference requires of every phase the batch has finished
SIGNATURES = """
WITH required AS (
    SELECT ph.batch_id, ph.phase, ph.ended_at_utc, ph._record_id, r.meaning, r.within_h
    FROM marts.fct_batch_phase AS ph
    JOIN marts.dim_batch AS b USING (batch_id)
    JOIN ref.required_signatures AS r ON r.product_id = b.product_id AND r.phase = ph.phase
    WHERE ph.ended_at_utc IS NOT NULL
),
signed AS (
    SELECT batch_id, phase, meaning, min(signed_at_utc) AS signed_at_utc
    FROM marts.fct_signature GROUP BY ALL
)
SELECT q.batch_id,
       CASE WHEN s.signed_at_utc IS NULL THEN 'missing_signature' ELSE 'late_signature' END,
       CASE WHEN s.signed_at_utc IS NULL THEN 'critical' ELSE 'major' END,
       coalesce(s.signed_at_utc, q.ended_at_utc),
       CASE WHEN s.signed_at_utc IS NULL
            THEN 'Required signature missing: ' || q.phase || ' not ' || q.meaning
            ELSE q.phase || ' ' || q.meaning || ' '
                 || round(epoch(s.signed_at_utc - q.ended_at_utc) / 3600, 1)
                 || ' h after the phase ended (allowed ' || q.within_h || ' h)' END,
       'mes', 'marts.fct_batch_phase', q._record_id, NULL
FROM required AS q
LEFT JOIN signed AS s USING (batch_id, phase, meaning)
WHERE s.signed_at_utc IS NULL
   OR (q.within_h IS NOT NULL
       AND s.signed_at_utc > q.ended_at_utc + to_microseconds(CAST(q.within_h * 3600e6 AS BIGINT)))
"""

# a finished batch whose record lacks a phase the reference requires signatures of: the phase
# was skipped, or the reference names it differently from the MES (then no signature of it
# would ever be asked for: say so instead of passing silently)
UNRECORDED_PHASES = """
SELECT b.batch_id, 'unrecorded_phase', 'major', b.ended_at_utc,
       'The reference requires signatures of phase "' || r.phase || '" ('
           || string_agg(r.meaning, ', ' ORDER BY r.meaning)
           || '), which the batch record does not have',
       'mes', 'marts.dim_batch', b.batch_id, NULL
FROM marts.dim_batch AS b
JOIN ref.required_signatures AS r ON r.product_id = b.product_id
WHERE NOT b.is_in_progress
  AND NOT EXISTS (SELECT 1 FROM marts.fct_batch_phase AS ph
                  WHERE ph.batch_id = b.batch_id AND ph.phase = r.phase)
GROUP BY b.batch_id, b.ended_at_utc, r.phase
"""

# runs of consecutive usable CPP readings outside the product's CPP range, and gaps
CPP_READINGS = """
    SELECT p.batch_id, p.parameter_id, p.ts_utc, p.value, p.unit, p._record_id, p._file_sha256,
           s.spec_min, s.spec_max,
           (p.value < s.spec_min OR p.value > s.spec_max) AS outside
    FROM marts.fct_process_timeseries AS p
    JOIN marts.dim_batch AS b USING (batch_id)
    JOIN ref.specifications AS s
      ON s.product_id = b.product_id AND s.parameter_id = p.parameter_id
     AND s.criticality = 'CPP'
    WHERE p.is_usable
"""

CPP_EXCURSIONS = f"""
WITH readings AS ({CPP_READINGS}),
runs AS (
    SELECT *, row_number() OVER (PARTITION BY batch_id, parameter_id ORDER BY ts_utc)
              - row_number() OVER (PARTITION BY batch_id, parameter_id, outside ORDER BY ts_utc)
              AS run
    FROM readings
),
excursions AS (
    SELECT batch_id, parameter_id, run, min(ts_utc) AS first_at, max(ts_utc) AS last_at,
           arg_min(_record_id, ts_utc) AS record_id, arg_min(_file_sha256, ts_utc) AS sha,
           CASE WHEN avg(value) < any_value(spec_min) THEN min(value) ELSE max(value) END
               AS worst, any_value(unit) AS unit, any_value(spec_min) AS lo,
           any_value(spec_max) AS hi
    FROM runs WHERE outside GROUP BY batch_id, parameter_id, run
    HAVING max(ts_utc) - min(ts_utc) >= INTERVAL {MIN_EXCURSION_MINUTES} MINUTE
)
SELECT batch_id, 'cpp_excursion', 'major', first_at,
       'CPP ' || parameter_id || ' outside ' || coalesce(CAST(lo AS VARCHAR), '') || '..'
           || coalesce(CAST(hi AS VARCHAR), '') || ' ' || unit || ' for '
           || CAST(round(epoch(last_at - first_at) / 60) AS INTEGER) || ' min (worst '
           || round(worst, 2) || ' ' || unit || ')',
       'historian', 'marts.fct_process_timeseries', record_id, sha
FROM excursions
"""

CPP_GAPS = f"""
WITH readings AS ({CPP_READINGS}),
steps AS (
    SELECT *, lag(ts_utc) OVER (PARTITION BY batch_id, parameter_id ORDER BY ts_utc) AS prev
    FROM readings
)
SELECT batch_id, 'cpp_gap', 'major', prev,
       'No usable ' || parameter_id || ' reading for '
           || CAST(round(epoch(ts_utc - prev) / 60) AS INTEGER)
           || ' min (from ' || strftime(prev, '%Y-%m-%d %H:%M') || ' UTC)',
       'historian', 'marts.fct_process_timeseries', _record_id, _file_sha256
FROM steps WHERE ts_utc - prev > INTERVAL {GAP_MINUTES} MINUTE
"""

MONITORING = """
SELECT m.batch_id, 'monitoring_alarm', 'major',
       (SELECT min(p.ts_utc) FROM marts.fct_process_timeseries AS p
        WHERE p.batch_id = m.batch_id AND p.elapsed_h >= m.elapsed_h),
       'Golden-batch monitoring alarm at ' || round(m.elapsed_h, 1) || ' h (T2 '
           || round(m.t2, 1) || ' / limit ' || round(m.t2_limit, 1) || ', SPE ' || round(m.spe, 1)
           || ' / ' || round(m.spe_limit, 1) || '); top contributors: '
           || coalesce(m.top_contributors, '?'),
       'twin', 'twin.model_registry', m.model_id, NULL
FROM twin.batch_monitoring AS m WHERE m.is_first_alarm
"""

# an in-progress batch whose latest forecast of its outcome falls outside the specification
FORECASTS = """
WITH latest AS (
    SELECT f.*, row_number() OVER (PARTITION BY f.batch_id ORDER BY f.checkpoint_h DESC) AS k
    FROM twin.outcome_forecast AS f
    JOIN marts.dim_batch AS b USING (batch_id)
    WHERE b.is_in_progress AND f.actual IS NULL
)
SELECT l.batch_id, 'forecast_out_of_spec', 'major',
       (SELECT min(p.ts_utc) FROM marts.fct_process_timeseries AS p
        WHERE p.batch_id = l.batch_id AND p.elapsed_h >= l.checkpoint_h),
       'Forecast ' || l.outcome_parameter_id || ' at ' || round(l.checkpoint_h, 1) || ' h: '
           || round(l.predicted, 3) || ' (90 % interval ' || round(l.lower, 3) || '..'
           || round(l.upper, 3) || ') outside ' || coalesce(CAST(s.spec_min AS VARCHAR), '')
           || '..' || coalesce(CAST(s.spec_max AS VARCHAR), ''),
       'twin', 'twin.model_registry', l.model_id, NULL
FROM latest AS l
JOIN marts.dim_batch AS b USING (batch_id)
JOIN ref.specifications AS s
  ON s.product_id = l.product_id AND s.parameter_id = l.outcome_parameter_id
WHERE l.k = 1 AND (l.predicted < s.spec_min OR l.predicted > s.spec_max)
"""


def exceptions_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The SELECT of every exception the warehouse holds (the twin's where it has run)."""
    parts = [DEVIATIONS, _dq_issues(), CHANGED_RESULTS, CPP_EXCURSIONS, CPP_GAPS]
    if table_exists(con, "ref", "required_signatures"):
        parts += [SIGNATURES, UNRECORDED_PHASES]
    if table_exists(con, "twin", "batch_monitoring"):
        parts.append(MONITORING)
    if table_exists(con, "twin", "outcome_forecast"):
        parts.append(FORECASTS)
    union = "\nUNION ALL\n".join(f"SELECT * FROM ({p})" for p in parts)
    return f"""
SELECT sha256(concat_ws('|', batch_id, kind, trace_table, trace_key, sentence)) AS exception_id,
       *
FROM (SELECT * FROM ({union}) AS e({_COLUMNS}))
ORDER BY batch_id, occurred_at_utc NULLS LAST, kind, trace_key
"""


class RepeatedExceptions(RuntimeError):
    """One exception would be counted twice (a kind's SELECT multiplied its rows): structural,
    so the readiness is not written from it."""


def build_exceptions(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write marts.batch_exceptions in the open transaction; returns its rows. Raises
    RepeatedExceptions (the caller's transaction then rolls back) if an id repeats."""
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {exceptions_sql(con)}")
    rows, ids, example = rows_of(
        con,
        f"SELECT count(*), count(DISTINCT exception_id), "
        f"(SELECT any_value(kind || ' of ' || batch_id) FROM {TABLE} GROUP BY exception_id "
        f"HAVING count(*) > 1 LIMIT 1) FROM {TABLE}",
    )[0]
    if rows != ids:
        raise RepeatedExceptions(
            f"{TABLE}: {rows - ids} exception rows repeat another (e.g. {example}): a kind's "
            "query in release/exceptions.py joins to more than one row"
        )
    return int(rows)
