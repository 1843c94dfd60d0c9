"""`marts.batch_release_readiness`: per batch, whether QA can start the release review.

One row per batch: the CQAs its product specifies and which have a current approved result
(and which of those are out of specification), the signatures the reference requires of the
phases it finished and which are present, whether its chain of identity is unbroken, its
exceptions by severity, and a verdict with the reasons for it:

- `blocked`: the batch is still running, a CQA has no approved result or is out of
  specification, a required signature is missing, the chain of identity is broken, or a
  critical exception stands;
- `review`: nothing blocks it, but major exceptions need a reviewer's assessment;
- `ready`: nothing but minor exceptions (listed) — ready for QA's release decision, which
  biotwin never takes (docs/gmp.md).

The chain of identity is the custody record up to manufacturing: no missing step and no
unsigned hand-off (infusion follows release). An allogeneic batch needs its donor recorded; a
vector or other batch has no patient chain (null).
"""

from __future__ import annotations

import duckdb

from biotwin.warehouse import table_exists
from release.exceptions import TABLE as EXCEPTIONS

TABLE = "marts.batch_release_readiness"

READINESS = f"""
WITH cqa AS (
    SELECT b.batch_id, s.parameter_id, s.sample_point,
           bool_or(r.status = 'approved') AS has_result,
           bool_or(r.status = 'approved' AND r.out_of_spec) AS out_of_spec
    FROM marts.dim_batch AS b
    JOIN ref.specifications AS s ON s.product_id = b.product_id AND s.criticality = 'CQA'
    LEFT JOIN marts.fct_lab_result AS r
      ON r.batch_id = b.batch_id AND r.parameter_id = s.parameter_id
     AND r.sample_point IS NOT DISTINCT FROM s.sample_point AND r.is_current
    GROUP BY ALL
),
cqas AS (
    SELECT batch_id, count(*) AS n_cqa, count(*) FILTER (WHERE has_result) AS n_cqa_approved,
           string_agg(parameter_id, ', ' ORDER BY parameter_id)
               FILTER (WHERE NOT coalesce(has_result, false)) AS cqa_without_result,
           string_agg(parameter_id, ', ' ORDER BY parameter_id)
               FILTER (WHERE out_of_spec) AS cqa_out_of_spec
    FROM cqa GROUP BY batch_id
),
required AS (
    SELECT ph.batch_id, ph.phase, r.meaning,
           EXISTS (SELECT 1 FROM marts.fct_signature AS s WHERE s.batch_id = ph.batch_id
                   AND s.phase = ph.phase AND s.meaning = r.meaning) AS present
    FROM marts.fct_batch_phase AS ph
    JOIN marts.dim_batch AS b USING (batch_id)
    JOIN {{signatures}} AS r ON r.product_id = b.product_id AND r.phase = ph.phase
    WHERE ph.ended_at_utc IS NOT NULL
),
signatures AS (
    SELECT batch_id, count(*) AS n_signatures_required,
           count(*) FILTER (WHERE present) AS n_signatures_present,
           string_agg(phase || ' ' || meaning, ', ' ORDER BY phase, meaning)
               FILTER (WHERE NOT present) AS signatures_missing
    FROM required GROUP BY batch_id
),
chain AS (
    SELECT b.batch_id,
           CASE WHEN b.process_type = 'autologous'
                THEN coalesce(c.n_missing_steps = 0 AND c.n_unsigned_handoffs = 0, false)
                WHEN b.process_type = 'allogeneic'
                THEN b.donor_id IS NOT NULL
                     AND coalesce(c.n_missing_steps = 0 AND c.n_unsigned_handoffs = 0, true)
           END AS chain_of_identity_complete
    FROM marts.dim_batch AS b
    LEFT JOIN marts.fct_chain_of_identity AS c ON c.batch_id = b.batch_id
),
counts AS (
    SELECT batch_id,
           count(*) FILTER (WHERE severity = 'critical') AS n_critical,
           count(*) FILTER (WHERE severity = 'major') AS n_major,
           count(*) FILTER (WHERE severity = 'minor') AS n_minor
    FROM {EXCEPTIONS} GROUP BY batch_id
),
joined AS (
    SELECT b.batch_id, b.product_id, b.process_type, b.status AS record_status,
           b.is_in_progress,
           coalesce(q.n_cqa, 0) AS n_cqa, coalesce(q.n_cqa_approved, 0) AS n_cqa_approved,
           q.cqa_without_result, q.cqa_out_of_spec,
           coalesce(s.n_signatures_required, 0) AS n_signatures_required,
           coalesce(s.n_signatures_present, 0) AS n_signatures_present,
           s.signatures_missing, ch.chain_of_identity_complete,
           coalesce(e.n_critical, 0) AS n_critical, coalesce(e.n_major, 0) AS n_major,
           coalesce(e.n_minor, 0) AS n_minor
    FROM marts.dim_batch AS b
    LEFT JOIN cqas AS q USING (batch_id)
    LEFT JOIN signatures AS s USING (batch_id)
    LEFT JOIN chain AS ch USING (batch_id)
    LEFT JOIN counts AS e USING (batch_id)
),
reasons AS (
    SELECT *,
           list_filter([
               CASE WHEN is_in_progress THEN 'batch still in progress' END,
               CASE WHEN cqa_without_result IS NOT NULL
                    THEN 'no approved result for CQA ' || cqa_without_result END,
               CASE WHEN cqa_out_of_spec IS NOT NULL
                    THEN 'CQA out of specification: ' || cqa_out_of_spec END,
               CASE WHEN signatures_missing IS NOT NULL
                    THEN 'required signature missing: ' || signatures_missing END,
               CASE WHEN chain_of_identity_complete = false
                    THEN 'chain of identity incomplete' END,
               CASE WHEN n_critical > 0 THEN n_critical || ' critical exception(s)' END
           ], lambda x: x IS NOT NULL) AS blocking,
           list_filter([
               CASE WHEN n_major > 0 THEN n_major || ' major exception(s) to assess' END
           ], lambda x: x IS NOT NULL) AS to_review
    FROM joined
)
SELECT * EXCLUDE (blocking, to_review),
       CASE WHEN len(blocking) > 0 THEN 'blocked' WHEN len(to_review) > 0 THEN 'review'
            ELSE 'ready' END AS verdict,
       CASE WHEN len(blocking) > 0 THEN array_to_string(blocking, '; ')
            WHEN len(to_review) > 0 THEN array_to_string(to_review, '; ')
            ELSE 'no exception stops the review'
                 || CASE WHEN n_minor > 0 THEN ' (' || n_minor || ' minor listed)' ELSE '' END
       END AS reasons
FROM reasons
ORDER BY batch_id
"""

# a reference folder without required_signatures.csv: no signature is required
NO_SIGNATURES = (
    "(SELECT NULL::VARCHAR AS product_id, NULL::VARCHAR AS phase, NULL::VARCHAR AS meaning "
    "WHERE false)"
)


def build_readiness(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """(Re)write marts.batch_release_readiness after marts.batch_exceptions; returns batches
    per verdict."""
    has_signatures = table_exists(con, "ref", "required_signatures")
    signatures = "ref.required_signatures" if has_signatures else NO_SIGNATURES
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {READINESS.format(signatures=signatures)}")
    rows = con.execute(f"SELECT verdict, count(*) FROM {TABLE} GROUP BY verdict").fetchall()
    return {"blocked": 0, "review": 0, "ready": 0} | {v: int(n) for v, n in rows}
