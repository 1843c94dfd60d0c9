"""The generator's ground truth: what each batch was, what the files should say once
conformed (truth/*.csv), and manifest.json, which names every planted mess item and its file.
Tests compare the pipeline's output with these, never with the pipeline itself."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd

from synthetic.catalogue import SITES
from synthetic.lab import sample_id
from synthetic.manifest import Manifest, iso_utc
from synthetic.plan import PlantPlan
from synthetic.records import cqa_pass
from synthetic.series import BatchRun


def batch_summary(run: BatchRun, plant: PlantPlan) -> dict:
    """What the generator knows of a batch: its state at the extract, plan, set-points,
    outcomes and fault."""
    plan = run.plan
    if plan.start > plant.extract_at:
        state = "planned"
    elif plan.end > plant.extract_at:
        state = "in_progress"
    elif plan.release_at > plant.extract_at:
        state = "in_review"
    else:
        state = "released" if cqa_pass(run) else "rejected"
    fault = None
    if plan.fault is not None:
        fault = {
            "type": plan.fault.fault_type,
            "onset_utc": iso_utc(plan.fault.onset),
            "onset_elapsed_h": round((plan.fault.onset - plan.start).total_seconds() / 3600, 3),
            "duration_h": plan.fault.duration_h,
            "equipment_id": plan.culture.equipment_id,
            "observable_by_extract": plan.fault.onset <= plant.extract_at,
        }
    sp = plan.setpoints
    return {
        "batch_id": plan.batch_id,
        "site_id": plan.site.site_id,
        "product_id": plan.process.product_id,
        "process_type": plan.process.process_type,
        "state_at_extract": state,
        "start_utc": iso_utc(plan.start),
        "end_utc": iso_utc(plan.end),
        "culture_start_utc": iso_utc(plan.culture.start),
        "culture_end_utc": iso_utc(plan.culture_end),
        "release_at_utc": iso_utc(plan.release_at),
        "phases": [
            {
                "phase": p.phase,
                "equipment_id": p.equipment_id,
                "start_utc": iso_utc(p.start),
                "end_utc": iso_utc(p.end),
            }
            for p in plan.phases
        ],
        "setpoints": {
            "temperature": sp.temperature,
            "ph": sp.ph,
            "dissolved_oxygen": sp.dissolved_oxygen,
            "agitation": sp.agitation,
            "seeding_density": sp.seeding_density,
            "feed_rate_per_l": sp.feed_rate,
            "feed_start_h": sp.feed_start_h,
            "culture_days": sp.culture_days,
            "vector_volume_ml": sp.vector_volume_ml,
        },
        "vector_added_ml": plan.vector_volume_added if plan.setpoints.vector_volume_ml else None,
        "culture_start": {
            "viable_density": plan.culture_start.viable_density,
            "viability": plan.culture_start.viability,
            "glucose": plan.culture_start.glucose,
            "volume_l": plan.culture_start.volume,
        },
        "growth": {"mu_max": plan.growth.mu_max, "x_max": plan.growth.x_max},
        "donor_factor": plan.donor_factor,
        "outcomes": {k: float(v) for k, v in run.outcomes.items()},
        "fault": fault,
        "coi_id": plan.coi_id,
        "donor_id": plan.donor_id,
        "vector_lot": plan.vector_lot,
        "lims_batch_ref": plan.lims_batch_ref,
        "sample_ids": {"pattern_example": sample_id(plan.site, plan.batch_id, "D03")},
    }


def write_truth(folder: Path, traj: pd.DataFrame, lab: list[dict], inst: list[dict]) -> None:
    """truth/*.csv: what the files should say once conformed."""
    folder.mkdir(parents=True, exist_ok=True)
    if not traj.empty:
        traj = traj.rename(columns={"hour": "elapsed_h", "count": "n_points", "mean": "value"})
        traj["value"] = traj["value"].round(6)
        traj["n_points"] = traj["n_points"].astype(int)
        traj.to_csv(folder / "trajectories.csv", index=False, lineterminator="\n")
    pd.DataFrame(lab).to_csv(folder / "lab_results.csv", index=False, lineterminator="\n")
    inst_df = pd.DataFrame(inst)
    if not inst_df.empty:
        inst_df["value"] = inst_df["value"].round(6)
    inst_df.to_csv(folder / "instrument_results.csv", index=False, lineterminator="\n")


def manifest_doc(
    plant: PlantPlan,
    batches: list[dict],
    manifest: Manifest,
    historian_rows: int,
    n_batches: int,
    fault_fraction: float,
    landing: Path,
    generator_version: str,
) -> dict:
    """manifest.json: the generator's settings, the sites, the files per system and site, the
    batches with their truth, the genealogy and every planted mess item."""
    files: dict[str, dict[str, int]] = {}
    for system_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        files[system_dir.name] = {
            site_dir.name: sum(1 for f in site_dir.rglob("*") if f.is_file())
            for site_dir in sorted(p for p in system_dir.iterdir() if p.is_dir())
        }
    genealogy: dict[str, list[str]] = defaultdict(list)
    for b in batches:
        if b["vector_lot"]:
            genealogy[b["vector_lot"]].append(b["batch_id"])
    return {
        "generator": {
            "version": generator_version,
            "seed": plant.seed,
            "batches": n_batches,
            "start": plant.start_date.isoformat(),
            "fault_fraction": fault_fraction,
            "extract_at_utc": iso_utc(plant.extract_at),
            "historian_step_min": 1,
        },
        "sites": [
            {
                "site_id": s.site_id,
                "timezone": s.timezone,
                "is_cdmo": s.is_cdmo,
                "historian_format": s.historian_format,
                "historian_timestamps": "naive local" if s.historian_format == "csv" else "UTC",
                "metabolite_vendor": s.metabolite_vendor,
            }
            for s in SITES
        ],
        "files": files,
        "historian_rows": historian_rows,
        "batches": sorted(batches, key=lambda b: b["batch_id"]),
        "genealogy": [
            {"vector_lot": lot, "consumed_by": sorted(users)}
            for lot, users in sorted(genealogy.items())
        ],
        "mess": manifest.items,
        "truth": {
            "trajectories": "truth/trajectories.csv",
            "lab_results": "truth/lab_results.csv",
            "instrument_results": "truth/instrument_results.csv",
            "trajectory_rule": "mean of Good numeric in-phase readings per batch, "
            "parameter and whole elapsed hour since batch start, "
            "in canonical units; planted mess excluded",
        },
    }
