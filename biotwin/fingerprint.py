"""An order-independent fingerprint of every public table: what two builds compare.

Two warehouses built from the same landing zone by two versions of the code (a refactor), or
on two engines, must hold the same marts and twin tables. Row order is not part of a table,
and some columns are rightly different between builds: when it ran (`ingested_at_utc`,
`_batch_loaded_at`, `trained_at`, the date of an issue ingestion found), which run (`run_id`)
and which code (`code_version`, and the `model_id` derived from it). The fingerprint leaves
those out (VOLATILE, VOLATILE_IN) and hashes what
remains: each row as text, the rows' hashes sorted, the sorted list hashed again.
"""

from __future__ import annotations

import duckdb

PUBLIC_SCHEMAS = ("marts", "twin")
VOLATILE = frozenset(
    {"run_id", "ingested_at_utc", "_batch_loaded_at", "trained_at", "code_version", "model_id"}
)
# an issue that ingestion itself found (a quarantined row, a duplicate file) is dated when it
# was found; every other column of the issue is compared
VOLATILE_IN = {"marts.dq_issues": frozenset({"first_at_utc", "last_at_utc"})}


def table_fingerprints(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = PUBLIC_SCHEMAS
) -> dict[str, tuple[int, str]]:
    """{`schema.table`: (rows, md5 of the sorted row hashes)} for every table and view."""
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN (SELECT unnest(?)) ORDER BY 1, 2",
        [list(schemas)],
    ).fetchall()
    out = {}
    for schema, table in tables:
        columns = [
            name
            for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                "AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
            if name not in VOLATILE | VOLATILE_IN.get(f"{schema}.{table}", frozenset())
        ]
        kept = ", ".join(f'"{c}"' for c in columns)
        # names come from the catalogue; a row's text is its kept columns as one struct
        rows, digest = con.execute(
            f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM ("  # noqa: S608
            f"SELECT md5(CAST(struct_pack({kept}) AS VARCHAR)) AS h "
            f'FROM "{schema}"."{table}")'
        ).fetchall()[0]
        out[f"{schema}.{table}"] = (int(rows), str(digest))
    return out
