"""The growing marts are incremental by batch: loading late files and building incrementally
gives exactly what a full refresh gives, and a build with nothing new changes nothing. A file
re-sent under its old name with a corrected value supersedes the first version: the corrected
value wins in the marts, and the first file is marked superseded in their file lineage."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb

from lineage.trace import format_trace, trace
from orchestration.dbt_cli import MANIFEST, dbt_state_dir
from synthetic.generate import DEFAULT_START, generate
from tests.conftest import PLANT_SEED, run_assets, run_dbt
from tests.helpers import dbt_cli, query

GROWING = ("fct_process_timeseries", "fct_batch_trajectory")
LATE_DAYS = 3


def _held_back(landing: Path) -> list[Path]:
    """Late arrivals: the last days of historian exports, QA re-exports of batch records and
    each site's newest LIMS extract."""
    exports = {
        p: m.group(1)
        for p in (landing / "historian").rglob("*")
        if p.is_file() and (m := re.search(r"_(\d{8})", p.name))
    }
    first_late_day = sorted(set(exports.values()))[-LATE_DAYS]
    late = [p for p, day in exports.items() if day >= first_late_day]
    late += sorted((landing / "mes").rglob("*_v2.json"))
    for site in sorted((landing / "lims").iterdir()):
        late.append(max(site.glob("*.csv")))
    return late


def _fingerprint(warehouse: Path, table: str) -> tuple:
    """Order-independent hash of every column of every row."""
    columns = query(
        warehouse,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    )["column_name"].tolist()
    listed = ", ".join(f'"{c}"' for c in columns)
    row = query(
        warehouse,
        f"SELECT count(*) AS n, sum(hash({listed}))::VARCHAR AS h FROM marts.{table}",
    ).iloc[0]
    return int(row["n"]), row["h"]


def _re_export(warehouse: Path, landing: Path) -> dict:
    """Re-send an already loaded historian CSV under its name with one Good reading corrected
    and another no longer in it (a corrected re-export); returns both readings' keys."""
    rows = query(
        warehouse,
        "WITH first_file AS (SELECT r._file_sha256 FROM marts.fct_process_timeseries AS t "
        "  JOIN raw.historian_point AS r USING (_record_id) "
        "  WHERE r._source_path LIKE 'historian/BOS/%.csv' AND t.quality = 'Good' "
        "  ORDER BY t.batch_id, t.ts_utc, t.parameter_id LIMIT 1) "
        "SELECT t.batch_id, t.parameter_id, t.ts_utc, t.source_value, t._record_id, "
        "r._source_path, r._row_number, r._file_sha256 FROM marts.fct_process_timeseries AS t "
        "JOIN raw.historian_point AS r USING (_record_id) "
        "WHERE r._file_sha256 = (SELECT _file_sha256 FROM first_file) AND t.quality = 'Good' "
        "AND r.value IS NOT NULL ORDER BY r._row_number LIMIT 2",
    )
    corrected, dropped = (rows.iloc[i].to_dict() for i in (0, 1))
    path = landing / corrected["_source_path"]
    lines = path.read_text().splitlines(keepends=True)  # line 0 is the header
    fields = lines[int(corrected["_row_number"])].split(",")
    corrected["new_value"] = round(float(fields[2]) + 1.25, 4)
    fields[2] = str(corrected["new_value"])
    lines[int(corrected["_row_number"])] = ",".join(fields)
    del lines[int(dropped["_row_number"])]
    path.write_text("".join(lines))
    return {"corrected": corrected, "dropped": dropped}


