"""Read-only SQL on the warehouse: what `biotwin query` and the demo summary print.

The warehouse is opened read-only, so a query can never change it and can run while nothing
else writes (DuckDB allows one writer; readers must be read-only). A query reads the warehouse
and nothing else (docs/queries.md, "What a query may do"): one SELECT or EXPLAIN statement per
call, on a connection with external access off (no file-reading table functions, no COPY, no
ATTACH, no INSTALL or LOAD) and its configuration locked, so no SET can turn that back on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from biotwin.warehouse import connect

Rows = list[tuple[Any, ...]]

# the connection a query gets: the warehouse file and nothing else, settings locked
SANDBOX = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
ALLOWED = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)


class QueryRefused(ValueError):
    """A statement `biotwin query` does not run; the message names the rule."""


def check_statement(sql: str) -> None:
    """Refuse anything but exactly one SELECT or EXPLAIN (a syntax error is DuckDB's to name)."""
    statements = duckdb.extract_statements(sql)
    if len(statements) != 1:
        raise QueryRefused(f"one statement per call (got {len(statements)})")
    if statements[0].type not in ALLOWED:
        keyword = statements[0].query.split(maxsplit=1)[0].upper()  # INSTALL, not LOAD
        raise QueryRefused(
            f"{keyword} statements are refused: biotwin query is read-only "
            "(one SELECT or EXPLAIN on the warehouse)"
        )


def run_query(warehouse: Path, sql: str) -> tuple[list[str], Rows]:
    """Column names and rows of one SELECT (or EXPLAIN), on a read-only, sandboxed connection
    (SANDBOX); raises QueryRefused for anything else."""
    if not warehouse.exists():
        raise ValueError(f"no warehouse at {warehouse}: run `make demo` or `biotwin run` first")
    check_statement(sql)
    con = connect(warehouse, read_only=True, config=SANDBOX)  # UTC: times as the marts mean
    try:
        con.execute("SET lock_configuration = true")  # no statement can change a setting now
        result = con.sql(sql)
        if result is None:
            return [], []
        return list(result.columns), result.fetchall()
    finally:
        con.close()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_table(columns: Sequence[str], rows: Rows) -> str:
    """A plain aligned text table (what a terminal shows best); numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(_is_number(r[i]) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def format_csv(columns: Sequence[str], rows: Rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[("" if v is None else v) for v in row] for row in rows])
    return buffer.getvalue()


def mart_row_counts(warehouse: Path) -> tuple[list[str], Rows]:
    """Exact row count of every table in the marts schema."""
    _, tables = run_query(
        warehouse,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'marts' ORDER BY table_name",
    )
    if not tables:
        return ["mart", "row_count"], []
    union = " UNION ALL ".join(
        # names come from the catalogue and are checked to be identifiers
        f"SELECT '{name}' AS mart, count(*) AS row_count FROM marts.\"{name}\""  # noqa: S608
        for (name,) in tables
        if name.replace("_", "").isalnum()
    )
    return run_query(warehouse, union + " ORDER BY mart")


READINESS_SUMMARY_SQL = """
SELECT verdict, count(*) AS batches, string_agg(batch_id, ', ' ORDER BY batch_id) AS batch_ids
FROM marts.batch_release_readiness
GROUP BY verdict ORDER BY CASE verdict WHEN 'ready' THEN 0 WHEN 'review' THEN 1 ELSE 2 END
"""

DQ_SUMMARY_SQL = """
SELECT source_system, issue_type, severity, count(*) AS issues, sum(n_records) AS records
FROM marts.dq_issues GROUP BY ALL ORDER BY source_system, severity, issue_type
"""
