"""A site's own conventions — time and number formats, a process of type `other` — load with the
right UTC instants and values and reach the marts and the twin.

The session plant's landing zone is rewritten as other sites write the same facts: Basel's LIMS
and custody with UTC offsets on every time, Boston's LIMS the LabWare way (`01-OCT-2026
06:12:00`, decimal commas, `;` between fields) and its custody platform in local wall-clock time
with decimal commas and `;` (both declared in site_formats.csv); the CAR-T process is declared
`other` in processes.csv and in its batch records. Built end to end, lab results and custody
events must equal those of the original files, and the `other` process gets its twin.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from assets.ingest.run import ingest
from assets.resources import PlantPaths
from assets.twin import TWIN_ASSETS
from biotwin.warehouse import connect
from tests.conftest import run_assets, run_dbt
from tests.helpers import query, read_reference

LIMS_TIMES = ("SAMPLED_ON", "CHANGED_ON", "ENTERED_ON", "REVIEWED_ON")
LIMS_NUMBERS = ("ENTRY", "NUMERIC_ENTRY", "SPEC_MIN", "SPEC_MAX")
LABWARE = "%d-%b-%Y %H:%M:%S"
OTHER = "CART-CD19"  # relabelled process type `other` (the product with enough batches)
OTHER_WAS = "autologous"


def _with_offset(text: str, zone: ZoneInfo) -> str:
    """`2026-10-20 10:09:00` (site wall clock) → `2026-10-20T10:09:00+02:00`."""
    if not text:
        return text
    local = datetime.fromisoformat(text).replace(tzinfo=zone)
    return local.isoformat(timespec="seconds")


def _wall_clock(text: str, zone: ZoneInfo) -> str:
    """`2026-10-27T20:00:28Z` → `2026-10-27 16:00:28` on the site's clock."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return instant.astimezone(zone).replace(tzinfo=None).isoformat(sep=" ")


def _ambiguous(wall_clock: str, zone: ZoneInfo) -> bool:
    """Shown twice when the clocks go back: a wall clock alone cannot say which instant."""
    t = datetime.fromisoformat(wall_clock)
    return t.replace(tzinfo=zone, fold=0).utcoffset() != t.replace(tzinfo=zone, fold=1).utcoffset()


def _as_z(text: str) -> str:
    """`2026-10-29T10:19:00-04:00` → `2026-10-29T14:19:00Z`."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ZoneInfo("UTC"))
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


MES_TIMES = {
    "phases": ("start", "end"),
    "parameters": ("recorded_at",),
    "materials": ("consumed_at",),
    "signatures": ("signed_at",),
    "deviations": ("opened_at",),
}


def _rewrite_times(path: Path, change) -> None:
    """Every time of a well-formed batch record written another way."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["last_changed_at"] = change(doc["last_changed_at"])
        for section, keys in MES_TIMES.items():
            for item in doc.get(section) or []:
                for key in keys:
                    if item.get(key):
                        item[key] = change(item[key])
    except (ValueError, KeyError, TypeError, AttributeError):
        return  # the plant's malformed documents stay as they are
    path.write_text(json.dumps(doc), encoding="utf-8")


def _labware(text: str) -> str:
    """`2026-10-20 10:09:00` → `20-OCT-2026 10:09:00`."""
    return datetime.fromisoformat(text).strftime("%d-%b-%Y %H:%M:%S").upper() if text else text


def _comma(text: str) -> str:
    return text.replace(".", ",") if any(c.isdigit() for c in text) else text


