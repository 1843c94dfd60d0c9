"""Ingestion of a generated landing zone through the real Dagster assets, into a real DuckDB."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from dagster import DagsterInstance, build_sensor_context

from assets.ingest.run import ingest
from assets.ingest.tables import RAW_TABLES
from assets.resources import PlantPaths
from biotwin.warehouse import connect
from orchestration.sensors import LANDING_SENSORS
from tests.conftest import run_assets

STATUSES = {"loaded", "partially_loaded", "quarantined", "duplicate"}
VOLATILE = {"_ingested_at", "_run_id"}


def table_counts(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [*RAW_TABLES, "file_ledger", "quarantine"]
        return {n: con.execute(f"SELECT count(*) FROM raw.{n}").fetchone()[0] for n in names}
    finally:
        con.close()


def content_hash(warehouse: Path) -> dict[str, str]:
    """Order-independent hash of every raw table, without the per-run columns."""
    con = duckdb.connect(str(warehouse), read_only=True)
    out = {}
    try:
        for table in RAW_TABLES:
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema='raw' "
                    "AND table_name=? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
            ]
            keep = ", ".join(f'"{c}"' for c in cols if c not in VOLATILE)
            rows = con.execute(
                f"SELECT md5(CAST(ROW({keep}) AS VARCHAR)) FROM raw.{table}"
            ).fetchall()
            digest = hashlib.sha256("".join(sorted(r[0] for r in rows)).encode()).hexdigest()
            out[table] = digest
    finally:
        con.close()
    return out


def _ro(warehouse: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse), read_only=True)


def test_every_file_is_in_the_ledger_and_counts_add_up(plant_dir: Path, ingested: Path) -> None:
    files = sorted(
        p.relative_to(plant_dir / "landing").as_posix()
        for p in (plant_dir / "landing").rglob("*")
        if p.is_file()
    )
    con = _ro(ingested)
    ledger = con.execute(
        "SELECT source_path, status, rows_read, rows_loaded, rows_quarantined, "
        "file_sha256, system FROM raw.file_ledger"
    ).fetchall()
    assert sorted(r[0] for r in ledger) == files
    assert {r[1] for r in ledger} <= STATUSES
    for path, _status, read, loaded, quarantined, _sha, _system in ledger:
        assert read == loaded + quarantined, path
    # what the ledger says was loaded is what the raw tables hold, file by file
    for system, tables in {
        "historian": ["historian_point"],
        "lims": ["lims_result"],
        "custody": ["custody_event"],
        "instruments": ["instrument_measurement"],
    }.items():
        for table in tables:
            rows = dict(
                con.execute(
                    f"SELECT _file_sha256, count(*) FROM raw.{table} GROUP BY ALL"
                ).fetchall()
            )
            for _path, status, _read, loaded, _q, sha, sys_ in ledger:
                if sys_ == system and sha and status != "duplicate":
                    assert rows.get(sha, 0) == loaded
    quarantined = con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0]
    assert quarantined == sum(r[4] for r in ledger)
    con.close()


def test_malformed_files_are_quarantined_with_file_row_and_rule(manifest, ingested) -> None:
    con = _ro(ingested)
    malformed = [i for i in manifest["mess"] if i["kind"] == "malformed_file"]
    assert len(malformed) >= 5
    for item in malformed:
        rel = item["path"].removeprefix("landing/")
        status = con.execute(
            "SELECT status FROM raw.file_ledger WHERE source_path = ?", [rel]
        ).fetchone()[0]
        assert status in ("quarantined", "partially_loaded"), (rel, status)
        reasons = con.execute(
            "SELECT row_number, check_name, reason, contract FROM "
            "raw.quarantine WHERE source_path = ?",
            [rel],
        ).fetchall()
        assert reasons, rel
        for row_number, check, reason, contract in reasons:
            assert rel in reason and check and contract == item["system"]
            if row_number is not None:
                assert f"row {row_number}" in reason or f"item {row_number}" in reason
    con.close()


def test_repeated_bytes_are_duplicates(manifest, ingested) -> None:
    con = _ro(ingested)
    for item in (i for i in manifest["mess"] if i["kind"] == "historian_repeated_file"):
        copy = item["path"].removeprefix("landing/")
        original = item["detail"]["same_bytes_as"].removeprefix("landing/")
        rows = dict(
            con.execute(
                "SELECT source_path, status FROM raw.file_ledger WHERE source_path IN (?, ?)",
                [copy, original],
            ).fetchall()
        )
        # whichever name was seen second is the duplicate; the other one was loaded
        assert sorted(rows.values()) == ["duplicate", "loaded"]
    con.close()


def test_provenance_columns_are_deterministic_and_unique(ingested) -> None:
    con = _ro(ingested)
    for table in RAW_TABLES:
        total, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT _record_id) FROM raw.{table}"
        ).fetchone()
        assert total == distinct > 0, table
    # the first and last record of each table by position: the same rows on every run
    for table, where in (("lims_result", ""), ("historian_point", "WHERE source_format = 'csv'")):
        for order in ("ASC", "DESC"):
            sha, n, rid = con.execute(
                f"SELECT _file_sha256, _row_number, _record_id FROM raw.{table} {where} "
                f"ORDER BY _file_sha256 {order}, _row_number {order} LIMIT 1"
            ).fetchone()
            # DESIGN's definition, written out: sha256 of the file's sha256, ':' and position
            assert rid == hashlib.sha256(f"{sha}:{n}".encode()).hexdigest(), (table, order)
    con.close()


def test_values_are_kept_as_written(ingested) -> None:
    con = _ro(ingested)
    states = con.execute(
        "SELECT count(*) FROM raw.historian_point WHERE digital_state IS NOT NULL AND value IS NULL"
    ).fetchone()[0]
    assert states > 0
    naive, utc = con.execute(
        "SELECT count(*) FILTER (ts_local IS NOT NULL AND ts_utc IS NULL), "
        "count(*) FILTER (ts_utc IS NOT NULL AND ts_local IS NULL) FROM raw.historian_point"
    ).fetchone()
    assert naive > 0 and utc > 0  # BOS writes local time, BSL UTC: both kept as they came
    censored = con.execute(
        "SELECT DISTINCT entry, numeric_entry FROM raw.lims_result WHERE entry = '<0.50'"
    ).fetchall()
    assert censored == [("<0.50", 0.5)]
    below, as_values, unwritten = con.execute(
        "SELECT count(*), count(value), count(*) FILTER (NOT starts_with(value_raw, '<')) "
        "FROM raw.instrument_measurement WHERE vendor = 'roche_cedex_bioht' AND censor = '<'"
    ).fetchone()
    assert below > 0 and as_values == 0 and unwritten == 0
    zones = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT assumed_timezone FROM raw.instrument_measurement"
        ).fetchall()
    }
    assert zones == {"America/New_York", "Europe/Zurich"}
    versions = con.execute(
        "SELECT count(DISTINCT record_version) FROM raw.mes_batch_record"
    ).fetchone()[0]
    assert versions == 2
    con.close()


def test_a_second_run_adds_nothing(plant_dir: Path, ingested: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "again.duckdb"
    shutil.copy(ingested, warehouse)
    before = table_counts(warehouse)
    run_assets(plant_dir / "landing", warehouse, plant_dir / "reference")
    assert table_counts(warehouse) == before


def test_new_files_add_only_their_rows(plant_dir: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(plant_dir / "landing", landing)
    held_back = (
        sorted((landing / "mes").rglob("*_v2.json"))[:2]
        + sorted((landing / "lims" / "BSL").glob("*.csv"))[-1:]
    )
    parked = tmp_path / "parked"
    parked.mkdir()
    for p in held_back:
        shutil.move(p, parked / f"{p.parent.name}__{p.name}")
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    for system in ("mes", "lims"):
        ingest(con, system, landing, plant_dir / "reference", "first")
    before = {
        t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
        for t in ("mes_batch_record", "lims_result", "file_ledger")
    }
    for p in parked.iterdir():
        site, name = p.name.split("__")
        system = "mes" if name.endswith(".json") else "lims"
        shutil.move(p, landing / system / site / name)
    for system in ("mes", "lims"):
        ingest(con, system, landing, plant_dir / "reference", "second")
    added = dict(
        con.execute("SELECT _run_id, count(*) FROM raw.mes_batch_record GROUP BY ALL").fetchall()
    )
    assert added["second"] == 2
    new_ledger = con.execute(
        "SELECT source_path FROM raw.file_ledger WHERE run_id = 'second'"
    ).fetchall()
    assert len(new_ledger) == 3
    lims_added = con.execute(
        "SELECT count(*) FROM raw.lims_result WHERE _run_id = 'second'"
    ).fetchone()[0]
    lims_file_rows = con.execute(
        "SELECT rows_loaded FROM raw.file_ledger WHERE run_id = 'second' AND system = 'lims'"
    ).fetchone()[0]
    assert lims_added == lims_file_rows > 0
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == (
        before["file_ledger"] + 3
    )
    con.close()


KILL_SCRIPT = """
import sys
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
from assets.ingest.run import LOADERS, ingest
from biotwin.warehouse import connect
con = connect(Path(sys.argv[2]))
for system in LOADERS:
    ingest(con, system, Path(sys.argv[1]), Path(sys.argv[3]), "killable")
