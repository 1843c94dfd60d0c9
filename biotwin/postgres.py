"""The marts served from PostgreSQL: each publication loaded into a server any SQL client reaches.

DuckDB builds the warehouse (ingestion and dbt stay on the embedded engine); after a run, the
published state's `marts` and `twin` tables are copied into PostgreSQL and swapped in: they are
loaded into `<schema>__next` schemas while readers keep reading the current ones, then one
transaction renames the schemas, so a reader sees the old state or the new one, never a mix
(PostgreSQL's transactional DDL). Each load is also an entry in the server's own
`audit.audit_log`, which the writer role may only append to (scripts/postgres.sh grants it).

Credentials come from the environment only: BIOTWIN_POSTGRES_WRITER_URL (runs) and
BIOTWIN_POSTGRES_READER_URL (readers); docs/scale-out.md says why the marts are loaded, not
built, here.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from biotwin.publication import PUBLISHED_SCHEMAS, Publication
from biotwin.warehouse import connect

# DuckDB's types in the marts and twin tables -> PostgreSQL's
TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "UUID": "uuid",
}
COPY_CHUNK = 1024 * 1024


class NotServed(RuntimeError):
    """The published state could not be served (a column type PostgreSQL is not given, or the
    server refused); the previous state stays served."""


@dataclass(frozen=True)
class Served:
    tables: dict[str, int]  # rows loaded per schema.table


def writer_url(env: Mapping[str, str] | None = None) -> str | None:
    """The writer's connection URL, or None: the marts are then served by DuckDB files only."""
    return (os.environ if env is None else env).get("BIOTWIN_POSTGRES_WRITER_URL") or None


def pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    try:
        return TYPES[duckdb_type]
    except KeyError:
        raise NotServed(f"no PostgreSQL type for DuckDB's {duckdb_type}") from None


def served_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """{schema.table: [(column, PostgreSQL type), …]} of every published mart and twin table."""
    rows = con.execute(
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
        "FROM information_schema.columns AS c JOIN information_schema.tables AS t "
        "USING (table_schema, table_name) "
        "WHERE c.table_schema IN (SELECT unnest(?)) AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_schema, c.table_name, c.ordinal_position",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        out.setdefault(f"{schema}.{table}", []).append((column, pg_type(data_type)))
    return out


def serve(published_file: Path, publication: Publication, url: str) -> Served:
    """Load the publication's mart and twin tables into PostgreSQL and swap them in."""
    source = connect(published_file, read_only=True)  # UTC: instants as the marts mean them
    try:
        tables = served_tables(source)
        with psycopg.connect(url) as pg, tempfile.TemporaryDirectory() as scratch:
            pg.execute("SET TIME ZONE 'UTC'")
            for schema in PUBLISHED_SCHEMAS:
                staged = sql.Identifier(f"{schema}__next")
                pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(staged))
                pg.execute(sql.SQL("CREATE SCHEMA {}").format(staged))
            counts = {
                name: _load_table(source, pg, name, columns, Path(scratch))
                for name, columns in tables.items()
            }
            _swap(pg)
            pg.execute(
                "INSERT INTO audit.audit_log (kind, subject, actor, detail) "
                "VALUES (%s, %s, %s, %s)",
                [
                    "publication_served",
                    f"published/state@{publication.run_id}",
                    f"dagster run {publication.run_id}",
                    json.dumps(
                        {
                            "publication": publication.seq,
                            "file": publication.file,
                            "sha256": publication.sha256,
                            "tables": counts,
                        }
                    ),
                ],
            )
            pg.commit()
    except psycopg.Error as exc:
        raise NotServed(f"PostgreSQL refused the load: {exc}".strip()) from exc
    finally:
        source.close()
    return Served(counts)


def _load_table(
    source: duckdb.DuckDBPyConnection,
    pg: psycopg.Connection,
    name: str,
    columns: list[tuple[str, str]],
    scratch: Path,
) -> int:
    """One table: created in the staging schema, its rows written by DuckDB as CSV and read by
    PostgreSQL's COPY (both engines' own fast paths)."""
    schema, table = name.split(".")
    target = sql.Identifier(f"{schema}__next", table)
    pg.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            target,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns
            ),
        )
    )
    dump = scratch / f"{name}.csv"
    source.execute(
        f'COPY (SELECT * FROM "{schema}"."{table}") TO \'{dump}\' '  # noqa: S608 - catalogue names
        "(FORMAT csv, HEADER false, NULL '', FORCE_QUOTE *)"
    )
    # every value quoted, NULL unquoted and empty: an empty string stays one, NULL stays NULL
    copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(target)
    with pg.cursor().copy(copy) as stream, dump.open("rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            stream.write(chunk)
    dump.unlink()
    return int(pg.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()[0])


def _swap(pg: psycopg.Connection) -> None:
    """In the load's transaction: the staged schemas take the served ones' names."""
    for schema in PUBLISHED_SCHEMAS:
        live, staged, old = (
            sql.Identifier(n) for n in (schema, f"{schema}__next", f"{schema}__old")
        )
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(old))
        exists = pg.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
        if exists:
            pg.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(live, old))
        pg.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(staged, live))
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(old))
