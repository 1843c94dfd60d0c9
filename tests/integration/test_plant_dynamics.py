"""The generated data behave like the process: growth, learnable outcomes, visible faults."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import read_historian, read_reference


@pytest.fixture(scope="module")
def trajectories(plant_dir: Path) -> pd.DataFrame:
    return pd.read_csv(plant_dir / "truth" / "trajectories.csv")


def _series(traj: pd.DataFrame, batch: str, parameter: str) -> pd.Series:
    sub = traj[(traj.batch_id == batch) & (traj.parameter_id == parameter)]
    return sub.set_index("elapsed_h")["value"].sort_index()


def test_viable_cells_grow_during_the_culture_of_normal_batches(manifest, trajectories) -> None:
    grew = 0
    normal = [
        b
        for b in manifest["batches"]
        if b["fault"] is None and b["state_at_extract"] != "in_progress"
    ]
    assert normal
    for b in normal:
        vcd = _series(trajectories, b["batch_id"], "vcd_online")
        first_day, last_day = vcd.iloc[:24].mean(), vcd.iloc[-24:].mean()
        assert last_day > 1.5 * first_day, b["batch_id"]
        grew += 1
    assert grew == len(normal)


def test_outcome_follows_from_the_trajectory(manifest, trajectories) -> None:
    """Harvest total viable cells = final online VCD x final volume (a learnable relation) for
    the cell expansions; the fed-batch titre grows with the integral of viable cells."""
    done = [b for b in manifest["batches"] if b["state_at_extract"] != "in_progress"]
    fedbatch = [b for b in done if "product_titer" in b["outcomes"]]
    assert len(fedbatch) >= 5
    ivcd = [_series(trajectories, b["batch_id"], "vcd_online").sum() for b in fedbatch]
    titer = [b["outcomes"]["product_titer"] for b in fedbatch]
    assert pd.Series(ivcd).corr(pd.Series(titer), method="spearman") > 0.7
    for b in (b for b in done if b not in fedbatch):
        vcd = _series(trajectories, b["batch_id"], "vcd_online").iloc[-3:].mean()
        vol = _series(trajectories, b["batch_id"], "culture_volume").iloc[-3:].mean()
        assert vcd * vol == pytest.approx(b["outcomes"]["harvest_tvc"], rel=0.12), b["batch_id"]


def test_oxygen_demand_tracks_the_cells(manifest, trajectories) -> None:
    checked = 0
    for b in manifest["batches"]:
        if b["fault"] or b["state_at_extract"] == "in_progress":
            continue
        vcd = _series(trajectories, b["batch_id"], "vcd_online")
        o2 = _series(trajectories, b["batch_id"], "o2_flow")
        if o2.empty:
            continue  # the fed-batch site has no oxygen-flow tag
        joined = pd.concat([vcd, o2], axis=1).dropna()
        assert np.corrcoef(joined.iloc[:, 0], joined.iloc[:, 1])[0, 1] > 0.8
        checked += 1
    assert checked >= 3


FAULT_SIGNATURE = {
    # (parameter, canonical threshold, comparison, hours after onset) visible in the files;
    # "drop": the value fell by at least the threshold since the onset
    "do_control_loss": ("dissolved_oxygen", 10.0, "below", 2.0),
    "temperature_excursion": ("temperature", 38.5, "above", 2.0),
    "feed_failure": ("feed_rate", 0.01, "below", 2.0),
    "temperature_drift": ("temperature", 0.3, "drop", 24.0),
}


def _canonical(values: list[float], tag: dict) -> float | None:
    """The median of raw historian values near a time, in the parameter's canonical unit."""
    if not values:
        return None
    value = float(np.median(values))
    if tag["source_unit"] == "degF":
        return (value - 32) * 5 / 9
    return value * 100 if tag["source_unit"] == "fraction" else value


def test_injected_faults_are_visible_in_the_historian_files(plant_dir: Path, manifest) -> None:
    tags = read_reference(plant_dir, "tags.csv")
    seen = 0
    for b in manifest["batches"]:
        fault = b["fault"]
        if fault is None or not fault["observable_by_extract"]:
            continue
        parameter, threshold, direction, after_h = FAULT_SIGNATURE[fault["type"]]
        tag = next(
            t
            for t in tags
            if t["site_id"] == b["site_id"]
            and t["equipment_id"] == fault["equipment_id"]
            and t["parameter_id"] == parameter
        )
        onset = datetime.fromisoformat(fault["onset_utc"].replace("Z", "+00:00"))
        if after_h > float(fault["duration_h"]):
            continue  # the fault (the culture, for a drift) ends before the probe
        probe = _canonical(
            _values_near(plant_dir, b["site_id"], tag, onset + timedelta(hours=after_h)), tag
        )
        if probe is None:
            continue  # the probe time is after the extract or the culture
        if direction == "drop":
            before = _canonical(_values_near(plant_dir, b["site_id"], tag, onset), tag)
            holds = before is not None and before - probe >= threshold
        else:
            holds = (probe < threshold) if direction == "below" else (probe > threshold)
        assert holds, (b["batch_id"], fault, probe)
        seen += 1
    assert seen >= 1


def _values_near(plant_dir: Path, site: str, tag: dict, at: datetime) -> list[float]:
    from zoneinfo import ZoneInfo

    folder = plant_dir / "landing" / "historian" / site
    eq = tag["equipment_id"]
    if site == "BOS":
        local = at.astimezone(ZoneInfo("America/New_York"))
        path = folder / f"PI_EXPORT_{eq.replace('-', '')}_{local:%Y%m%d}.csv"
        prefix = local.strftime("%Y-%m-%dT%H:")
    else:
        path = folder / f"recorded_{eq}_{at:%Y%m%d}.json"
        prefix = at.strftime("%Y-%m-%dT%H:")
    if not path.exists():
        return []
    return [
        float(r["value"])
        for r in read_historian(path)
        if r["tag"] == tag["tag"]
        and r["timestamp"].startswith(prefix)
        and r["quality"] in ("", "Good")
    ]
