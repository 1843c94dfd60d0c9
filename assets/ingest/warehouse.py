"""Connections to the embedded DuckDB warehouse, with the settings every writer needs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.ingest.tables import RAW_TABLES, columns, create_statements, stored_table

MEMORY_LIMIT = "2GB"  # unbounded joins reach 6 GB; DuckDB spills beyond this


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers: one process at a time (DuckDB's rule); readers read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET temp_directory = ?", [str(path.parent / "duckdb_tmp")])
    con.execute("SET preserve_insertion_order = true")
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    old = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
        "AND table_name = 'historian_point' AND table_type = 'BASE TABLE'"
    ).fetchall()[0][0]
    if old:
        msg = (
            "this warehouse was written by an older biotwin (raw tables without "
            "raw.loaded_file); move it aside or delete it and ingest again"
        )
        raise RuntimeError(msg)
    statements = create_statements()
    views = [s for s in statements if s.startswith("CREATE OR REPLACE VIEW")]
    for statement in statements:
        if statement not in views:
            con.execute(statement)
    _add_new_columns(con)
    for statement in views:
        con.execute(statement)


def _add_new_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Columns a newer biotwin added to a raw table (null in the rows loaded before), so a
    warehouse keeps working across an upgrade (the views are created after this)."""
    existing = set(
        con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw'"
        ).fetchall()
    )
    for table in RAW_TABLES:
        stored = stored_table(table)
        for name, kind in columns(table):
            if (stored, name) not in existing:
                con.execute(f'ALTER TABLE raw.{stored} ADD COLUMN "{name}" {kind}')


def read_every_table(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Read every stored table of the warehouse in full (every column of every row, so every
    data block) and return (table, rows); a damaged file raises here, not in a later query."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() ORDER BY schema_name, table_name"
    ).fetchall()
    out = []
    for schema, table in tables:
        name = f'"{schema}"."{table}"'
        # names come from the catalogue; hash() touches every value of every column
        rows = con.execute(
            f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {name}"  # noqa: S608
        ).fetchall()[0][0]
        out.append((f"{schema}.{table}", int(rows)))
    return out


def cut_short(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """Why the file is shorter than its own header says (copied or restored in part), or None:
    DuckDB answers queries on such a file as long as they touch only its first blocks."""
    size = con.execute("PRAGMA database_size").fetchall()[0]
    block_size, total_blocks = int(size[2]), int(size[3])
    expected = block_size * total_blocks
    actual = path.stat().st_size
    if actual < expected:
        return (
            f"the file has {actual:,} bytes but its header counts {total_blocks} blocks of "
            f"{block_size:,} ({expected:,} bytes): it was cut short"
        )
    return None