def test_incremental_build_equals_full_refresh(tmp_path: Path) -> None:
    # a plant of its own, small (4 cell-therapy and 3 fed-batch batches, every site): the
    # property is per batch and per file, and four dbt builds of the session plant cost 2 min
    plant_dir = tmp_path / "plant"
    generate(plant_dir, 4, PLANT_SEED, DEFAULT_START, fedbatch_batches=3)
    landing = tmp_path / "landing"
    shutil.copytree(plant_dir / "landing", landing)
    parked = tmp_path / "parked"
    late = _held_back(landing)
    # late files of every site's historian and LIMS
    held = {(p.relative_to(landing).parts[0], p.relative_to(landing).parts[1]) for p in late}
    assert {(s, site) for s in ("historian", "lims") for site in ("BOS", "BSL", "CRK")} <= held
    for path in late:
        target = parked / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)

    warehouse = tmp_path / "warehouse.duckdb"
    reference = plant_dir / "reference"
    run_assets(landing, warehouse, reference)
    assert run_dbt(warehouse).success
    before = {t: _fingerprint(warehouse, t) for t in GROWING}

    for path in late:
        (parked / path.relative_to(landing)).rename(path)
    fix = _re_export(warehouse, landing)
    run_assets(landing, warehouse, reference)
    assert run_dbt(warehouse).success
    incremental = {t: _fingerprint(warehouse, t) for t in GROWING}
    assert all(incremental[t][0] > before[t][0] for t in GROWING)  # the late data arrived
    _check_the_second_build_parsed_only_what_changed(warehouse)
    _check_the_re_export_supersedes(warehouse, fix)

    # nothing new: nothing changes; and a full refresh of a copy gives the same bits. Only the
    # growing models are built again (the real dbt CLI): the property is theirs, and each
    # whole build with its 150 tests costs about 25 s even on this small plant
    growing = ["run", "--select", *GROWING]
    assert dbt_cli(growing, warehouse, tmp_path).returncode == 0
    assert {t: _fingerprint(warehouse, t) for t in GROWING} == incremental
    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse, full)
    with duckdb.connect(str(full)) as con:  # emptied: only a real rebuild can pass
        for table in GROWING:
            con.execute(f"DELETE FROM marts.{table}")
    assert dbt_cli([*growing, "--full-refresh"], full, tmp_path).returncode == 0
    assert {t: _fingerprint(full, t) for t in GROWING} == incremental


def _check_the_second_build_parsed_only_what_changed(warehouse: Path) -> None:
    """Each build keeps its artifacts beside the warehouse; the first parses the project whole,
    the second starts from the first's parse state (same warehouse: same vars and profile)."""
    first, second = sorted((dbt_state_dir(warehouse) / "builds").iterdir())
    assert "Unable to do partial parsing" in (first / "dbt.log").read_text()
    log = (second / "dbt.log").read_text()
    assert "Partial parsing enabled" in log and "Unable to do partial parsing" not in log


def _check_the_re_export_supersedes(warehouse: Path, fix: dict) -> None:
    """The corrected value wins, once; the reading only the first version holds stays, and
    the marts' file lineage (dim_source_file, trace, dq_issues) says it is superseded."""
    corrected, dropped = fix["corrected"], fix["dropped"]
    now = query(
        warehouse,
        "SELECT t.source_value, t._file_sha256, f.is_superseded "
        "FROM marts.fct_process_timeseries AS t JOIN marts.dim_source_file AS f "
        "ON t._file_sha256 = f.file_sha256 "
        "WHERE t.batch_id = ? AND t.parameter_id = ? AND t.ts_utc = ? ORDER BY t.ts_utc",
        [corrected["batch_id"], corrected["parameter_id"], corrected["ts_utc"]],
    )
    assert now["source_value"].tolist() == [corrected["new_value"]]
    assert now["source_value"][0] != corrected["source_value"] and not now["is_superseded"][0]
    versions = query(
        warehouse,
        "SELECT file_sha256, file_version, is_superseded, superseded_by_sha256 "
        "FROM marts.dim_source_file WHERE source_path = ? ORDER BY file_version",
        [corrected["_source_path"]],
    )
    old, new = corrected["_file_sha256"], now["_file_sha256"][0]
    assert versions["file_sha256"].tolist() == [old, new]
    assert versions["is_superseded"].tolist() == [True, False]
    assert versions["superseded_by_sha256"][0] == new
    kept = query(
        warehouse,
        "SELECT t._file_sha256 FROM marts.fct_process_timeseries AS t "
        "JOIN marts.dim_source_file AS f ON t._file_sha256 = f.file_sha256 WHERE f.is_superseded",
    )
    assert kept["_file_sha256"].tolist() == [old]  # the dropped reading, nothing else
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        manifest = json.loads(MANIFEST.read_text())
        doc = trace(con, manifest, "fct_process_timeseries", dropped["_record_id"])
    finally:
        con.close()
    assert doc["rows"][0]["raw_record"]["superseded_by"]["sha256"] == new
    assert f"SUPERSEDED by a later version of this path: sha256 {new}" in format_trace(doc)
    flagged = query(
        warehouse,
        "SELECT severity FROM marts.dq_issues WHERE issue_type = 'superseded_file' "
        "AND file_sha256 = ?",
        [old],
    )
    assert flagged["severity"].tolist() == ["info"]
