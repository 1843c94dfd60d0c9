"""The digital twin on the session plant's conformed marts: no look-ahead, a second process
defined by reference rows only, what-if against the generator's own model, and the Dagster
assets writing twin.* with registry, audit and lineage."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from synthetic.generate import DEFAULT_START
from synthetic.model import simulate_culture
from synthetic.plan import plan_plant
from synthetic.series import _culture_window, _growth_scale, culture_conditions
from tests.conftest import PLANT_BATCHES, PLANT_SEED, lineage_dir, publish_for_readers
from twin import growth
from twin.data import TwinData, from_frames, read_marts
from twin.forecast import features_at, fit_forecaster
from twin.pipeline import (
    completed,
    run_forecasts,
    run_growth,
    run_monitoring,
    run_soft_sensors,
)
from twin.simulate import as_run_value
from twin.soft_sensor import online_features

CART = "CART-CD19"


@pytest.fixture(scope="module")
def data(conformed: Path) -> TwinData:
    return read_marts(conformed)


def _changed_after(data: TwinData, batch: str, hour: float) -> TwinData:
    """The same marts, with everything the batch recorded after `hour` altered."""
    trajectory = data.trajectory.copy()
    late = (trajectory["batch_id"] == batch) & (trajectory["elapsed_h"] > hour)
    trajectory.loc[late, "value"] = trajectory.loc[late, "value"] * 3.0 + 10.0
    labs = data.labs.copy()
    late_labs = (labs["batch_id"] == batch) & (labs["elapsed_h"] > hour)
    labs.loc[late_labs, "value"] = labs.loc[late_labs, "value"] * 0.1
    assert late.sum() > 100 and late_labs.sum() > 0, "the change touches real data"
    return dataclasses.replace(data, trajectory=trajectory, labs=labs)


def test_no_look_ahead_in_monitoring_and_forecasts(data: TwinData) -> None:
    process = data.processes[CART]
    done = completed(data.batches(CART))
    hour = process.checkpoint_hours()[1]
    before = run_monitoring(data, process, "code")
    assert before is not None
    # a batch outside the reference set (a reference batch's data would change the model)
    scored = before.monitoring[~before.monitoring["scored_held_out"].astype(bool)]
    batch = str(scored.loc[scored["elapsed_h"] > hour + 24, "batch_id"].iloc[0])
    changed = _changed_after(data, batch, hour)
    after = run_monitoring(changed, process, "code")
    assert after is not None

    def stats(result, upto: bool):
        rows = result.monitoring[result.monitoring["batch_id"] == batch]
        rows = rows[(rows["elapsed_h"] <= hour) if upto else (rows["elapsed_h"] > hour)]
        return rows.set_index("elapsed_h")[["t2", "spe", "beyond_limit"]]

    assert len(stats(before, True)) > 10
    pd.testing.assert_frame_equal(stats(before, True), stats(after, True))
    assert not stats(before, False)["t2"].equals(stats(after, False)["t2"]), "later data matter"

    # forecast of that batch at the checkpoint: features and prediction unchanged
    others = [b for b in done["batch_id"] if b != batch]
    outcomes = done.set_index("batch_id").loc[others, "outcome_value"].astype(float).to_numpy()
    model = fit_forecaster(
        features_at(process, others, data.trajectory, data.labs, data.recipe(process), hour),
        outcomes,
        hour,
    )
    x_before = features_at(process, [batch], data.trajectory, data.labs, data.recipe(process), hour)
    x_after = features_at(
        process, [batch], changed.trajectory, changed.labs, data.recipe(process), hour
    )
    pd.testing.assert_frame_equal(x_before, x_after)
    pd.testing.assert_frame_equal(model.predict(x_before), model.predict(x_after))
    later = process.checkpoint_hours()[3]
    assert not features_at(
        process, [batch], data.trajectory, data.labs, data.recipe(process), later
    ).equals(
        features_at(process, [batch], changed.trajectory, changed.labs, data.recipe(process), later)
    )

    # soft sensor of that batch: what it reads at every step up to the hour is unchanged, so a
    # fitted sensor's estimates are too; later steps see the change
    recipe = data.recipe(process)
    step = int(hour / process.grid_step_h)
    seen = online_features(process, [batch], data.trajectory, recipe)
    seen_after = online_features(process, [batch], changed.trajectory, recipe)
    np.testing.assert_array_equal(seen[:, : step + 1], seen_after[:, : step + 1])
    assert not np.array_equal(seen[:, step + 1 :], seen_after[:, step + 1 :], equal_nan=True)

    # the soft sensors' estimates the forecast reads at the hour: the same for that batch
    # (which quantities are published may differ: the batch's later lab results train the
    # other folds' sensors; compared where both runs publish one)
    soft = run_soft_sensors(data, process, "code").estimates
    soft_after = run_soft_sensors(changed, process, "code").estimates
    x_soft = features_at(process, [batch], data.trajectory, data.labs, recipe, hour, soft)
    x_soft_after = features_at(
        process, [batch], changed.trajectory, changed.labs, recipe, hour, soft_after
    )
    both = [c for c in x_soft.columns if c in x_soft_after.columns]
    assert "soft__vcd" in both and x_soft["soft__vcd"].notna().all()
    pd.testing.assert_frame_equal(x_soft[both], x_soft_after[both])


def test_a_second_process_needs_reference_rows_only(data: TwinData, conformed: Path) -> None:
    """A new product with its own duration, grid step and outcome, defined by its rows."""
    with duckdb.connect(str(conformed), read_only=True) as con:
        processes = con.execute("SELECT * FROM ref.processes").df()
        parameters = con.execute("SELECT parameter_id, kind FROM ref.parameters").df()
    new = "PBMC-EXP"

    def relabel(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if "product_id" in frame:
            frame["product_id"] = frame["product_id"].replace({CART: new})
        return frame

    cart_ids = set(data.batches(CART)["batch_id"])
    features = relabel(data.features)
    features["outcome_value"] = np.where(
        features["batch_id"].isin(cart_ids), features["final_viability"], np.nan
    )
    row = {
        "product_id": new,
        "process_type": "autologous",
        "expected_duration_h": 210.0,
        "outcome_parameter_id": "final_viability",
        "grid_step_h": 3.0,
        "mechanistic_model": None,
    }
    frames = from_frames(
        relabel(data.trajectory[data.trajectory["product_id"] == CART]),
        data.labs[data.labs["batch_id"].isin(cart_ids)].copy(),
        features[features["batch_id"].isin(cart_ids)],
        pd.DataFrame([row]),
        parameters,
        data.setpoints,
    )
    process = frames.processes[new]
    assert {"temperature", "dissolved_oxygen"} <= set(process.setpoint_parameters)
    assert process.grid_step_h == 3.0 and process.checkpoint_hours() == [42.0, 84.0, 126.0, 168.0]
    assert "temperature" in process.parameters and processes["product_id"].ne(new).all()
    monitored = run_monitoring(frames, process, "code")
    assert monitored is not None
    assert set(np.diff(sorted(monitored.envelope["elapsed_h"].unique()))) == {3.0}
    assert monitored.monitoring["batch_id"].nunique() == len(cart_ids)
    forecast = run_forecasts(frames, process, "code")
    assert forecast is not None
    assert set(forecast.forecasts["outcome_parameter_id"]) == {"final_viability"}
    assert sorted(forecast.forecasts["checkpoint_h"].unique()) == [42.0, 84.0, 126.0, 168.0]
    assert run_growth(frames, process, "code") == [], "no mechanistic model named: none fitted"


def _generator_outcome(plan, x0_factor: float = 1.0, extra_days: float = 0.0) -> float:
    """The generator's own model for a changed set-point: harvest X · V."""
    start, end = _culture_window(plan)
    minutes = np.arange(start, end + int(extra_days * 1440), dtype=np.int64)
    cond = culture_conditions(plan, minutes)
    begin = dataclasses.replace(
        plan.culture_start, viable_density=plan.culture_start.viable_density * x0_factor
    )
    run = simulate_culture(
        plan.growth,
        begin,
        cond["temperature"],
        cond["ph"],
        cond["dissolved_oxygen"],
        cond["feed_rate"],
        _growth_scale(plan, minutes),
    )
    return float(run.viable_density[-1] * run.volume[-1])


