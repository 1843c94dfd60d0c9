"""The warehouse connection: the one place that opens DuckDB, for every layer.

Every connection to the warehouse file comes from `connect` (or `open_waiting`, which only
waits for the file): the UTC session time zone, the memory limit and the spill folder are set
once here, and a file another process holds is waited for with one message, never an error at
once. `plain_connection` is the one plain connection (an in-memory database, or a benchmark's
baseline) that has none of biotwin's settings. `rows_of`/`one_row` (whole results only),
`table_exists`, `read_every_table` and `cut_short` are the questions every layer asks of an
open warehouse.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import duckdb

FILE_HEADER_BYTES = 3 * 4096  # DuckDB's main header and its two database headers
MEMORY_LIMIT = "2GB"  # unbounded joins reach 6 GB; DuckDB spills beyond this


DEFAULT_LOCK_WAIT_S = 120.0
LOG = logging.getLogger(__name__)


class WarehouseBusy(RuntimeError):
    """Another process held the warehouse for longer than the wait; the message says who."""


def lock_wait_seconds() -> float:
    value = os.environ.get("BIOTWIN_LOCK_WAIT_SECONDS", "")
    try:
        return max(0.0, float(value)) if value else DEFAULT_LOCK_WAIT_S
    except ValueError:
        return DEFAULT_LOCK_WAIT_S


def _held(exc: duckdb.Error) -> bool:
    return "Could not set lock" in str(exc) or "Conflicting lock" in str(exc)


def holder(exc: duckdb.Error) -> str:
    """Who holds the lock, as DuckDB says it (`/usr/bin/python3 (PID 4242)`)."""
    match = re.search(r"Conflicting lock is held in (.+? \(PID \d+\))", str(exc))
    return match.group(1) if match else "another process"


def open_waiting(
    path: Path,
    read_only: bool,
    wait_s: float | None = None,
    say: Callable[[str], None] | None = None,
    config: Mapping[str, str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting while another process holds the file (a reader blocks the one
    writer, a writer blocks readers): retried with back-off up to `wait_s` (default
    BIOTWIN_LOCK_WAIT_SECONDS, 120 s), said once, then WarehouseBusy naming the holder."""
    wait_s = lock_wait_seconds() if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    delay, said = 0.2, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
        except duckdb.IOException as exc:
            if not _held(exc):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseBusy(
                    f"the warehouse {path} is held by {holder(exc)} for more than {wait_s:g} s "
                    "(a reader or another run); close it or let it finish, then run again "
                    "(BIOTWIN_LOCK_WAIT_SECONDS sets the wait)"
                ) from None
            if not said:
                (say or LOG.warning)(
                    f"the warehouse {path} is held by {holder(exc)}: waiting up to "
                    f"{wait_s:g} s for it"
                )
                said = True
            # the last sleep is cut to the deadline: one more try then, never a give-up before
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)


def connect(
    path: Path,
    read_only: bool = False,
    config: Mapping[str, str] | None = None,
    wait_s: float | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers: one process at a time (DuckDB's rule); readers read-only.
    A file held by another process is waited for (open_waiting), not an error at once.
    `config`: DuckDB options that can only be given when opening (e.g. a sandbox)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = open_waiting(path, read_only, wait_s, config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    if not read_only:  # a writer spills beside the file; a reader keeps DuckDB's default (a
        # sandboxed reader may not set it at all)
        con.execute("SET temp_directory = ?", [str(path.parent / "duckdb_tmp")])
    con.execute("SET preserve_insertion_order = true")
    return con


def plain_connection(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A plain DuckDB connection with none of the warehouse's settings: an in-memory database
    for work on files, or the plain DuckDB a benchmark compares biotwin with."""
    return duckdb.connect(database)


def rows_of(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    """Every row of a query, read to the end. `fetchone()` leaves DuckDB (2.0 and later) with
    an unfinished result that refuses the next `con.sql()` on the connection: the project reads
    whole results only (tests/unit/test_layers.py holds it to that)."""
    return con.execute(sql, params or []).fetchall()


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    """The single row of a query that has exactly one (an aggregate, a COPY's count)."""
    found = rows_of(con, sql, params)
    if len(found) != 1:
        raise ValueError(f"expected one row, got {len(found)}: {sql}")
    return found[0]


def table_type(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    """`BASE TABLE` or `VIEW` for `schema.table` of the open warehouse, None if it has none."""
    found = rows_of(
        con,
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = ?",
        [schema, table],
    )
    return found[0][0] if found else None


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the open warehouse has `schema.table` (a table or a view) yet."""
    return table_type(con, schema, table) is not None


def sql_literal(text: str) -> str:
    """A Python string as a SQL string literal, for the places DuckDB takes no parameter
    (a COPY target, an ATTACH path, a file glob inside a view)."""
    return "'" + text.replace("'", "''") + "'"


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


def shortfall(file_bytes: int, block_size: int, total_blocks: int, used_blocks: int) -> str | None:
    """Why a file of `file_bytes` is shorter than its header says, or None.

    A whole file holds its header and at least every used block. Free blocks at its end may be
    missing: DuckDB truncates them away after a checkpoint while still counting them in
    `total_blocks`, so the total is no lower bound (a demo warehouse of 838 blocks, 835 used,
    was 837 blocks long)."""
    expected = FILE_HEADER_BYTES + block_size * used_blocks
    if file_bytes >= expected:
        return None
    return (
        f"the file has {file_bytes:,} bytes but its header counts {used_blocks} used blocks of "
        f"{block_size:,} ({expected:,} bytes with the header, of {total_blocks} blocks): "
        "it was cut short"
    )


def cut_short(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """Why the file is shorter than its own header says (copied or restored in part), or None:
    DuckDB answers queries on such a file as long as they touch only its first blocks."""
    size = con.execute("PRAGMA database_size").fetchall()[0]
    block_size, total_blocks, used_blocks = int(size[2]), int(size[3]), int(size[4])
    return shortfall(path.stat().st_size, block_size, total_blocks, used_blocks)
