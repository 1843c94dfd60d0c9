"""In-process samples (instrument readings) and LIMS results of one batch.

Values are measured on the simulated culture with realistic assay noise; what each site's
LIMS types into ENTRY (units, censoring, result text) follows its own conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from synthetic.catalogue import ALLO, CART, PARAMETER_BY_ID, SPECIFICATIONS, Site
from synthetic.instruments import CellCount, Metabolites
from synthetic.plan import BatchPlan, batch_rng
from synthetic.series import BatchRun, epoch_minute
from synthetic.units import to_canonical, to_source

CELL_TYPE = {"autologous": "T cell", "allogeneic": "NK cell", "vector": "HEK293T"}


def sample_id(site: Site, batch_id: str, point: str) -> str:
    """BOS labels samples `CART-2026-0001-D03`; BSL writes `CART20260001_D03`."""
    if site.site_id == "BOS":
        return f"{batch_id}-{point}"
    return f"{batch_id.replace('-', '')}_{point}"


def sampling_times(run: BatchRun) -> list[tuple[str, datetime]]:
    """Daily in-process samples at ~10:00 local, one after inoculation and one before harvest."""
    plan = run.plan
    tz = ZoneInfo(plan.site.timezone)
    start, end = plan.culture.start, plan.culture_end
    rng = batch_rng(plan.seed, plan.index, "sampling")
    times = [start + timedelta(minutes=60)]
    day = start.astimezone(tz).date() + timedelta(days=1)
    while True:
        local = datetime(day.year, day.month, day.day, 10, 0, tzinfo=tz)
        t = local.astimezone(start.tzinfo) + timedelta(minutes=int(rng.integers(-25, 40)))
        if t >= end - timedelta(hours=3):
            break
        times.append(t)
        day += timedelta(days=1)
    times.append(end - timedelta(minutes=45))
    out: list[tuple[str, datetime]] = []
    for k, t in enumerate(times):
        day = int((t - plan.start).total_seconds() // 86400)
        point = "HRV" if k == len(times) - 1 else f"D{day:02d}"
        if out and out[-1][0] == point:
            continue  # one sample per culture day: the inoculation sample counts for its day
        out.append((point, t))
    return out


def _state_at(run: BatchRun, t: datetime) -> int:
    k = int(np.searchsorted(run.culture_minutes, epoch_minute(t)))
    return min(max(k, 0), len(run.culture_minutes) - 1)


@dataclass
class InstrumentSamples:
    counts: list[CellCount] = field(default_factory=list)
    metabolites: list[Metabolites] = field(default_factory=list)
    truth: list[dict] = field(default_factory=list)


def instrument_samples(run: BatchRun) -> InstrumentSamples:
    plan = run.plan
    rng = batch_rng(plan.seed, plan.index, "instrument")
    out = InstrumentSamples()
    traj = run.trajectory
    for point, t in sampling_times(run):
        k = _state_at(run, t)
        sid = sample_id(plan.site, plan.batch_id, point)
        xv = float(traj.viable_density[k]) * float(rng.normal(1.0, 0.04))
        viab = float(np.clip(traj.viability[k] + rng.normal(0.0, 0.8), 1.0, 99.9))
        diameter = {"autologous": 10.8, "allogeneic": 11.6, "vector": 15.2}[
            plan.process.process_type
        ] + float(rng.normal(0, 0.3))
        total = xv / (viab / 100.0)
        count = CellCount(
            sid,
            t,
            round(xv, 2),
            round(total, 2),
            round(viab, 2),
            round(diameter + 0.4, 2),
            round(diameter, 2),
            CELL_TYPE[plan.process.process_type],
        )
        out.counts.append(count)
        lac = float(traj.lactate[k]) * float(rng.normal(1.0, 0.03))
        glc = float(traj.glucose[k]) * float(rng.normal(1.0, 0.03))
        gln = max(4.0 - 0.9 * float(traj.lactate[k]), 0.15) * float(rng.normal(1.0, 0.04))
        amm = (0.4 + 1.1 * float(traj.lactate[k])) * float(rng.normal(1.0, 0.04))
        met = Metabolites(
            sid,
            t + timedelta(minutes=8),
            plan.lims_batch_ref,
            plan.culture.equipment_id,
            glucose=glc,
            lactate=lac,
            glutamine=gln,
            ammonium=amm,
            ph=float(run.conditions["ph"][k]),
            temperature=float(run.conditions["temperature"][k]),
        )
        out.metabolites.append(met)
        for pid, value in (
            ("vcd", count.viable_density),
            ("viability", count.viability),
            ("total_cell_density", count.total_density),
            ("cell_diameter", count.viable_diameter),
        ):
            out.truth.append(_instrument_truth(plan, sid, t, "beckman_vi_cell_blu", pid, value))
        for pid in ("glucose", "lactate", "glutamine", "ammonium"):
            out.truth.append(
                _instrument_truth(
                    plan, sid, met.at, plan.site.metabolite_vendor, pid, getattr(met, pid)
                )
            )
    return out


def _instrument_truth(
    plan: BatchPlan, sid: str, at: datetime, vendor: str, pid: str, value: float
) -> dict:
    return {
        "batch_id": plan.batch_id,
        "site_id": plan.site.site_id,
        "sample_id": sid,
        "vendor": vendor,
        "parameter_id": pid,
        "measured_at_utc": at.isoformat(),
        "elapsed_h": round((at - plan.start).total_seconds() / 3600.0, 4),
        "value": value,
        "target": "",
    }


# ---------------------------------------------------------------------------------------------
# LIMS
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabResult:
    """One result with the times it changed; versions are rendered by the LIMS extract."""

    batch_id: str
    batch_ref: str
    sample_id: str
    sample_point: str
    sampled_at: datetime
    parameter_id: str
    analysis: str
    component: str
    unit: str
    entry: str
    numeric: str
    spec_min: str
    spec_max: str
    canonical_value: float | None
    censor: str  # "", "<", ">", "text"
    entered_by: str
    entered_at: datetime
    reviewed_by: str
    approved_at: datetime
    replicate: int = 1
    amendment: tuple[str, str, datetime, str] | None = None  # (old entry, old numeric, at, reason)
    cancelled: bool = False


def release_panel(plan: BatchPlan) -> list[tuple[str, str, float]]:
    """(sample point, parameter, hours after the point's reference time) per process."""
    if plan.process is CART:
        return [
            ("PRE-ACT", "viability", 2.0),
            ("HARVEST", "vcd", 2.0),
            ("HARVEST", "viability", 2.0),
            ("HARVEST", "harvest_tvc", 3.0),
            ("FINAL", "viability", 26.0),
            ("FINAL", "transduction_efficiency", 50.0),
            ("FINAL", "vcn", 70.0),
            ("FINAL", "endotoxin", 20.0),
            ("FINAL", "ifng_release", 74.0),
            ("FINAL", "sterility", 80.0),
            ("FINAL", "mycoplasma", 30.0),
            ("FINAL", "identity", 30.0),
        ]
    if plan.process is ALLO:
        return [
            ("PRE", "viability", 2.0),
            ("HARVEST", "vcd", 2.0),
            ("HARVEST", "viability", 2.0),
            ("HARVEST", "harvest_tvc", 3.0),
            ("FINAL", "viability", 26.0),
            ("FINAL", "endotoxin", 20.0),
            ("FINAL", "sterility", 80.0),
            ("FINAL", "mycoplasma", 30.0),
            ("FINAL", "identity", 30.0),
        ]
    return [
        ("HARVEST", "vector_titer", 40.0),
        ("HARVEST", "p24", 20.0),
        ("FINAL", "endotoxin", 20.0),
        ("FINAL", "sterility", 80.0),
        ("FINAL", "mycoplasma", 30.0),
        ("FINAL", "rcl", 70.0),
    ]


def true_lab_value(run: BatchRun, point: str, pid: str) -> float | None:
    o = run.outcomes
    if point in ("PRE-ACT", "PRE"):
        return run.plan.culture_start.viability
    if point == "HARVEST":
        return {
            "vcd": o["harvest_vcd"],
            "viability": o["harvest_viability"],
            "harvest_tvc": o["harvest_tvc"],
            "vector_titer": o.get("vector_titer"),
            "p24": o.get("p24"),
        }[pid]
    return {
        "viability": o["final_viability"],
        "transduction_efficiency": o.get("transduction_efficiency"),
        "vcn": o.get("vcn"),
        "ifng_release": o.get("ifng_release"),
    }.get(pid)


TEXT_RESULTS = {
    "BOS": {"sterility": "Pass", "mycoplasma": "ND", "identity": "Conforms", "rcl": "ND"},
    "BSL": {
        "sterility": "No Growth",
        "mycoplasma": "Negative",
        "identity": "Conforms",
        "rcl": "Not Detected",
    },
}


def format_entry(value: float, unit: str, pid: str) -> str:
    """How an analyst or interface types the number."""
    if unit in ("cells/mL", "cells", "TU/mL", "pg/mL") and value >= 1e5:
        return f"{value:.2E}"
    if pid in ("vector_titer",):
        return f"{value:.2E}"
    if unit == "fraction":
        return f"{value:.3f}"
    if pid in ("ifng_release", "p24"):
        return f"{value:.0f}"
    return f"{value:.2f}"


def _spec(plan: BatchPlan, pid: str, point: str, unit: str) -> tuple[str, str]:
    """Specification limits as this site's LIMS shows them (in the unit it reports)."""
    canon = PARAMETER_BY_ID[pid].canonical_unit

    def fmt(limit: float | None) -> str:
        if limit is None:
            return ""
        return format_entry(float(to_source(limit, unit, canon)), unit, pid)

    for product, p, sp, lo, hi, _crit in SPECIFICATIONS:
        if product == plan.process.product_id and p == pid and sp == point:
            return fmt(lo), fmt(hi)
    return "", ""


def lims_results(
    run: BatchRun,
    sample_numbers: list[int],
    measured: dict[tuple[str, str], float] | None = None,
) -> list[LabResult]:
    """The batch's LIMS results; `sample_numbers` is the site-wide LIMS counter (mutated).
    `measured` holds what an instrument file measured, per (sample point, parameter): the
    LIMS reports that value (release_assays: VCN, % CAR+, titer)."""
    measured = measured or {}
    plan = run.plan
    site = plan.site
    rng = batch_rng(plan.seed, plan.index, "lims")
    analysts = list(plan.operators)
    reference = {
        "PRE-ACT": plan.start + timedelta(hours=1),
        "PRE": plan.start + timedelta(hours=1),
        "HARVEST": plan.culture_end,
        "FINAL": plan.end,
    }
    numbers: dict[str, int] = {}
    results = []
    for point, pid, lag_h in release_panel(plan):
        sampled = reference[point]
        if point not in numbers:
            sample_numbers[0] += 1
            numbers[point] = sample_numbers[0]
        analysis, component, unit = site.lims_tests[pid]
        canon_unit = PARAMETER_BY_ID[pid].canonical_unit
        value = measured.get((point, pid), true_lab_value(run, point, pid))
        censor, numeric = "", ""
        if pid in TEXT_RESULTS[site.site_id]:
            entry, censor, canonical = TEXT_RESULTS[site.site_id][pid], "text", None
        elif pid == "endotoxin":
            v = float(rng.lognormal(np.log(0.35), 0.6))
            canonical = v
            if v < 0.5:
                entry, numeric, censor, canonical = "<0.50", "0.5", "<", 0.5
            else:
                entry = f"{v:.2f}"
                numeric = entry
        else:
            noise = {"vcd": 0.04, "viability": 0.01, "harvest_tvc": 0.04}.get(pid, 0.0)
            canonical = float(value) * float(rng.normal(1.0, noise)) if noise else float(value)
            if pid == "viability":
                canonical = min(canonical, 99.9)
            entry = format_entry(float(to_source(canonical, unit, canon_unit)), unit, pid)
            numeric = entry
            # the truth is what the LIMS holds (rounded as typed), in canonical units
            canonical = float(to_canonical(float(entry), unit, canon_unit))
        entered = sampled + timedelta(hours=lag_h + float(rng.uniform(0, 3)))
        spec_min, spec_max = _spec(plan, pid, point, unit)
        results.append(
            LabResult(
                batch_id=plan.batch_id,
                batch_ref=plan.lims_batch_ref,
                sample_id=sample_id(site, plan.batch_id, point),
                sample_point=point,
                sampled_at=sampled,
                parameter_id=pid,
                analysis=analysis,
                component=component,
                unit=unit,
                entry=entry,
                numeric=numeric,
                spec_min=spec_min,
                spec_max=spec_max,
                canonical_value=canonical,
                censor=censor,
                entered_by=str(rng.choice(analysts)),
                entered_at=entered,
                reviewed_by=f"qc.{site.site_id.lower()}lead",
                approved_at=entered + timedelta(hours=float(rng.uniform(6, 30))),
            )
        )
    return results