def _declare(reference: Path, row: list[str]) -> None:
    """Add a site_formats.csv row (the file the site edits to declare its formats)."""
    with (reference / "site_formats.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(row)


def _rewrite_rows(path: Path, change) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(change(rows))
    path.write_text(out.getvalue(), encoding="utf-8")


def _rewrite(path: Path, row_change, delimiter: str = ",", times=LIMS_TIMES) -> None:
    """Rewrite a well-formed extract row by row (a malformed one is left as it is)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else None
        if not rows or None in rows[0] or any(None in r.values() for r in rows):
            return
        for row in rows:  # every time must read as ISO 8601, else the file is left alone
            for column in times:
                if row[column]:
                    datetime.fromisoformat(row[column].replace("Z", "+00:00"))
    except (ValueError, UnicodeDecodeError, csv.Error):
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row_change(dict(r)) for r in rows)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def rewritten(plant_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("formats")
    shutil.copytree(plant_dir / "landing", home / "landing")
    shutil.copytree(plant_dir / "reference", home / "reference")
    zones = {r["site_id"]: ZoneInfo(r["timezone"]) for r in read_reference(plant_dir, "sites.csv")}

    def offsets(row: dict) -> dict:
        return {**row, **{c: _with_offset(row[c], zones["BSL"]) for c in LIMS_TIMES}}

    def labware(row: dict) -> dict:
        row = {**row, **{c: _labware(row[c]) for c in LIMS_TIMES}}
        return {**row, **{c: _comma(row[c]) for c in LIMS_NUMBERS}}

    for path in sorted((home / "landing" / "lims" / "BSL").glob("*.csv")):
        _rewrite(path, offsets)
    for path in sorted((home / "landing" / "lims" / "BOS").glob("*.csv")):
        _rewrite(path, labware, delimiter=";")
    _declare(home / "reference", ["BOS", "lims", LABWARE, ",", ";"])

    def custody_offsets(row: dict) -> dict:
        instant = datetime.fromisoformat(row["EVENT_TIME"].replace("Z", "+00:00"))
        return {**row, "EVENT_TIME": instant.astimezone(zones["BSL"]).isoformat()}

    def custody_local(row: dict) -> dict:
        return {
            **row,
            "EVENT_TIME": _wall_clock(row["EVENT_TIME"], zones["BOS"]),
            "TEMPERATURE_C": _comma(row["TEMPERATURE_C"]),
        }

    for path in sorted((home / "landing" / "custody" / "BSL").glob("*.csv")):
        _rewrite(path, custody_offsets, times=("EVENT_TIME",))
    for path in sorted((home / "landing" / "custody" / "BOS").glob("*.csv")):
        _rewrite(path, custody_local, delimiter=";", times=("EVENT_TIME",))
    _declare(home / "reference", ["BOS", "custody", "", ",", ";"])

    # Boston's historian exports: LabWare-style times, decimal commas, `;` between fields
    def historian_labware(row: dict) -> dict:
        when = datetime.fromisoformat(row["timestamp"])
        return {
            **row,
            "timestamp": when.strftime("%d-%b-%Y %H:%M:%S").upper(),
            "value": _comma(row["value"]),
        }

    for path in sorted((home / "landing" / "historian" / "BOS").glob("*.csv")):
        _rewrite(path, historian_labware, delimiter=";", times=("timestamp",))
    _declare(home / "reference", ["BOS", "historian", LABWARE, ",", ";"])

    # the CAR-T process as a process of type `other`, in the reference rows and the records
    processes = (home / "reference" / "processes.csv").read_text(encoding="utf-8")
    (home / "reference" / "processes.csv").write_text(
        processes.replace(f"{OTHER},{OTHER_WAS},", f"{OTHER},other,"), encoding="utf-8"
    )
    for path in sorted((home / "landing" / "mes").rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        if f'"product_id": "{OTHER}"' in text:
            path.write_text(
                text.replace(f'"process_type": "{OTHER_WAS}"', '"process_type": "other"')
            )

    # batch records: Basel's MES writes its wall clock, Boston's UTC with Z
    for site, change in (("BSL", lambda t: _wall_clock(t, zones["BSL"])), ("BOS", _as_z)):
        for path in sorted((home / "landing" / "mes" / site).glob("*.json")):
            _rewrite_times(path, change)
    warehouse = home / "warehouse.duckdb"
    run_assets(home / "landing", warehouse, home / "reference")
    assert run_dbt(warehouse).success
    return warehouse


RESULTS = """SELECT site_id, result_id, version, sampled_at_utc, change_reason, value, censor,
                    unit, status, batch_id
             FROM marts.fct_lab_result WHERE source_system = 'lims' AND site_id = ?
             ORDER BY result_id, version"""


@pytest.mark.parametrize("site", ["BSL", "BOS"])
def test_lab_results_are_those_of_the_iso_files(conformed: Path, rewritten: Path, site) -> None:
    original = query(conformed, RESULTS, [site])
    again = query(rewritten, RESULTS, [site])
    assert len(original) > 30
    assert again["result_id"].tolist() == original["result_id"].tolist()
    resolved = original["sampled_at_utc"].notna()  # a DST-ambiguous wall clock has no instant
    for column in ("sampled_at_utc", "change_reason", "value", "censor", "unit", "batch_id"):
        pd.testing.assert_series_equal(
            original.loc[resolved, column].reset_index(drop=True),
            again.loc[resolved, column].reset_index(drop=True),
            obj=column,
        )


EVENTS = """SELECT coi_id, event_order, event_type, event_time_utc, temperature_c, batch_id
            FROM marts.fct_custody_event WHERE site_id = ? ORDER BY coi_id, event_type, location"""


@pytest.mark.parametrize("site", ["BSL", "BOS"])
def test_custody_events_are_those_of_the_iso_files(
    conformed: Path, rewritten: Path, plant_dir: Path, site: str
) -> None:
    zone = ZoneInfo(
        next(r for r in read_reference(plant_dir, "sites.csv") if r["site_id"] == site)["timezone"]
    )
    original = query(conformed, EVENTS, [site])
    again = query(rewritten, EVENTS, [site])
    assert len(original) > 10 and len(again) == len(original)
    ambiguous = original["event_time_utc"].map(
        lambda t: site == "BOS" and _ambiguous(_wall_clock(t.isoformat(), zone), zone)
    )
    assert again.loc[ambiguous, "event_time_utc"].isna().all()
    for column in ("coi_id", "event_type", "event_time_utc", "temperature_c", "batch_id"):
        pd.testing.assert_series_equal(
            original.loc[~ambiguous, column].reset_index(drop=True),
            again.loc[~ambiguous, column].reset_index(drop=True),
            obj=column,
        )
    if ambiguous.any():
        issues = query(
            rewritten,
            "SELECT count(*) AS n FROM marts.dq_issues WHERE source_system = 'custody' "
            "AND issue_type = 'dst_ambiguous' AND site_id = ?",
            [site],
        )
        assert issues["n"][0] == ambiguous.sum()


PHASES = """SELECT batch_id, phase_order, phase, equipment_id, started_at_utc, ended_at_utc
            FROM marts.fct_batch_phase ORDER BY batch_id, phase_order"""


def test_batch_records_in_wall_clock_or_utc_give_the_same_phases(
    conformed: Path, rewritten: Path, plant_dir: Path
) -> None:
    zurich = ZoneInfo("Europe/Zurich")
    original = query(conformed, PHASES)
    again = query(rewritten, PHASES)
    # a Basel phase boundary in the hour the clocks go back cannot be placed: that phase is
    # refused with its reason, the rest of the batch record loads
    bsl = set(
        query(conformed, "SELECT batch_id FROM marts.dim_batch WHERE site_id = 'BSL'")["batch_id"]
    )

    def unplaceable(row) -> bool:
        return row["batch_id"] in bsl and any(
            t is not None and t == t and _ambiguous(_wall_clock(t.isoformat(), zurich), zurich)
            for t in (row["started_at_utc"], row["ended_at_utc"])
        )

    refused = original.apply(unplaceable, axis=1)
    kept = original[~refused].drop(columns="phase_order").reset_index(drop=True)
    got = again.drop(columns="phase_order")
    got = got[got["batch_id"].isin(kept["batch_id"])].reset_index(drop=True)
    if not refused.any():
        pd.testing.assert_frame_equal(kept, got)
    else:
        reasons = query(
            rewritten,
            "SELECT reason FROM raw.quarantine WHERE check_name LIKE '%dst_ambiguous%'",
        )["reason"]
        assert len(reasons) >= refused.sum() and all("Europe/Zurich" in r for r in reasons)
        merged = kept.merge(got, how="left", indicator=True)
        assert (merged["_merge"] == "both").all()


def test_offsets_resolve_what_a_wall_clock_cannot(conformed: Path, rewritten: Path) -> None:
    """The hour the clocks go back is ambiguous as a wall clock, never with an offset."""
    before = query(conformed, RESULTS, ["BSL"])
    after = query(rewritten, RESULTS, ["BSL"])
    assert after["sampled_at_utc"].notna().all()
    assert after["sampled_at_utc"].notna().sum() >= before["sampled_at_utc"].notna().sum()


def test_a_time_in_no_declared_format_is_quarantined_with_the_formats_tried(
    plant_dir: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(plant_dir / "reference", reference)
    _declare(reference, ["BOS", "lims", LABWARE, "", ""])
    source = min((plant_dir / "landing" / "lims" / "BOS").glob("*.csv"))
    landing = tmp_path / "landing"
    (landing / "lims" / "BOS").mkdir(parents=True)
    target = landing / "lims" / "BOS" / source.name
    shutil.copy(source, target)

    def slashes_in_row_2(rows: list[dict]) -> list[dict]:
        rows[1]["SAMPLED_ON"] = rows[1]["SAMPLED_ON"].replace("-", "/")
        rows[2]["SAMPLED_ON"] = _labware(rows[2]["SAMPLED_ON"])
        return rows

    _rewrite_rows(target, slashes_in_row_2)
    con = connect(tmp_path / "w.duckdb")
    try:
        summary = ingest(con, "lims", landing, reference, "formats")
        quarantined = con.execute(
            "SELECT row_number, check_name, reason FROM raw.quarantine"
        ).fetchall()
    finally:
        con.close()
    assert summary.by_status == {"partially_loaded": 1}
    assert [(n, c) for n, c, _ in quarantined] == [(2, "SAMPLED_ON:datetime_format")]
    reason = quarantined[0][2]
    assert source.name in reason and "row 2" in reason and f"ISO 8601, {LABWARE}" in reason


def test_a_process_of_type_other_gets_marts_and_its_twin(rewritten: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(rewritten, warehouse)
    batches = query(
        warehouse,
        "SELECT DISTINCT process_type FROM marts.dim_batch WHERE product_id = ?",
        [OTHER],
    )
    assert batches["process_type"].tolist() == ["other"]
    unknown = query(
        warehouse,
        "SELECT count(*) AS n FROM marts.dq_issues WHERE issue_type = 'unknown_process_type'",
    )
    assert unknown["n"][0] == 0
    result = materialize(
        TWIN_ASSETS,
        resources={
            "paths": PlantPaths(warehouse=str(warehouse), lineage=str(tmp_path / "lineage"))
        },
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    for table in ("golden_envelope", "batch_monitoring", "outcome_forecast", "model_registry"):
        rows = query(
            warehouse, f"SELECT count(*) AS n FROM twin.{table} WHERE product_id = ?", [OTHER]
        )
        assert rows["n"][0] > 0, table


SERIES = """SELECT count(*) AS n,
                   sum(hash(t.batch_id, t.parameter_id, t.ts_utc, t.value, t.quality,
                            t.digital_state))::VARCHAR AS fingerprint
            FROM marts.fct_process_timeseries AS t
            JOIN marts.dim_batch AS b USING (batch_id) WHERE b.site_id = ?"""


@pytest.mark.parametrize("site", ["BOS", "BSL"])
def test_historian_readings_are_those_of_the_iso_files(
    conformed: Path, rewritten: Path, site: str
) -> None:
    original = query(conformed, SERIES, [site]).iloc[0]
    again = query(rewritten, SERIES, [site]).iloc[0]
    assert original["n"] > 10_000
    assert (again["n"], again["fingerprint"]) == (original["n"], original["fingerprint"])