def test_what_if_moves_like_the_generator(data: TwinData, manifest: dict) -> None:
    """Tolerance: the simulated relative change is within 0.15 of the generator's; where the
    generator's outcome moves by more than 5 %, the simulation moves the same way."""
    process = data.processes[CART]
    features = data.batches(CART).set_index("batch_id")
    faulted = {b["batch_id"] for b in manifest["batches"] if b.get("fault")}
    ids = [b for b in completed(data.batches(CART))["batch_id"] if b not in faulted]
    inputs = {b.batch_id: b for b in growth.batch_inputs(process, ids, data.trajectory, data.labs)}
    model = growth.fit(process, list(inputs.values()))
    plans = {
        p.batch_id: p for p in plan_plant(PLANT_BATCHES, PLANT_SEED, DEFAULT_START, 0.15).batches
    }
    checked = []
    for batch in ids[:4]:
        seeding = as_run_value(data.setpoints, batch, "seeding_density")
        harvest = float(features.loc[batch, "planned_duration_h"]) / 24.0
        base = _generator_outcome(plans[batch])
        for change, truth in (
            ({"seeding_density": 1.5 * seeding}, _generator_outcome(plans[batch], 1.5)),
            ({"seeding_density": 0.6 * seeding}, _generator_outcome(plans[batch], 0.6)),
            ({"harvest_day": harvest + 1}, _generator_outcome(plans[batch], extra_days=1)),
            ({"harvest_day": harvest - 1}, _generator_outcome(plans[batch], extra_days=-1)),
        ):
            result = growth.what_if(model, inputs[batch], change, seeding)
            simulated, expected = result.outcome / result.as_run_outcome, truth / base
            checked.append((batch, change, round(simulated, 3), round(expected, 3)))
            assert abs(simulated - expected) <= 0.15, checked[-1]
            if abs(expected - 1) > 0.05:
                assert np.sign(simulated - 1) == np.sign(expected - 1), checked[-1]
            assert result.outcome_band[0] <= result.outcome <= result.outcome_band[1]
    assert len(checked) == 16


