"""The conformed layer against the generator's ground truth (manifest.json and truth/*.csv).

The dbt project runs through its Dagster asset (the real dbt CLI) on the session plant; every
comparison here is with what the generator knows it wrote, not with the pipeline's own output.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import AssetCheckSeverity

from orchestration.dbt_cli import MANIFEST
from synthetic.units import DECIMALS
from tests.helpers import query, read_reference

MARTS = {
    "dim_site",
    "dim_parameter",
    "dim_equipment",
    "dim_batch",
    "dim_source_file",
    "fct_batch_phase",
    "fct_process_timeseries",
    "fct_batch_trajectory",
    "fct_lab_result",
    "fct_material_consumption",
    "fct_deviation",
    "fct_batch_setpoint",
    "fct_signature",
    "fct_custody_event",
    "fct_chain_of_identity",
    "batch_features",
    "dq_issues",
}
# The fall-back hour of 2026 (01:00-01:59 local, twice) in UTC, at each site whose historian
# writes naive local time: New York and Dublin (Basel's PI Web API writes UTC).
FALL_BACK_UTC = {
    "BOS": (datetime(2026, 11, 1, 5, tzinfo=UTC), datetime(2026, 11, 1, 7, tzinfo=UTC)),
    "CRK": (datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC)),
}
FALL_BACK_LOCAL = {"BOS": "2026-11-01", "CRK": "2026-10-25"}  # the day of the repeated hour


def test_dbt_asset_builds_every_mart_with_its_contract_and_passes_every_check(
    conformed_run,
) -> None:
    warehouse, result = conformed_run
    assert result.success
    nodes = json.loads(MANIFEST.read_text())["nodes"]
    data_tests = [n for n in nodes.values() if n["resource_type"] == "test"]
    checks = result.get_asset_check_evaluations()
    assert len(checks) == len(data_tests) > 90  # every dbt data test is an asset check
    # one check warns: the fed-batch site's batch records write parameters no reference row
    # lists (a rule about values, severity warn); every other check passes
    failed = [c for c in checks if not c.passed]
    assert [(c.asset_key.path[-1], c.severity) for c in failed] == [
        ("fct_batch_setpoint", AssetCheckSeverity.WARN)
    ]
    assert failed[0].check_name.startswith("relationships_fct_batch_setpoint_parameter_id")

    tables = query(
        warehouse,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'marts' ORDER BY table_name, ordinal_position",
    )
    assert set(tables["table_name"]) == MARTS
    for mart in MARTS:
        node = nodes[f"model.biotwin.{mart}"]
        assert node["config"]["contract"]["enforced"], mart
        assert node["description"], mart
        declared = list(node["columns"])
        assert declared == tables.loc[tables["table_name"] == mart, "column_name"].tolist(), mart
        for name, column in node["columns"].items():
            assert column["description"] and column["data_type"], f"{mart}.{name}"


def _tolerances(plant_dir: Path) -> dict[tuple[str, str], float]:
    """Per site and parameter: the largest error the source rounding allows, in canonical units
    (half a step of the decimals the historian wrote, times the conversion factor)."""
    units = {
        (r["from_unit"], r["to_unit"]): float(r["factor"])
        for r in read_reference(plant_dir, "units.csv")
    }
    canonical = {
        r["parameter_id"]: r["canonical_unit"] for r in read_reference(plant_dir, "parameters.csv")
    }
    tol = {}
    for tag in read_reference(plant_dir, "tags.csv"):
        source, pid = tag["source_unit"], tag["parameter_id"]
        factor = 1.0 if source == canonical[pid] else units[(source, canonical[pid])]
        step = 0.5 * 10.0 ** (-DECIMALS.get(source, 4)) * abs(factor)
        tol[(tag["site_id"], pid)] = max(tol.get((tag["site_id"], pid), 0.0), step) + 1e-9
    return tol


def _fall_back_hours(manifest: dict) -> set[tuple[str, int]]:
    """(batch, elapsed hour) pairs that contain part of a site's ambiguous local hour."""
    touched = set()
    for batch in manifest["batches"]:
        if batch["site_id"] not in FALL_BACK_UTC:
            continue
        lo, hi = (t.timestamp() for t in FALL_BACK_UTC[batch["site_id"]])
        start = datetime.fromisoformat(batch["start_utc"]).timestamp()
        for hour in range(int((lo - start) // 3600), int((hi - start) // 3600) + 1):
            touched.add((batch["batch_id"], hour))
    return touched


def test_trajectories_equal_the_generated_ones_in_canonical_units(
    conformed: Path, plant_dir: Path, manifest: dict
) -> None:
    truth = pd.read_csv(plant_dir / "truth" / "trajectories.csv")
    ours = query(
        conformed,
        "SELECT batch_id, parameter_id, CAST(floor(elapsed_h) AS INTEGER) AS elapsed_h, "
        "avg(value) AS ours, count(*) AS n FROM marts.fct_process_timeseries "
        "WHERE is_usable GROUP BY ALL",
    )
    merged = truth.merge(ours, on=["batch_id", "parameter_id", "elapsed_h"], how="outer")
    touched = _fall_back_hours(manifest)
    in_fall_back = [
        (b, h) in touched for b, h in zip(merged["batch_id"], merged["elapsed_h"], strict=True)
    ]
    merged["fall_back"] = in_fall_back
    # outside the ambiguous hour: the same cells, the same number of readings
    normal = merged[~merged["fall_back"]]
    assert normal["ours"].notna().all() and normal["value"].notna().all()
    assert (normal["n"] == normal["n_points"]).all()
    # inside it: readings with an ambiguous local time are missing (flagged, not guessed)
    fall_back = merged[merged["fall_back"]]
    assert len(fall_back) > 0
    assert (fall_back["n"].fillna(0) < fall_back["n_points"]).all()

    tol = _tolerances(plant_dir)
    site = {b["batch_id"]: b["site_id"] for b in manifest["batches"]}
    both = merged[merged["ours"].notna() & (merged["n"] == merged["n_points"])]
    limits = np.array(
        [tol[(site[b], p)] for b, p in zip(both["batch_id"], both["parameter_id"], strict=True)]
    )
    error = (both["ours"] - both["value"]).abs().to_numpy()
    assert (error <= limits).all(), both[error > limits].head().to_string()
    assert len(both) > 0.99 * len(truth)


def test_the_fahrenheit_site_lands_near_37_celsius(conformed: Path, plant_dir: Path) -> None:
    units = {
        (r["site_id"], r["parameter_id"]): r["source_unit"]
        for r in read_reference(plant_dir, "tags.csv")
    }
    assert units[("BSL", "temperature")] == "degF"
    temps = query(
        conformed,
        "SELECT b.site_id, median(t.value) AS median_c, median(t.source_value) AS median_source "
        "FROM marts.fct_process_timeseries t JOIN marts.dim_batch b USING (batch_id) "
        "WHERE t.parameter_id = 'temperature' AND t.is_usable GROUP BY ALL",
    ).set_index("site_id")
    assert 36.5 < temps.loc["BSL", "median_c"] < 37.8
    assert 97.7 < temps.loc["BSL", "median_source"] < 100.1  # the historian wrote °F


def test_batch_setpoints_are_the_planned_ones_in_canonical_units(
    conformed: Path, manifest: dict
) -> None:
    """BSL writes the seeding density in cells/mL, BOS in 1e6 cells/mL, CRK in 1e5 cells/mL: the
    mart has one unit."""
    rows = query(
        conformed,
        "SELECT s.batch_id, s.parameter_id, s.setpoint, s.unit, s.source_unit, s.unit_known "
        "FROM marts.fct_batch_setpoint s",
    )
    assert rows["unit_known"].all()
    seeding = rows[rows["parameter_id"] == "seeding_density"].set_index("batch_id")
    assert set(seeding["source_unit"]) == {"cells/mL", "1e6 cells/mL", "1e5 cells/mL"}
    assert set(seeding["unit"]) == {"1e6 cells/mL"}
    temperature = rows[rows["parameter_id"] == "temperature"].set_index("batch_id")
    planned = {b["batch_id"]: b["setpoints"] for b in manifest["batches"]}
    for batch, row in seeding.iterrows():
        assert row["setpoint"] == pytest.approx(planned[batch]["seeding_density"], rel=1e-9)
        assert temperature.loc[batch, "setpoint"] == planned[batch]["temperature"]
    # the planned culture length comes from ref.processes.duration_parameter_id (harvest_day
    # for the cell expansions, production_days for the fed-batch; both in d) through ref.units
    # (d -> h), not from a parameter named in SQL
    features = query(
        conformed,
        "SELECT f.batch_id, f.planned_duration_h, p.duration_parameter_id, s.setpoint "
        "FROM marts.batch_features f JOIN ref.processes p ON f.product_id = p.product_id "
        "LEFT JOIN marts.fct_batch_setpoint s "
        "ON f.batch_id = s.batch_id AND s.parameter_id = p.duration_parameter_id",
    )
    with_duration = features[features["duration_parameter_id"].notna()]
    assert set(with_duration["duration_parameter_id"]) == {"harvest_day", "production_days"}
    assert (with_duration["planned_duration_h"] == with_duration["setpoint"] * 24.0).all()
    # the vector process has no duration parameter: a fixed schedule, no planned length
    assert features.loc[features["duration_parameter_id"].isna(), "planned_duration_h"].isna().all()


def test_grid_trajectory_is_the_truth_on_the_process_grid(
    conformed: Path, plant_dir: Path, manifest: dict
) -> None:
    processes = {r["product_id"]: r for r in read_reference(plant_dir, "processes.csv")}
    product = {b["batch_id"]: b["product_id"] for b in manifest["batches"]}
    truth = pd.read_csv(plant_dir / "truth" / "trajectories.csv")
    step = truth["batch_id"].map(lambda b: float(processes[product[b]]["grid_step_h"]))
    truth["grid"] = np.floor(truth["elapsed_h"] / step) * step
    truth["weighted"] = truth["value"] * truth["n_points"]
    expected = truth.groupby(["batch_id", "parameter_id", "grid"], as_index=False)[
        ["weighted", "n_points"]
    ].sum()
    expected["value"] = expected["weighted"] / expected["n_points"]
    grid = query(
        conformed,
        "SELECT batch_id, parameter_id, elapsed_h AS grid, value AS ours, n_points AS n "
        "FROM marts.fct_batch_trajectory",
    )
    merged = expected.merge(grid, on=["batch_id", "parameter_id", "grid"], how="inner")
    assert len(merged) >= 0.99 * len(expected)
    assert {p for p in processes if float(processes[p]["grid_step_h"]) != 1.0}  # a 2 h grid
    same = merged[merged["n"] == merged["n_points"]]
    assert len(same) >= 0.99 * len(merged)
    assert ((same["ours"] - same["value"]).abs() < 0.02 * same["value"].abs() + 0.06).all()


def test_phases_are_those_of_the_batch_record(conformed: Path, manifest: dict) -> None:
    extract = datetime.fromisoformat(manifest["generator"]["extract_at_utc"])
    phases = query(conformed, "SELECT * FROM marts.fct_batch_phase ORDER BY batch_id, phase_order")
    for batch in manifest["batches"]:
        expected = [
            (p["phase"], p["equipment_id"], datetime.fromisoformat(p["start_utc"]))
            for p in batch["phases"]
            if datetime.fromisoformat(p["start_utc"]) < extract
        ]
        got = phases[phases["batch_id"] == batch["batch_id"]]
        assert [
            (r.phase, r.equipment_id, r.started_at_utc.to_pydatetime()) for r in got.itertuples()
        ] == expected, batch["batch_id"]
    # every reading lies in the window of its phase on its equipment
    outside = query(
        conformed,
        "SELECT count(*) AS n FROM marts.fct_process_timeseries t "
        "LEFT JOIN marts.fct_batch_phase p ON p.batch_id = t.batch_id AND p.phase = t.phase "
        "AND p.equipment_id = t.equipment_id AND t.ts_utc >= p.started_at_utc "
        "AND (p.ended_at_utc IS NULL OR t.ts_utc < p.ended_at_utc) WHERE p.batch_id IS NULL",
    )
    assert outside["n"].iloc[0] == 0


def _file_sha(warehouse: Path, landing_path: str) -> str:
    relative = landing_path.removeprefix("landing/")
    found = query(
        warehouse,
        "SELECT DISTINCT file_sha256 FROM raw.file_ledger WHERE source_path = ?",
        [relative],
    )
    assert len(found) == 1, landing_path
    return found["file_sha256"].iloc[0]


def test_dst_ambiguous_readings_are_flagged_and_kept_out_of_the_marts(
    conformed: Path, manifest: dict
) -> None:
    items = [m for m in manifest["mess"] if m["kind"] == "historian_dst_ambiguous"]
    assert items
    for item in items:
        sha = _file_sha(conformed, item["path"])
        rows = query(
            conformed,
            "SELECT _record_id, conform_issue, ts_utc "
            "FROM intermediate.int_historian__points_conformed "
            "WHERE _file_sha256 = ? AND ts_local >= CAST(? AS DATE) + INTERVAL 1 HOUR "
            "AND ts_local < CAST(? AS DATE) + INTERVAL 2 HOUR",
            [sha, FALL_BACK_LOCAL[item["site_id"]], FALL_BACK_LOCAL[item["site_id"]]],
        )
        assert len(rows) == item["detail"]["rows"]
        assert rows["ts_utc"].isna().all()
        assert set(rows["conform_issue"]) <= {"dst_ambiguous", "unmapped_tag"}
        issues = query(
            conformed,
            "SELECT sum(n_records) AS n FROM marts.dq_issues "
            "WHERE issue_type = 'dst_ambiguous' AND file_sha256 = ?",
            [sha],
        )
        assert issues["n"].iloc[0] == (rows["conform_issue"] == "dst_ambiguous").sum() > 0
        leaked = query(
            conformed,
            "SELECT count(*) AS n FROM marts.fct_process_timeseries WHERE _record_id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [rows["_record_id"].tolist()],
        )
        assert leaked["n"].iloc[0] == 0


def test_lims_results_equal_the_truth_and_keep_every_version(
    conformed: Path, plant_dir: Path
) -> None:
    truth = pd.read_csv(plant_dir / "truth" / "lab_results.csv", dtype={"entry": str})
    current = query(
        conformed,
        "SELECT sample_id, parameter_id, batch_id, value, censor, result_text, status "
        "FROM marts.fct_lab_result WHERE source_system = 'lims' AND is_current "
        "AND status <> 'cancelled'",
    )
    merged = truth.merge(current, on=["sample_id", "parameter_id"], how="left", suffixes=("", "_"))
    assert merged["result_text"].notna().all()
    assert (merged["result_text"] == merged["entry"]).all()
    assert (merged["batch_id_"].fillna("") == merged["batch_id"].fillna("")).all()
    numeric = merged[merged["censor"].isna()]
    # the truth is the unrounded value; the LIMS entry has the lab's decimals
    step = numeric["entry"].map(lambda e: 0.5 * 10.0 ** Decimal(e).as_tuple().exponent)
    per_unit = numeric["value_"] / numeric["entry"].astype(float)
    error = (numeric["value_"] - numeric["value"]).abs()
    assert (error <= step * per_unit.abs() + 1e-9).all()
    text = merged["censor"] == "text"
    assert text.any() and merged.loc[text, "value_"].isna().all()
    assert (merged.loc[text, "censor_"] == "text").all()
    limited = merged["censor"] == "<"
    assert limited.any() and (merged.loc[limited, "censor_"] == "<").all()
    assert np.allclose(merged.loc[limited, "value_"], merged.loc[limited, "value"])


def test_instrument_readings_equal_the_truth_with_their_source(
    conformed: Path, plant_dir: Path
) -> None:
    truth = pd.read_csv(plant_dir / "truth" / "instrument_results.csv")
    ours = query(
        conformed,
        "SELECT sample_id, parameter_id, source_system, batch_id, value, censor, sampled_at_utc "
        "FROM marts.fct_lab_result WHERE source_system LIKE 'instrument:%' "
        "AND status = 'measured'",
    )
    truth["source_system"] = "instrument:" + truth["vendor"]
    # release-assay readings (a dPCR sample's wells, flow gate counts): as a set per sample
    keys = ["sample_id", "parameter_id", "source_system"]
    assay = truth["target"].notna()
    for key, rows in truth[assay].groupby(keys):
        found = ours.set_index(keys).loc[[key]]
        got = found["value"].sort_values().to_numpy()
        assert np.allclose(got, np.sort(rows["value"].to_numpy()), rtol=1e-3), key
        # a flow tube's acquisition time is the file's ($DATE/$BTIM); a dPCR plate has none
        times = set(found["sampled_at_utc"].dropna())
        if key[2] == "instrument:flowjo":
            assert times == set(pd.to_datetime(rows["measured_at_utc"], utc=True)), key
        else:
            assert times == set(), key
    ours = ours[~ours["parameter_id"].isin(set(truth.loc[assay, "parameter_id"]))]
    truth = truth[~assay]
    merged = truth.merge(
        ours, on=["sample_id", "parameter_id", "source_system"], how="left", suffixes=("", "_")
    )
    assert merged["source_system"].notna().all() and len(merged) == len(truth)
    assert (merged["batch_id_"].fillna("") == merged["batch_id"].fillna("")).all()
    measured = merged["censor"].isna()
    # instruments print 2-3 decimals: within half a unit of the last printed digit
    close = (merged.loc[measured, "value_"] - merged.loc[measured, "value"]).abs()
    assert (close <= 0.005 * merged.loc[measured, "value"].abs() + 0.0051).all()
    below = merged[merged["censor"] == "<"]
    assert len(below) > 0 and (below["value"] < below["value_"]).all()  # true value < limit


def test_release_results_come_from_the_instrument_files_with_their_specifications(
    conformed: Path, manifest: dict
) -> None:
    """Each tested CAR-T batch has VCN (dPCR plate) and % CAR+ (flow workspace) computed from
    its files, equal to what the LIMS reports, with the CQA limits; the planted overdose is
    out of specification in both and is an out_of_spec issue of its batch."""
    results = query(
        conformed,
        "SELECT batch_id, parameter_id, source_system, status, value, result_text, spec_min, "
        "spec_max, out_of_spec FROM marts.fct_lab_result "
        "WHERE is_current AND sample_point = 'FINAL' "
        "AND parameter_id IN ('vcn', 'transduction_efficiency') AND batch_id IS NOT NULL",
    )
    lims = results[results["source_system"] == "lims"].set_index(["batch_id", "parameter_id"])
    derived = results[results["status"] == "calculated"].set_index(["batch_id", "parameter_id"])
    assert set(derived["source_system"]) == {"instrument:qiacuity_dpcr", "instrument:flowjo"}
    both = derived.join(lims, rsuffix="_lims", how="inner")
    assert both.index.get_level_values(1).value_counts().min() >= 3
    # the LIMS reports the file's value as the analyst typed it: within half its last digit
    # (in the LIMS's unit: BSL types a fraction, 0.600 for 60 %)
    typed = both["result_text_lims"].astype(float)
    digits = both["result_text_lims"].str.split(".").str[1].str.len()
    half = 0.5 * 10.0 ** (-digits) * both["value_lims"] / typed
    assert ((both["value"] - both["value_lims"]).abs() <= half + 1e-9).all()
    vcn = both.xs("vcn", level=1)
    assert (vcn["spec_max"] == 5.0).all() and vcn["spec_min"].isna().all()
    te = both.xs("transduction_efficiency", level=1)
    assert (te["spec_min"] == 15.0).all()
    (planted,) = [i for i in manifest["mess"] if i["kind"] == "lab_out_of_spec"]
    batch = planted["detail"]["batch_id"]
    assert vcn.loc[batch, "out_of_spec"] and vcn.loc[batch, "out_of_spec_lims"]
    assert vcn.loc[batch, "value"] == pytest.approx(planted["detail"]["value"], abs=1e-4)
    assert vcn.drop(batch)["out_of_spec"].eq(False).all()
    issues = query(
        conformed,
        "SELECT source_system, detail FROM marts.dq_issues "
        "WHERE issue_type = 'out_of_spec' AND batch_id = ?",
        [batch],
    )
    vcn_issues = issues[issues["detail"].str.startswith("vcn = ")]
    assert set(vcn_issues["source_system"]) == {"lims", "instruments"}
    assert vcn_issues["detail"].str.contains(r"outside \.\.5 \(CQA").all()


def test_genealogy_names_the_batches_that_consumed_each_vector_lot(
    conformed: Path, manifest: dict
) -> None:
    consumed = query(
        conformed,
        "SELECT lot, list(DISTINCT batch_id ORDER BY batch_id) AS batches "
        "FROM marts.fct_material_consumption WHERE material_id = 'LVV-CD19' GROUP BY lot",
    )
    got = {r.lot: sorted(r.batches) for r in consumed.itertuples()}
    expected = {g["vector_lot"]: sorted(g["consumed_by"]) for g in manifest["genealogy"]}
    assert got == expected


def test_mart_record_ids_are_raw_record_ids(conformed: Path) -> None:
    """The marts compute _record_id from file sha256 and position (macro raw_record_id): it
    must name the same raw record as the raw view's own column, and raw ids are unique."""
    raw = query(
        conformed,
        "SELECT count(*) AS n, count(DISTINCT _record_id) AS distinct_n FROM raw.historian_point",
    ).iloc[0]
    assert raw["n"] == raw["distinct_n"] > 0
    unmatched = query(
        conformed,
        "SELECT count(*) AS n, count(r._record_id) AS found FROM "
        "marts.fct_process_timeseries AS t "
        "LEFT JOIN raw.historian_point AS r ON r._record_id = t._record_id "
        "AND r._file_sha256 = t._file_sha256",
    ).iloc[0]
    assert unmatched["n"] == unmatched["found"] > 0  # every row, not a random sample


def test_the_fed_batch_site_reaches_every_mart_it_has_data_for(
    conformed: Path, manifest: dict
) -> None:
    """CRK (docs/synthetic-plant.md) is onboarded by reference rows only: `;` and decimal-comma
    historian CSV with day-first times, LIMS times with offsets, a process of type `other`."""
    batches = {b["batch_id"]: b for b in manifest["batches"] if b["site_id"] == "CRK"}
    assert len(batches) >= 8
    counts = query(
        conformed,
        """SELECT m, count(DISTINCT batch_id) AS n FROM (
               SELECT 'dim_batch' AS m, batch_id FROM marts.dim_batch
               UNION ALL SELECT 'fct_batch_phase', batch_id FROM marts.fct_batch_phase
               UNION ALL SELECT 'fct_process_timeseries', batch_id
                   FROM marts.fct_process_timeseries
               UNION ALL SELECT 'fct_batch_trajectory', batch_id FROM marts.fct_batch_trajectory
               UNION ALL SELECT 'fct_lab_result', batch_id FROM marts.fct_lab_result
               UNION ALL SELECT 'fct_batch_setpoint', batch_id FROM marts.fct_batch_setpoint
               UNION ALL SELECT 'fct_material_consumption', batch_id
                   FROM marts.fct_material_consumption
               UNION ALL SELECT 'fct_signature', batch_id FROM marts.fct_signature
               UNION ALL SELECT 'batch_features', batch_id FROM marts.batch_features)
           WHERE batch_id LIKE 'MAB-%' GROUP BY m""",
    ).set_index("m")["n"]
    assert (counts == len(batches)).all() and len(counts) == 9, counts.to_dict()
    features = query(
        conformed,
        "SELECT batch_id, process_type, is_in_progress, outcome_parameter_id, outcome_value "
        "FROM marts.batch_features WHERE product_id = 'MAB-CHO01'",
    ).set_index("batch_id")
    assert set(features["process_type"]) == {"other"}
    done = features[~features["is_in_progress"]]
    assert len(done) >= 5
    for batch, row in done.iterrows():
        # the harvest titre: written in mg/L with 2 decimals, converted to g/L
        truth = batches[batch]["outcomes"]["product_titer"]
        assert row["outcome_value"] == pytest.approx(truth, rel=0.05), batch
    # the Kelvin tags land near the set-points in degC
    temperature = query(
        conformed,
        "SELECT avg(value) AS t FROM marts.fct_batch_trajectory "
        "WHERE batch_id LIKE 'MAB-%' AND parameter_id = 'temperature' AND elapsed_h < 48",
    )["t"].iloc[0]
    assert 36.0 < temperature < 37.0


def test_every_table_mart_carries_its_row_count(conformed_run) -> None:
    """The catalog shows each mart's rows (dagster/row_count), counted after dbt let go of the
    warehouse; views are not counted."""
    warehouse, result = conformed_run
    counted = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if "dagster/row_count" in mat.metadata:
            counted[mat.asset_key.to_user_string()] = mat.metadata["dagster/row_count"].value
    assert {f"marts/{m}" for m in MARTS} <= set(counted)
    assert not any(k.startswith("staging/stg_historian") for k in counted)  # a view
    for mart in ("dim_batch", "fct_lab_result", "dim_source_file"):
        n = query(warehouse, f"SELECT count(*) AS n FROM marts.{mart}")["n"].iloc[0]
        assert counted[f"marts/{mart}"] == n > 0, mart


def test_every_model_and_column_is_described(conformed: Path) -> None:
    """A reader of the dbt docs (and of the lineage schema facet) finds every model, seed and
    column the build made described: the columns are read from the built warehouse, so a
    column added in SQL without a word in its YAML fails here."""
    import duckdb

    nodes = json.loads(MANIFEST.read_text(encoding="utf-8"))["nodes"]
    built = [n for n in nodes.values() if n["resource_type"] in ("model", "seed")]
    assert len(built) > 40
    undescribed = []
    with duckdb.connect(str(conformed), read_only=True) as con:
        for node in built:
            if not node.get("description", "").strip():
                undescribed.append((node["name"], None))
            relation = node.get("alias") or node["name"]
            columns = con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [node["schema"], relation],
            ).fetchall()
            assert columns, f"{node['schema']}.{relation} was not built"
            documented = {k: v.get("description", "").strip() for k, v in node["columns"].items()}
            undescribed += [(node["name"], c) for (c,) in columns if not documented.get(c)]
    assert undescribed == []