"""


def test_sigkill_mid_ingestion_then_rerun_equals_a_clean_run(
    plant_dir: Path, ingested: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "killed.duckdb"
    args = [
        sys.executable,
        "-c",
        KILL_SCRIPT,
        str(plant_dir / "landing"),
        str(warehouse),
        str(plant_dir / "reference"),
    ]
    proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parents[2])
    # wait until ingestion has committed some files, then kill it without warning
    deadline = time.time() + 60
    while time.time() < deadline and not (
        warehouse.exists() and warehouse.stat().st_size > 2_000_000
    ):
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    con = connect(warehouse)
    partial = con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0]
    files = sum(1 for p in (plant_dir / "landing").rglob("*") if p.is_file())
    assert 0 < partial < files, "the kill should land in the middle of ingestion"
    from assets.ingest.run import LOADERS

    for system in LOADERS:
        ingest(con, system, plant_dir / "landing", plant_dir / "reference", "rerun")
    con.close()
    assert content_hash(warehouse) == content_hash(ingested)
    with duckdb.connect(str(warehouse), read_only=True) as ro:
        assert ro.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == files


def test_sensor_requests_a_run_for_new_files_and_not_after(
    plant_dir: Path, ingested: Path, tmp_path: Path
) -> None:
    sensor = next(s for s in LANDING_SENSORS if s.name == "lims_landing_sensor")
    landing = tmp_path / "landing"
    shutil.copytree(plant_dir / "landing" / "lims", landing / "lims")
    # what a careless copy leaves: files ingestion refuses (hidden, in a hidden folder, not
    # inside a site folder); they are recorded once and never ask for a run again
    some = min((landing / "lims" / "BOS").glob("*.csv")).read_bytes()
    (landing / "lims" / "BOS" / ".export.csv.part").write_bytes(some)
    (landing / "lims" / "BOS" / ".sync").mkdir()
    (landing / "lims" / "BOS" / ".sync" / "export.csv").write_bytes(some)
    (landing / "lims" / "stray.csv").write_bytes(some)
    warehouse = tmp_path / "s.duckdb"
    paths = PlantPaths(
        landing=str(landing), warehouse=str(warehouse), reference=str(plant_dir / "reference")
    )
    instance = DagsterInstance.ephemeral()
    first = sensor(build_sensor_context(instance=instance, resources={"paths": paths}))
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.run_key.startswith("lims:")
    # the run happens: the ledger now knows every file
    con = connect(warehouse)
    ingest(con, "lims", landing, plant_dir / "reference", "sensor-run")
    refused = dict(
        con.execute(
            "SELECT source_path, reason FROM raw.file_ledger WHERE file_sha256 IS NULL"
        ).fetchall()
    )
    con.close()
    hidden = "refused: hidden file (its name or a folder's starts with a dot)"
    assert refused == {
        "lims/BOS/.export.csv.part": hidden,
        "lims/BOS/.sync/export.csv": hidden,
        "lims/stray.csv": "refused: not inside a site folder",
    }
    replay = sensor(
        build_sensor_context(instance=instance, cursor=first.cursor, resources={"paths": paths})
    )
    reset = sensor(build_sensor_context(instance=instance, cursor=None, resources={"paths": paths}))
    for tick in (replay, reset):
        assert not getattr(tick, "run_requests", None), "nothing new: no run"
    # a new file gives a new request
    src = min((landing / "lims" / "BOS").glob("*.csv"))
    (landing / "lims" / "BOS" / "late_extract.csv").write_bytes(src.read_bytes() + b"\r\n")
    later = sensor(build_sensor_context(instance=instance, resources={"paths": paths}))
    assert len(later.run_requests) == 1


def test_real_instrument_exports_ingest_and_are_kept_unlinked(
    plant_dir: Path, shared_dir: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    for vendor_dir in (shared_dir / "instrument-examples").iterdir():
        if vendor_dir.is_dir():
            target = landing / "instruments" / "BOS" / vendor_dir.name
            target.mkdir(parents=True)
            for f in vendor_dir.iterdir():
                shutil.copy(f, target / f.name)
    con = connect(tmp_path / "r.duckdb")
    ingest(con, "instruments", landing, plant_dir / "reference", "real")
    ledger = {
        path.split("/")[2]: (status, read, loaded, quarantined)
        for path, status, read, loaded, quarantined in con.execute(
            "SELECT source_path, status, rows_read, rows_loaded, rows_quarantined "
            "FROM raw.file_ledger"
        ).fetchall()
    }
    # ../shared holds one export per vendor; every one ends in the ledger and its rows add up
    vendors = {p.name for p in (shared_dir / "instrument-examples").iterdir() if p.is_dir()}
    assert set(ledger) == vendors
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in ledger.values())
    # the cell counter and the metabolite analyzers load whole
    for vendor in ("beckman_vi_cell_blu", "roche_cedex_bioht", "novabio_flex2"):
        assert ledger[vendor][0] == "loaded", (vendor, ledger[vendor])
    samples = {
        r[0]
        for r in con.execute("SELECT DISTINCT sample_id FROM raw.instrument_measurement").fetchall()
    }
    assert {"CLB001", "SMPL1", "SMPL_1234"} <= samples  # kept although they match no batch
    censored = con.execute(
        "SELECT count(*) FROM raw.instrument_measurement WHERE censor = '<' AND value IS NULL"
    ).fetchone()[0]
    assert censored > 0  # Cedex '< TEST RNG' rows: censored, not -0.0 values
    con.close()


def test_unsafe_paths_are_refused_and_recorded(plant_dir: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    site = landing / "custody" / "BOS"
    site.mkdir(parents=True)
    outside = tmp_path / "outside.csv"
    outside.write_text("COI_ID\n")
    (site / "link.csv").symlink_to(outside)
    (site / "bad\x07name.csv").write_text("x\n")
    (site / "fifo").mkdir()
    con = connect(tmp_path / "u.duckdb")
    ingest(con, "custody", landing, plant_dir / "reference", "safety")
    rows = dict(con.execute("SELECT source_path, reason FROM raw.file_ledger").fetchall())
    assert "symbolic links" in rows["custody/BOS/link.csv"]
    assert "control characters" in rows["custody/BOS/bad\x07name.csv"]
    assert con.execute("SELECT count(*) FROM raw.custody_event").fetchone()[0] == 0
    con.close()


def test_instrument_times_with_a_utc_offset_or_z_keep_their_instant(
    plant_dir: Path, tmp_path: Path
) -> None:
    """A Cedex export written with ISO offsets (`…T16:15:00+02:00`) or `Z` loads the instant it
    names, not the site's wall clock: the same measurements, shifted by exactly the offset."""
    source = sorted(
        (plant_dir / "landing" / "instruments" / "BOS" / "roche_cedex_bioht").iterdir()
    )[0]
    text = source.read_text(encoding="latin-1")
    stamp = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)")
    times = {}
    for label, replacement in (("naive", None), ("offset", r"\1T\2+02:00"), ("z", r"\1T\2Z")):
        landing = tmp_path / label
        target = landing / "instruments" / "BOS" / "roche_cedex_bioht"
        target.mkdir(parents=True)
        body = text if replacement is None else stamp.sub(replacement, text)
        (target / source.name).write_text(body, encoding="latin-1")
        con = connect(tmp_path / f"{label}.duckdb")
        ingest(con, "instruments", landing, plant_dir / "reference", label)
        times[label] = [
            r[0]
            for r in con.execute(
                "SELECT measured_at_utc FROM raw.instrument_measurement "
                "ORDER BY sample_id, field, measured_at_raw"
            ).fetchall()
        ]
        con.close()
    naive_local = [
        t.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None) for t in times["naive"]
    ]
    assert times["naive"] and len(times["offset"]) == len(times["z"]) == len(times["naive"])
    for local, offset, z in zip(naive_local, times["offset"], times["z"], strict=True):
        assert offset == local.replace(tzinfo=UTC) - timedelta(hours=2)
        assert z == local.replace(tzinfo=UTC)


