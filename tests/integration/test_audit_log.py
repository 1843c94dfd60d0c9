"""audit.audit_log after ingestion: one entry per ledger row, and `biotwin audit verify` names
an edited, deleted or reordered entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import query

BIOTWIN = str(Path(sys.executable).with_name("biotwin"))


def _verify(warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIOTWIN, "audit", "verify"],
        env={**os.environ, "BIOTWIN_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_ledger_row_is_audited_once(ingested: Path) -> None:
    ledger = query(ingested, "SELECT count(*) AS n FROM raw.file_ledger")["n"].iloc[0]
    audited = query(
        ingested,
        "SELECT count(*) AS n, count(DISTINCT subject) AS subjects FROM audit.audit_log "
        "WHERE kind LIKE 'file_%'",
    ).iloc[0]
    assert audited["n"] == audited["subjects"] == ledger > 0
    kinds = set(query(ingested, "SELECT DISTINCT kind FROM audit.audit_log")["kind"])
    assert {"file_loaded", "file_quarantined", "file_duplicate"} <= kinds
    done = _verify(ingested)
    assert done.returncode == 0 and f"{ledger} entries verified" in done.stdout


TAMPERING = {
    "edit": (
        "UPDATE audit.audit_log SET detail = replace(detail, '\"rows_loaded\":', "
        "'\"rows_loaded\":1') WHERE seq = 7",
        7,
    ),
    "delete": ("DELETE FROM audit.audit_log WHERE seq = 7", 7),
    "reorder": (
        "CREATE OR REPLACE TABLE audit.audit_log AS SELECT * FROM audit.audit_log "
        "ORDER BY CASE seq WHEN 7 THEN 8 WHEN 8 THEN 7 ELSE seq END",
        7,
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampering_is_evident_and_named(ingested: Path, tmp_path: Path, how: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    sql, seq = TAMPERING[how]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)
    done = _verify(warehouse)
    assert done.returncode == 1
    assert f"BROKEN at entry {seq}" in done.stderr
