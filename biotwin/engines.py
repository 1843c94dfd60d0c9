"""Where the marts live per engine, and the comparison of two engines' marts.

DuckDB (the embedded default) builds the marts inside the warehouse file; Spark writes each
mart as a Parquet table under `<spark home>/warehouse/marts.db/<table>/` (partitioned tables as
`batch_id=<id>/` folders). `attach_spark_marts` makes those tables a `marts` schema of a DuckDB
connection, so every reader (the twin, `biotwin query`, the comparison) reads either engine's
marts with the same SQL. `compare` holds two engines' marts equal: every mart, every column,
as a multiset of rows (order-independent), doubles to a relative `FLOAT_TOLERANCE` (sums add
up in a different order on each engine: the last bits of a mean differ, nothing else may).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb

from biotwin.warehouse import one_row, plain_connection, rows_of, sql_literal, table_type

FLOAT_TOLERANCE = 1e-9  # relative difference allowed between two engines' doubles
DIGEST_DIGITS = 6  # significant digits of the floats in a table's digest


SPARK_MISSING = (
    "the Spark engine is not installed in this environment: run `make install-spark` "
    "(pyspark and dbt-spark, docs/scale-out.md)"
)


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (pyspark is not installed), or None."""
    return SPARK_MISSING if importlib.util.find_spec("pyspark") is None else None


def spark_tables(spark_home: Path, schema: str = "marts") -> dict[str, Path]:
    """Each Spark table of `schema` and its folder of Parquet files."""
    folder = spark_home / "warehouse" / f"{schema}.db"
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_dir()}


def attach_spark_marts(
    con: duckdb.DuckDBPyConnection,
    spark_home: Path,
    schema: str = "marts",
    replace_tables: bool = False,
) -> list[str]:
    """Views `<schema>.<table>` over the Spark engine's Parquet marts; returns their names.
    `replace_tables`: a table of that name (a DuckDB build's mart) gives way to the view."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    names = []
    for name, folder in spark_tables(spark_home).items():
        if replace_tables and table_type(con, schema, name) == "BASE TABLE":
            con.execute(f"DROP TABLE {schema}.{name}")
        files = sql_literal(str(folder / "**" / "*.parquet"))
        con.execute(
            f"CREATE OR REPLACE VIEW {schema}.{name} AS SELECT * FROM "  # noqa: S608 - folder names from dbt
            f"read_parquet({files}, hive_partitioning = true, hive_types_autocast = false)"
        )
        names.append(name)
    return names


def _marts_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The base tables of an attached warehouse's marts schema (views over Parquet are not)."""
    return [
        r[0]
        for r in rows_of(
            con,
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? "
            "AND table_schema = 'marts' AND table_type = 'BASE TABLE' ORDER BY 1",
            [catalog],
        )
    ]


@dataclass(frozen=True)
class TableComparison:
    table: str
    rows_left: int
    rows_right: int
    only_left: int  # rows (with multiplicity) the right engine lacks
    only_right: int
    columns_missing: tuple[str, ...]  # columns one engine has and the other not
    digest_left: str
    digest_right: str

    @property
    def equal(self) -> bool:
        return not (self.only_left or self.only_right or self.columns_missing)


def _column_kinds(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})")  # noqa: S608
    out = {}
    for name, kind in rows.fetchall():
        kind = kind.upper()
        if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
            out[name] = "float"
        elif kind.startswith("TIMESTAMP"):
            out[name] = "time"
        else:
            out[name] = "text"
    return out


def _normalised(relation: str, kinds: dict[str, str], columns: list[str]) -> str:
    """The columns in a form both engines agree on: floats as doubles, timestamps as UTC
    microseconds, everything else as text; with each row's rank among the rows that share
    all its exact (non-float) values, ordered by its floats."""
    parts = []
    for c in columns:
        q = f'"{c}"'
        if kinds[c] == "float":
            parts.append(f"CAST({q} AS DOUBLE) AS {q}")
        elif kinds[c] == "time":
            parts.append(f"epoch_us(CAST({q} AS TIMESTAMPTZ)) AS {q}")
        else:
            parts.append(f"CAST({q} AS VARCHAR) AS {q}")
    exact = [f'"{c}"' for c in columns if kinds[c] != "float"]
    floats = [f'"{c}"' for c in columns if kinds[c] == "float"] or ["1"]
    window = (
        (f"PARTITION BY {', '.join(exact)} " if exact else "")
        + "ORDER BY "
        + ", ".join(f"{f} NULLS FIRST" for f in floats)
    )
    return (
        f"SELECT *, row_number() OVER ({window}) AS _rank "  # noqa: S608
        f"FROM (SELECT {', '.join(parts)} FROM {relation})"
    )