def _every_scored_batch_is_plotted(result, warehouse: Path, reports: Path) -> None:
    """One PNG per scored batch and a page showing them all; the metadata shows the example
    batch inline (short markdown, image by URL: Dagster renders it without a click below
    1,000 characters) and links the page."""
    from biotwin.settings import settings

    base = settings().reports_url
    meta = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    for asset in ("golden_envelope", "batch_monitoring", "outcome_forecast"):
        table = "batch_monitoring" if asset == "golden_envelope" else asset
        with duckdb.connect(str(warehouse), read_only=True) as con:
            scored = {
                b for (b,) in con.execute(f"SELECT DISTINCT batch_id FROM twin.{table}").fetchall()
            }
        folder = Path(meta[asset]["plots_folder"].value)
        assert folder.parent.parent == reports / "twin" and folder.name == result.run_id
        pngs = {f.stem for f in folder.glob("*.png")}
        assert pngs == scored and len(scored) >= 10, asset
        assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in folder.glob("*.png"))
        page = (folder / "index.html").read_text()
        assert all(f'src="{b}.png"' in page for b in scored)
        plot = meta[asset]["plot"].value
        assert len(plot) < 1000 and f"]({base}/twin/{asset}/{result.run_id}/" in plot
        assert meta[asset]["plots"].value == f"{base}/twin/{asset}/{result.run_id}/index.html"
        assert meta[asset]["batches_plotted"].value == len(scored)


