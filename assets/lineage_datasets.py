"""What an asset run read and wrote, as OpenLineage datasets: the landing files an ingestion
run processed and the raw tables it wrote, with its contract's checks as they ran; the
reference CSVs and `ref.*` tables. The events around the run are lineage/asset_run.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from assets.contracts.assertions import contract_assertions, model_checks
from assets.contracts.reference import MODELS as REFERENCE_MODELS
from assets.contracts.rules import Contract
from assets.ingest.tables import SYSTEM_TABLES
from lineage import facets
from lineage.asset_run import Dataset, table_dataset
from lineage.catalogue import read_catalogue
from lineage.naming import FILE_NAMESPACE, file_name


def ingestion_datasets(
    con: duckdb.DuckDBPyConnection,
    system: str,
    dagster_run_id: str,
    landing: Path,
    contract: Contract,
    checks_run: Iterable[str],
) -> tuple[list[Dataset], list[Dataset]]:
    """Inputs: every landing file this run processed (loaded, quarantined or refused).
    Outputs: the system's raw tables, the ledger and the quarantine; the contract's checks
    that ran in this run (`checks_run`), failed where it quarantined a row for them, on the
    table the contract describes."""
    files = con.execute(
        "SELECT DISTINCT source_path FROM raw.file_ledger WHERE system = ? AND run_id = ? "
        "ORDER BY 1",
        [system, dagster_run_id],
    ).fetchall()
    failed = con.execute(
        "SELECT DISTINCT check_name FROM raw.quarantine WHERE contract = ? AND run_id = ?",
        [contract.name, dagster_run_id],
    ).fetchall()
    catalogue = read_catalogue(con)
    assertions = facets.quality_assertions(
        contract_assertions(contract, [f for (f,) in failed], ran=checks_run)
    )
    tables = SYSTEM_TABLES[system]
    outputs = [
        table_dataset(
            catalogue,
            "raw",
            table,
            {"dataQualityAssertions": assertions} if table == tables[0] else {},
        )
        for table in tables
    ]
    outputs += [table_dataset(catalogue, "raw", t) for t in ("file_ledger", "quarantine")]
    inputs = [(FILE_NAMESPACE, file_name(landing / path), {}) for (path,) in files]
    return inputs, outputs


def reference_datasets(
    con: duckdb.DuckDBPyConnection, folder: Path
) -> tuple[list[Dataset], list[Dataset]]:
    """Inputs: the reference CSVs; outputs: the ref.* tables (a load that breaks a contract
    raises, so on COMPLETE every declared check passed)."""
    catalogue = read_catalogue(con)
    inputs, outputs = [], []
    for csv_name, model in REFERENCE_MODELS.items():
        table = csv_name.removesuffix(".csv")
        checks = [(name, True, column) for name, column in model_checks(model)]
        source = file_name(folder / csv_name)
        inputs.append((FILE_NAMESPACE, source, {}))
        columns = catalogue.get("ref", {}).get(table, {})
        extra = {
            "dataQualityAssertions": facets.quality_assertions(checks),
            # each table is its own CSV, column for column
            "columnLineage": facets.column_lineage(
                {column: [(FILE_NAMESPACE, source, column)] for column in columns}
            ),
        }
        outputs.append(table_dataset(catalogue, "ref", table, extra))
    return inputs, outputs
