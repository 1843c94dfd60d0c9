"""Ingest systems end to end (what the Dagster assets call): connect, create, load, summarise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from assets.ingest import custody, historian, instruments, lims, mes
from assets.ingest.core import Loader, SystemSummary, ingest_system
from assets.ingest.reference import site_formats, site_timezones
from assets.ingest.tables import ensure_tables

# one per source system, in the order a run ingests them
LOADERS: dict[str, Loader] = {
    module.LOADER.system: module.LOADER for module in (historian, mes, lims, instruments, custody)
}


class LandingMissing(FileNotFoundError):
    """The landing root or a system's folder does not exist: a wrong path, never "no data"."""


def check_landing(landing: Path, system: str) -> None:
    """An absent landing root would otherwise ingest nothing and build empty marts that look
    like a plant with no batches; say which folder is missing and what to do."""
    if not landing.is_dir():
        raise LandingMissing(
            f"landing root {landing} does not exist: set BIOTWIN_LANDING (or BIOTWIN_HOME) to "
            "the folder that holds <system>/<site>/ extracts"
        )
    if not (landing / system).is_dir():
        raise LandingMissing(
            f"landing folder {landing / system} does not exist: create it (empty if the plant "
            f"has no {system} extracts yet) under {landing}"
        )


def ingest(
    con: duckdb.DuckDBPyConnection,
    system: str,
    landing: Path,
    reference: Path,
    run_id: str,
    settle_s: float | None = None,
    on_file: Callable[[SystemSummary, int], None] | None = None,
) -> SystemSummary:
    """Ingest `system`'s new files; `settle_s` is the settle window (None: the setting,
    BIOTWIN_SETTLE_SECONDS; 0 for files known to be complete, e.g. a scratch copy);
    `on_file(summary, total)` after each file."""
    check_landing(landing, system)
    ensure_tables(con)
    return ingest_system(
        con,
        landing,
        LOADERS[system],
        run_id,
        site_timezones(reference),
        site_formats=site_formats(reference, system),
        settle_s=settle_s,
        on_file=on_file,
    )


def ledger_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(system, status, files, rows read, loaded, quarantined) over the whole ledger."""
    return con.execute(
        """SELECT system, status, count(*), sum(rows_read), sum(rows_loaded),
                  sum(rows_quarantined)
           FROM raw.file_ledger GROUP BY ALL ORDER BY system, status"""
    ).fetchall()