def test_twin_assets_write_tables_registry_audit_and_lineage(
    conformed: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets.resources import PlantPaths
    from assets.twin import TWIN_ASSETS
    from orchestration.cli import main

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(conformed, warehouse)
    paths = PlantPaths(warehouse=str(warehouse), lineage=str(lineage_dir(warehouse)))

    def run():
        result = materialize(
            TWIN_ASSETS, resources={"paths": paths}, instance=DagsterInstance.ephemeral()
        )
        assert result.success
        return result

    monkeypatch.setenv("BIOTWIN_REPORTS_DIR", str(tmp_path / "reports"))
    from twin import forecast

    read_by_forecasts: set[str] = set()  # the soft-sensed quantities the forecasts were given
    soft_estimates = forecast._soft_estimates

    def spy(*args):
        found = soft_estimates(*args)
        read_by_forecasts.update(q for q, v in found.items() if np.isfinite(v).any())
        return found

    with monkeypatch.context() as patched:
        patched.setattr(forecast, "_soft_estimates", spy)
        first = run()
    _every_scored_batch_is_plotted(first, warehouse, tmp_path / "reports")
    # the twin's checks are evaluated on every run, each verdict what its rule says about the
    # registered cross-validated metrics (twin/checks.py; planted failures in tests/unit)
    verdicts = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert {"beats_naive", "interval_coverage", "false_alarm_rate", "sensor_quality"} <= set(
        verdicts
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        metrics = [
            json.loads(m)
            for (m,) in con.execute(
                "SELECT metrics FROM twin.model_registry WHERE kind LIKE 'forecast_%'"
            ).fetchall()
        ]
    assert metrics and verdicts["beats_naive"].passed == all(
        m["mape"] <= m["naive_mape"] + 1e-9 for m in metrics
    )
    # every forecast names the candidate it is and every candidate's inner-CV score
    for m in metrics:
        assert set(m["chosen"].split("+")) <= set(m["candidate_cv_mape"])
        assert "training_mean" in m["candidate_cv_mape"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'twin'"
            ).fetchall()
        }
        registry = con.execute("SELECT kind, product_id, model_id FROM twin.model_registry").df()
        trained = con.execute(
            "SELECT subject FROM audit.audit_log WHERE kind = 'model_trained'"
        ).fetchall()
    assert tables == {
        "golden_envelope",
        "batch_monitoring",
        "outcome_forecast",
        "soft_sensor",
        "model_registry",
    }
    assert {"golden_batch", "forecast_40pct", "growth_logistic_monod"} <= set(registry["kind"])
    assert "soft_sensor_vcd" in set(registry["kind"])  # cell density between lab counts
    with duckdb.connect(str(warehouse), read_only=True) as con:
        soft_kinds = con.execute(
            "SELECT kind, count(DISTINCT batch_id) FROM twin.soft_sensor GROUP BY kind"
        ).fetchall()
    # completed batches get the estimates of the fold that did not train on them, and those
    # are among what the forecasts learn from
    assert dict(soft_kinds)["cross_validated"] > 0
    assert "vcd" in read_by_forecasts
    # the fed-batch site's process (type other, reference rows only) has its models too; it
    # has no mechanistic model, so no growth fit
    fedbatch = set(registry.loc[registry["product_id"] == "MAB-CHO01", "kind"])
    assert {"golden_batch", "forecast_20pct", "forecast_80pct"} <= fedbatch
    assert "growth_logistic_monod" not in fedbatch
    assert sorted(s for (s,) in trained) == sorted(registry["model_id"])
    # same training, same code: the same models, nothing new registered or audited, and every
    # plot copied from the first run, none drawn again (assets/twin_plots.py)
    from twin import plots

    def not_again(*args, **kwargs):
        raise AssertionError("a plot whose data did not change was drawn again")

    def forecasts() -> pd.DataFrame:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            frame = con.execute("SELECT * FROM twin.outcome_forecast").df()
        return frame.sort_values(["batch_id", "checkpoint_h", "kind"]).reset_index(drop=True)

    before_again = forecasts()
    with monkeypatch.context() as patched:
        for name in ("envelope_plot", "monitoring_plot", "forecast_plot"):
            patched.setattr(plots, name, not_again)
        # registered forecasts are not cross-validated again: their choice is refitted
        patched.setattr("twin.forecast.cross_validate", not_again)
        patched.setattr("twin.soft_sensor.score_sensor", not_again)  # registered sensors too
        again = run()
    pd.testing.assert_frame_equal(forecasts(), before_again)
    for asset in ("golden_envelope", "batch_monitoring", "outcome_forecast"):
        before = tmp_path / "reports" / "twin" / asset / first.run_id
        after = tmp_path / "reports" / "twin" / asset / again.run_id
        pngs = sorted(p.name for p in before.glob("*.png"))
        assert pngs and pngs == sorted(p.name for p in after.glob("*.png")), asset
        assert all((before / n).read_bytes() == (after / n).read_bytes() for n in pngs)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM twin.model_registry").fetchone()[0] == len(
            registry
        )
    events = [
        json.loads(line)
        for line in (lineage_dir(warehouse) / "events.jsonl").read_text().splitlines()
    ]
    outputs = {o["name"] for e in events if e["eventType"] == "COMPLETE" for o in e["outputs"]}
    assert {"twin.golden_envelope", "twin.batch_monitoring", "twin.outcome_forecast"} <= outputs

    publish_for_readers(warehouse)  # what the CLI's readers read
    monkeypatch.setenv("BIOTWIN_WAREHOUSE", str(warehouse))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # ORDER BY: a table's row order differs between two dbt builds of the same data
        lvv = con.execute(
            "SELECT batch_id FROM marts.batch_features WHERE product_id = 'LVV-CD19' "
            "ORDER BY batch_id LIMIT 1"
        ).fetchone()[0]
        cart = con.execute(
            "SELECT f.batch_id, coalesce(s.actual, s.setpoint) FROM marts.batch_features f "
            "JOIN marts.fct_batch_setpoint s "
            "ON f.batch_id = s.batch_id AND s.parameter_id = 'seeding_density' "
            "WHERE f.product_id = 'CART-CD19' AND NOT f.is_in_progress ORDER BY f.batch_id LIMIT 1"
        ).fetchone()
    assert main(["twin", "simulate", "--batch", lvv]) == 3
    assert "has no mechanistic model" in capsys.readouterr().err

    def simulate(*sets: str) -> dict:
        sets_args = [arg for s in sets for arg in ("--set", s)]
        assert main(["twin", "simulate", "--batch", cart[0], *sets_args, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    # what a seeding-density what-if promises (docs/twin.md): unchanged, it is the batch as
    # simulated; changed, the culture starts at the as-run start density times the ratio, and
    # more cells seeded stay more cells while the medium does not limit (the first day). The
    # harvest may go either way: a denser culture exhausts glucose sooner.
    unchanged = simulate()
    assert unchanged["outcome"] == pytest.approx(unchanged["as_run_outcome"], rel=1e-12)
    doubled = simulate(f"seeding_density={cart[1] * 2}")
    assert doubled["as_run_outcome"] == unchanged["as_run_outcome"]
    start, start_as_run = doubled["viable_density"][0], unchanged["viable_density"][0]
    assert start == pytest.approx(2 * start_as_run, rel=1e-12)
    first_day = [h <= 24 for h in doubled["hours"]]
    assert sum(first_day) > 2
    assert all(
        d > u
        for d, u, early in zip(
            doubled["viable_density"], unchanged["viable_density"], first_day, strict=True
        )
        if early
    )
    # what the model cannot answer is refused, naming the allowed range (exit 2, one line)
    for bad, words in (
        ("seeding_density=-5", "allowed > 0 and <= 60 1e6 cells/mL"),
        ("harvest_day=300", "not beyond the longest culture the growth model was fitted on"),
        ("temperature=30", "cannot be changed"),
    ):
        assert main(["twin", "simulate", "--batch", cart[0], "--set", bad]) == 2, bad
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    report = tmp_path / "report.html"
    assert main(["twin", "report", "--batch", cart[0], "--out", str(report)]) == 0
    page = report.read_text()
    # envelope, monitoring, forecast, and the soft sensors' estimates between lab samples
    assert page.count("data:image/png;base64,") == 4 and cart[0] in page
    assert 'alt="soft sensors"' in page
    # the header says when, by which code and from which models; values carry their unit
    assert "generated " in page and "by biotwin code " in page and "golden_batch:CART-CD19" in page
    assert "predicted [1e9 cells]" in page and "1e9 cells</p>" in page