def test_instrument_files_parsed_by_worker_processes_load_as_parsed_here(
    plant_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """Parsing ahead on two threads, each with its own parser process, changes nothing a
    reader sees: the same rows and record ids, the same quarantine reasons (a file allotropy
    refuses), the same ledger, as parsing one file after another on the ingesting thread."""
    from assets.ingest import core
    from assets.ingest.core import parse_pool
    from assets.ingest.instruments import LOADER

    landing = tmp_path / "landing"
    shutil.copytree(plant_dir / "landing" / "instruments", landing / "instruments")
    cedex = landing / "instruments" / "BOS" / "roche_cedex_bioht"
    (cedex / "broken_export.txt").write_bytes(b"\x00\x01 not a Cedex export\n")
    first = sorted(cedex.iterdir())[0]
    shutil.copy(first, cedex / f"copy_of_{first.name}")  # the same bytes twice: a duplicate
    files = sum(1 for p in landing.rglob("*") if p.is_file())
    monkeypatch.setenv("BIOTWIN_PARSE_WORKERS", "2")
    monkeypatch.setattr(core, "POOL_MIN_FILES", 8)  # the session plant has fewer than a pool needs
    pool, workers = parse_pool(LOADER, files)
    assert pool is not None and workers == 2  # the run below really parses in workers
    pool.shutdown()

    seen = {}
    for label, workers_env in (("here", "1"), ("workers", "2")):
        monkeypatch.setenv("BIOTWIN_PARSE_WORKERS", workers_env)
        warehouse = tmp_path / f"{label}.duckdb"
        con = connect(warehouse)
        ingest(con, "instruments", landing, plant_dir / "reference", "same-run")
        ledger = sorted(
            con.execute(
                "SELECT source_path, status, reason, rows_read, rows_loaded, rows_quarantined "
                "FROM raw.file_ledger"
            ).fetchall()
        )
        quarantine = sorted(
            con.execute(
                "SELECT source_path, row_number, check_name, reason FROM raw.quarantine"
            ).fetchall()
        )
        con.close()
        seen[label] = (content_hash(warehouse)["instrument_measurement"], ledger, quarantine)
    assert seen["workers"] == seen["here"]
    ledger = {row[0]: row for row in seen["here"][1]}
    broken = ledger["instruments/BOS/roche_cedex_bioht/broken_export.txt"]
    assert broken[1] == "quarantined" and "allotropy" in broken[2]
    assert ledger[f"instruments/BOS/roche_cedex_bioht/copy_of_{first.name}"][1] == "duplicate"