def _float_differs(column: str) -> str:
    a, b = f'l."{column}"', f'r."{column}"'
    return (
        f"(({a} IS NULL) <> ({b} IS NULL) OR abs({a} - {b}) > "
        f"{FLOAT_TOLERANCE} * greatest(abs({a}), abs({b}), 1e-12))"
    )


def compare_tables(
    con: duckdb.DuckDBPyConnection, left: str, right: str, table: str
) -> TableComparison:
    """Rows of `left` and `right` paired on all their exact values (text, integers, times)
    and their rank among the rows that share them; a row without a partner, or whose partner's
    floats differ by more than FLOAT_TOLERANCE (relative), is a difference."""
    kinds_l, kinds_r = _column_kinds(con, left), _column_kinds(con, right)
    common = sorted(set(kinds_l) & set(kinds_r))
    missing = tuple(sorted(set(kinds_l) ^ set(kinds_r)))
    kinds = {c: "float" if "float" in (kinds_l[c], kinds_r[c]) else kinds_l[c] for c in common}
    a, b = _normalised(left, kinds, common), _normalised(right, kinds, common)
    (n_l,) = one_row(con, f"SELECT count(*) FROM {left}")  # noqa: S608
    (n_r,) = one_row(con, f"SELECT count(*) FROM {right}")  # noqa: S608
    on = " AND ".join(
        [f'l."{c}" IS NOT DISTINCT FROM r."{c}"' for c in common if kinds[c] != "float"]
        + ["l._rank = r._rank"]
    )
    differs = " OR ".join(_float_differs(c) for c in common if kinds[c] == "float") or "false"
    (only_l, only_r) = one_row(
        con,
        f"SELECT count(*) FILTER (WHERE l._rank IS NOT NULL AND (r._rank IS NULL OR {differs})), "  # noqa: S608
        f"count(*) FILTER (WHERE r._rank IS NOT NULL AND (l._rank IS NULL OR {differs})) "
        f"FROM ({a}) AS l FULL OUTER JOIN ({b}) AS r ON {on}",
    )
    digests = [_digest(con, relation, kinds, common) for relation in (left, right)]
    return TableComparison(
        table, int(n_l), int(n_r), int(only_l), int(only_r), missing, digests[0], digests[1]
    )


def _digest(
    con: duckdb.DuckDBPyConnection, relation: str, kinds: dict[str, str], columns: list[str]
) -> str:
    """An order-independent hash of the rows, floats at DIGEST_DIGITS significant digits (for
    the report; equality is compare_tables' tolerant pairing)."""
    forms = {
        "float": "printf('%.{digits}e', CAST({q} AS DOUBLE))",
        "time": "epoch_us(CAST({q} AS TIMESTAMPTZ))",
        "text": "CAST({q} AS VARCHAR)",
    }
    parts = [forms[kinds[c]].format(q=f'"{c}"', digits=DIGEST_DIGITS - 1) for c in columns]
    (digest,) = one_row(
        con,
        f"SELECT CAST(coalesce(sum(hash({', '.join(parts)})), 0) AS VARCHAR) FROM {relation}",  # noqa: S608
    )
    return str(digest)


def compare(
    warehouse: Path, spark_home: Path, spark_warehouse: Path | None = None
) -> list[TableComparison]:
    """Every mart of a DuckDB build's warehouse against the Spark engine's marts (a mart one
    engine lacks is a difference too). The marts a Python asset writes after the twin (the
    release readiness) live in the warehouse file on either engine: with `spark_warehouse`
    (the Spark run's DuckDB file), its marts tables are compared too."""
    con = plain_connection()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")  # a naive Parquet timestamp is a UTC instant
    try:
        con.execute(f"ATTACH {sql_literal(str(warehouse))} AS duck (READ_ONLY)")
        duck = _marts_tables(con, "duck")
        spark = {t: f"spark_marts.{t}" for t in attach_spark_marts(con, spark_home, "spark_marts")}
        if spark_warehouse is not None:
            con.execute(f"ATTACH {sql_literal(str(spark_warehouse))} AS spark_file (READ_ONLY)")
            spark |= {t: f"spark_file.marts.{t}" for t in _marts_tables(con, "spark_file")}
        out = []
        for table in sorted(set(duck) | set(spark)):
            if table not in duck or table not in spark:
                side = "duckdb" if table in duck else "spark"
                out.append(TableComparison(table, 0, 0, 0, 0, (f"only on {side}",), "", ""))
                continue
            out.append(compare_tables(con, f"duck.marts.{table}", spark[table], table))
        return out
    finally:
        con.close()
