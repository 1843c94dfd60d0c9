"""audit.audit_log after ingestion: one entry per ledger row, and `biotwin audit verify` names
an edited, deleted or reordered entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.helpers import query

BIOTWIN = str(Path(sys.executable).with_name("biotwin"))


def _biotwin(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIOTWIN, *args],
        env={**os.environ, "BIOTWIN_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _verify(warehouse: Path) -> subprocess.CompletedProcess:
    return _biotwin(warehouse, "audit", "verify")


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
    total = query(ingested, "SELECT count(*) AS n FROM audit.audit_log")["n"].iloc[0]
    done = _verify(ingested)
    assert done.returncode == 0 and f"{total} entries verified" in done.stdout


TAMPERING = {
    "edit": (
        "UPDATE audit.audit_log SET detail = replace(detail, '}', ',\"x\":1}') WHERE seq = 7",
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


def test_reference_changes_are_audited_with_old_and_new_values(
    plant_dir: Path, tmp_path: Path
) -> None:
    import json

    from assets.ingest.reference import load_reference
    from biotwin.warehouse import connect
    from lineage.audit_log import verify_log

    reference = tmp_path / "reference"
    shutil.copytree(plant_dir / "reference", reference)
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        load_reference(con, reference, actor="test")
        first = con.execute("SELECT count(*) FROM audit.audit_log").fetchall()[0][0]
        rows = sum(
            len((reference / f).read_text().splitlines()) - 1
            for f in [p.name for p in reference.glob("*.csv")]
        )
        assert first == rows  # the first load adds every row
        load_reference(con, reference, actor="test")  # nothing changed: nothing recorded
        assert con.execute("SELECT count(*) FROM audit.audit_log").fetchall()[0][0] == first

        tags = (
            (reference / "tags.csv")
            .read_text()
            .replace(
                "BOS,BR101.TEMP_PV,BR-101,temperature,degC",
                "BOS,BR101.TEMP_PV,BR-101,temperature,degF",
            )
        )
        (reference / "tags.csv").write_text(tags)
        load_reference(con, reference, actor="test")
        changes = con.execute(
            "SELECT kind, subject, detail FROM audit.audit_log WHERE seq > ?", [first]
        ).fetchall()
        assert len(changes) == 1
        kind, subject, detail = changes[0]
        assert (kind, subject) == ("reference_changed", "ref.tags[BOS|BR101.TEMP_PV]")
        detail = json.loads(detail)
        assert detail["old"] == {"source_unit": "degC"} and detail["new"] == {"source_unit": "degF"}
        assert "tags.csv sha256" in detail["source"]
        assert verify_log(con).ok
    finally:
        con.close()


def test_the_nightly_job_verifies_the_chain_and_fails_on_tampering(
    ingested: Path, tmp_path: Path
) -> None:
    from dagster import DagsterInstance

    from assets.resources import PlantPaths
    from orchestration.definitions import defs

    schedules = {s.name: s for s in defs.schedules}
    assert schedules["nightly_audit_verify"].job_name == "audit_verify"
    assert schedules["nightly_rebuild"].job_name == "main"
    job = defs.resolve_job_def("audit_verify")
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse = _copy_with_anchor(ingested, tmp_path)

    def run():
        return job.execute_in_process(
            instance=DagsterInstance.ephemeral(),
            resources={"paths": PlantPaths(warehouse=str(warehouse))},
            raise_on_error=False,
        )

    assert run().success
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM audit.audit_log WHERE seq = 3")
    failed = run()
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert "BROKEN at entry 3" in str(failure.event_specific_data.error)


def test_runs_are_audited_with_their_code_version(conformed: Path) -> None:
    import json

    runs = query(conformed, "SELECT subject, detail FROM audit.audit_log WHERE kind = 'asset_run'")
    assets = {s.split("@")[0] for s in runs["subject"]}
    assert {"raw/historian", "raw/mes", "dbt_models"} <= assets
    dbt = json.loads(runs[runs["subject"].str.startswith("dbt_models@")]["detail"].iloc[0])
    assert dbt["code_version"].startswith(("git:", "biotwin=="))
    assert dbt["results"]["model:success"] > 30


def _copy_with_anchor(ingested: Path, tmp_path: Path) -> Path:
    from lineage.audit_anchor import anchor_path

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    assert anchor_path(ingested).is_file(), "every committed audit append anchors the head"
    shutil.copy(anchor_path(ingested), anchor_path(warehouse))
    return warehouse


def _forge(con: duckdb.DuckDBPyConnection, kind: str = "file_loaded") -> None:
    """Append an entry with a correct hash: what someone who read lineage/audit.py can do."""
    from lineage.audit import chain
    from lineage.audit_log import COLUMNS

    seq, head = con.execute("SELECT max(seq), arg_max(hash, seq) FROM audit.audit_log").fetchone()
    rows = chain(
        [
            {
                "recorded_at": datetime.now(UTC),
                "kind": kind,
                "subject": "historian/BOS/never_seen.csv@abc@2026-11-01T00:00:00.000000",
                "actor": "someone",
                "detail": "{}",
            }
        ],
        seq,
        head,
    )
    con.executemany(
        f"INSERT INTO audit.audit_log VALUES ({', '.join('?' * len(COLUMNS))})",
        [[r[c] for c in COLUMNS] for r in rows],
    )


def _rehash_from(con: duckdb.DuckDBPyConnection, seq: int) -> None:
    """Edit entry `seq` and re-hash it and every entry after it: a valid chain again."""
    from lineage.audit import entry_hash
    from lineage.audit_log import read

    rows = read(con)
    con.execute("DELETE FROM audit.audit_log WHERE seq >= ?", [seq])
    prev = rows[seq - 2]["hash"]
    for row in rows[seq - 1 :]:
        if row["seq"] == seq:
            row["detail"] = row["detail"].replace("}", ',"x":1}')
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(prev, row)
        con.execute(
            "INSERT INTO audit.audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row[c]
                for c in (
                    "seq",
                    "recorded_at",
                    "kind",
                    "subject",
                    "actor",
                    "detail",
                    "prev_hash",
                    "hash",
                )
            ],
        )


TAIL_TAMPERING = {
    "tail deleted": (
        lambda con: con.execute(
            "DELETE FROM audit.audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit.audit_log)"
        ),
        "entries were deleted (the log was cut short or emptied)",
    ),
    "all deleted": (
        lambda con: con.execute("DELETE FROM audit.audit_log"),
        "entries were deleted (the log was cut short or emptied)",
    ),
    "table dropped": (
        lambda con: con.execute("DROP TABLE audit.audit_log"),
        "audit.audit_log is missing (dropped?)",
    ),
    "file entry forged with a correct hash": (_forge, "is vouched for by no anchor: added by hand"),
    "run entry forged with a correct hash": (
        lambda con: _forge(con, "asset_run"),
        "is vouched for by no anchor: added by hand",
    ),
    "re-hashed from entry 5": (lambda con: _rehash_from(con, 5), "the log was rewritten"),
}


@pytest.mark.parametrize("how", sorted(TAIL_TAMPERING))
def test_what_the_chain_alone_cannot_see_the_anchor_and_ledger_do(
    ingested: Path, tmp_path: Path, how: str, capsys: pytest.CaptureFixture
) -> None:
    from orchestration.cli import main

    warehouse = _copy_with_anchor(ingested, tmp_path)
    with pytest.MonkeyPatch.context() as mp:  # the CLI in-process: the same code, no start-up
        mp.setenv("BIOTWIN_WAREHOUSE", str(warehouse))
        assert main(["audit", "verify"]) == 0
        tamper, words = TAIL_TAMPERING[how]
        with duckdb.connect(str(warehouse)) as con:
            tamper(con)
        capsys.readouterr()
        assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err


def test_a_truncated_warehouse_is_reported_in_one_line(ingested: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    ok = _biotwin(warehouse, "warehouse", "check")
    assert ok.returncode == 0 and "tables read in full" in ok.stdout, ok.stdout + ok.stderr
    with warehouse.open("r+b") as handle:
        handle.truncate(warehouse.stat().st_size // 2)
    for command in (["warehouse", "check"], ["audit", "verify"]):
        done = _biotwin(warehouse, *command)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert "docs/operations.md" in done.stderr


def test_a_damaged_anchor_file_is_reported_not_a_traceback(
    ingested: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from lineage.audit_anchor import anchor_path
    from orchestration.cli import main

    warehouse = _copy_with_anchor(ingested, tmp_path)
    with anchor_path(warehouse).open("a") as handle:
        handle.write("{not an anchor\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOTWIN_WAREHOUSE", str(warehouse))
        assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "is not an anchor" in err and len(err.strip().splitlines()) == 1, err


def test_a_reviewed_unvouched_entry_is_acknowledged_in_the_log(
    ingested: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A forged (or crash-orphaned) entry stays named by `verify` through later runs' anchors
    until a person acknowledges it; the acknowledgement is itself an audit entry."""
    from lineage.audit_log import append_committed
    from orchestration.cli import main

    warehouse = _copy_with_anchor(ingested, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        _forge(con, "asset_run")
        forged = con.execute("SELECT max(seq) FROM audit.audit_log").fetchone()[0]
        # a later run appends and anchors its own entries: it does not vouch for the forgery
        append_committed(con, [{"kind": "asset_run", "subject": "x@r", "actor": "t", "detail": {}}])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOTWIN_WAREHOUSE", str(warehouse))
        assert main(["audit", "verify"]) == 1
        assert f"entry {forged} is vouched for by no anchor" in capsys.readouterr().err
        assert main(["audit", "acknowledge", str(forged + 1), "--reason", "r"]) == 1
        assert f"acknowledge through {forged}" in capsys.readouterr().err
        reason = "reviewed: test entry written by hand"
        assert main(["audit", "acknowledge", str(forged), "--reason", reason]) == 0
        assert main(["audit", "verify"]) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kind, subject, detail = con.execute(
            "SELECT kind, subject, detail FROM audit.audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert (kind, subject) == ("audit_acknowledged", f"entries {forged}-{forged}")
    assert reason in detail


def test_a_log_whose_anchor_file_is_gone_does_not_verify(
    ingested: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from lineage.audit_anchor import anchor_path
    from orchestration.cli import main

    warehouse = _copy_with_anchor(ingested, tmp_path)
    anchor_path(warehouse).unlink()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOTWIN_WAREHOUSE", str(warehouse))
        assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "the anchor file was deleted or moved" in err and len(err.strip().splitlines()) == 1
