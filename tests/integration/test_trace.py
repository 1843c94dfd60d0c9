"""`biotwin trace` on the conformed session plant: a °F temperature point back to its raw °F
value, the conversion row, the file and its sha256; an amended lab result shows both versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main


@pytest.fixture
def env(conformed: Path, plant_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIOTWIN_WAREHOUSE", str(conformed))
    monkeypatch.setenv("BIOTWIN_LANDING", str(plant_dir / "landing"))
    return conformed


def _trace(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["trace", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one(warehouse: Path, sql: str) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()


def test_a_fahrenheit_temperature_point_leads_to_its_file_and_conversion(
    env: Path, plant_dir: Path, capsys
) -> None:
    record_id, value_c, source_value = _one(
        env,
        "SELECT _record_id, value, source_value FROM marts.fct_process_timeseries "
        "WHERE parameter_id = 'temperature' AND source_unit = 'degF' ORDER BY ts_utc LIMIT 1",
    )
    code, out, err = _trace(capsys, "fct_process_timeseries", record_id, "--json")
    assert code == 0, err
    doc = json.loads(out)
    (item,) = doc["rows"]
    raw = item["raw_record"]
    assert raw["table"] == "raw.historian_point" and raw["record_id"] == record_id
    assert raw["values"]["units"] == "degF"
    assert float(raw["values"]["value_raw"]) == pytest.approx(source_value)
    on_disk = plant_dir / "landing" / raw["file"]
    assert raw["sha256"] == hashlib.sha256(on_disk.read_bytes()).hexdigest()
    assert raw["file_now"] == "unchanged (sha256 matches)"
    assert raw["ledger"]["status"] in ("loaded", "partially_loaded")
    assert raw["ingest_run"] and raw["row_number"] >= 1
    by_purpose = {ref["purpose"]: ref for ref in item["reference"]}
    conversion = by_purpose["unit conversion"]["row"]
    assert (conversion["from_unit"], conversion["to_unit"]) == ("degF", "degC")
    assert value_c == pytest.approx(source_value * conversion["factor"] + conversion["offset"])
    assert by_purpose["tag mapping"]["row"]["tag"] == item["row"]["source_tag"]
    assert by_purpose["specification"]["row"]["parameter_id"] == "temperature"
    models = [m["model"] for m in item["models"]]
    assert models[0] == "staging.stg_historian__points"
    assert models[-1] == "marts.fct_process_timeseries"
    assert item["built_by"]["code_version"].startswith(("git:", "biotwin=="))

    code, text, _ = _trace(capsys, "fct_process_timeseries", record_id)
    assert code == 0
    assert f"sha256 {raw['sha256']}" in text and "units: degF" in text
    assert "unit conversion: ref.units" in text and str(on_disk) in text


def test_an_amended_lab_result_shows_both_versions(env: Path, manifest: dict, capsys) -> None:
    amended = next(m for m in manifest["mess"] if m["kind"] == "lims_amendment")["detail"]
    current_record = _one(
        env,
        "SELECT _record_id FROM marts.fct_lab_result WHERE sample_id = "
        f"'{amended['sample_id']}' AND is_current AND result_text = '{amended['amended_entry']}'",
    )[0]
    code, out, err = _trace(capsys, "fct_lab_result", current_record, "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [r["row"]["version"] for r in rows] == [1, 2]
    assert [r["row"]["result_text"] for r in rows] == [
        amended["first_entry"],
        amended["amended_entry"],
    ]
    assert [r["raw_record"]["values"]["entry"] for r in rows] == [
        amended["first_entry"],
        amended["amended_entry"],
    ]
    assert rows[0]["raw_record"]["file"] != rows[1]["raw_record"]["file"]
    assert [r["matched_key"] for r in rows] == [False, True]
    assert rows[1]["row"]["change_reason"]


def test_unknown_table_or_key_is_a_clear_error(env: Path, capsys) -> None:
    code, _, err = _trace(capsys, "fct_nothing", "x")
    assert code == 1 and "no conformed table marts.fct_nothing" in err and "dim_batch" in err
    code, _, err = _trace(capsys, "dim_batch", "NO-SUCH-BATCH")
    assert code == 1 and "no row of marts.dim_batch has 'NO-SUCH-BATCH' in" in err
    assert "batch_id" in err
