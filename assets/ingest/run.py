"""Ingest systems end to end (what the Dagster assets call): connect, create, load, summarise."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.ingest import custody, historian, instruments, lims, mes
from assets.ingest.core import Contract, SystemSummary, ingest_system
from assets.ingest.reference import site_formats, site_timezones
from assets.ingest.warehouse import ensure_tables

LOADERS = {
    "historian": historian,
    "mes": mes,
    "lims": lims,
    "instruments": instruments,
    "custody": custody,
}


def contract_of(system: str) -> Contract:
    module = LOADERS[system].CONTRACT
    return Contract(module.CONTRACT, module.VERSION)


def ingest(
    con: duckdb.DuckDBPyConnection, system: str, landing: Path, reference: Path, run_id: str
) -> SystemSummary:
    ensure_tables(con)
    module = LOADERS[system]
    return ingest_system(
        con,
        landing,
        system,
        module.load,
        contract_of(system),
        run_id,
        site_timezones(reference),
        group_loader=getattr(module, "load_csv_group", None),
        groupable=getattr(module, "groupable", None),
        site_formats=site_formats(reference, system),
    )


def ledger_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(system, status, files, rows read, loaded, quarantined) over the whole ledger."""
    return con.execute(
        """SELECT system, status, count(*), sum(rows_read), sum(rows_loaded),
                  sum(rows_quarantined)
           FROM raw.file_ledger GROUP BY ALL ORDER BY system, status"""
    ).fetchall()
