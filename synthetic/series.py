"""Minute-resolution process series of one batch, and the outcomes they lead to.

`simulate_batch` is deterministic in the batch plan: the generator calls it once to write lab
results and batch records, and again, equipment by equipment, to write historian exports, so
that memory stays bounded by one batch, not by the plant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.signal import lfilter

from synthetic.catalogue import ALLO, CART, LVV
from synthetic.model import CultureTrajectory, growth_rate_factors, simulate_culture
from synthetic.plan import DRIFT_RATE_C_PER_H, HISTORIAN_PAD_H, BatchPlan, PhasePlan, batch_rng


def epoch_minute(t: datetime) -> int:
    """Whole minutes since 1970-01-01 UTC (aware datetime in)."""
    return int(t.timestamp() // 60)


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float = 0.98) -> np.ndarray:
    """Slowly wandering control noise (what a PID loop around a set-point looks like)."""
    white = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    return lfilter([1.0], [1.0, -phi], white)


@dataclass(frozen=True)
class EquipmentUse:
    """One contiguous stretch of historian data for one piece of equipment and one batch."""

    equipment_id: str
    batch_id: str
    minutes: np.ndarray  # epoch minutes, UTC
    values: dict[str, np.ndarray]  # canonical units, as the process really was
    in_phase: np.ndarray  # True inside the batch's phase window on this equipment


@dataclass(frozen=True)
class BatchRun:
    plan: BatchPlan
    culture_minutes: np.ndarray  # epoch minutes of the culture window
    conditions: dict[str, np.ndarray]  # temperature, ph, dissolved_oxygen, agitation, feed_rate
    trajectory: CultureTrajectory
    outcomes: dict[str, float]


def _fault_mask(plan: BatchPlan, minutes: np.ndarray) -> np.ndarray:
    if plan.fault is None:
        return np.zeros(len(minutes), dtype=bool)
    onset = epoch_minute(plan.fault.onset)
    end = onset + round(plan.fault.duration_h * 60)
    return (minutes >= onset) & (minutes < end)


def culture_conditions(plan: BatchPlan, minutes: np.ndarray) -> dict[str, np.ndarray]:
    """Controlled variables of the culture, including the injected fault."""
    rng = batch_rng(plan.seed, plan.index, "conditions")
    n = len(minutes)
    sp = plan.setpoints
    h = (minutes - minutes[0]) / 60.0
    temperature = sp.temperature + _ar1(rng, n, 0.05)
    ph = sp.ph + _ar1(rng, n, 0.012)
    do = sp.dissolved_oxygen + _ar1(rng, n, 1.2, 0.95)
    agitation = sp.agitation + rng.normal(0.0, 0.4, n)
    start_volume = plan.culture_start.volume
    feed = np.where(h >= sp.feed_start_h, sp.feed_rate * start_volume, 0.0)
    feed = feed * (1.0 + _ar1(rng, n, 0.01))
    if plan.process is LVV:
        # production phase runs cooler-agnostic but the feed stops after transfection
        tf = next(p for p in plan.phases if p.phase == "Transfection")
        feed = np.where(minutes >= epoch_minute(tf.start), 0.0, feed)
    fault = _fault_mask(plan, minutes)
    if plan.fault is not None and fault.any():
        k = np.flatnonzero(fault)
        ramp = np.minimum(np.arange(len(k)) / 45.0, 1.0)  # the loop fails over ~45 min
        if plan.fault.fault_type == "do_control_loss":
            do[k] = do[k] * (1 - ramp) + (2.5 + rng.normal(0, 0.4, len(k))) * ramp
        elif plan.fault.fault_type == "temperature_excursion":
            peak = float(rng.uniform(39.3, 40.3))
            temperature[k] = temperature[k] * (1 - ramp) + (peak + _ar1(rng, len(k), 0.05)) * ramp
        elif plan.fault.fault_type == "feed_failure":
            feed[k] = 0.0
        elif plan.fault.fault_type == "temperature_drift":
            rate = float(rng.uniform(*DRIFT_RATE_C_PER_H))
            temperature[k] -= rate * np.arange(len(k)) / 60.0  # °C per hour since the onset
    return {
        "temperature": temperature,
        "ph": ph,
        "dissolved_oxygen": np.clip(do, 0.0, None),
        "agitation": agitation,
        "feed_rate": np.clip(feed, 0.0, None),
    }


def _growth_scale(plan: BatchPlan, minutes: np.ndarray) -> np.ndarray:
    """Transfection slows HEK293T growth during vector production."""
    scale = np.ones(len(minutes))
    if plan.process is LVV:
        tf = next(p for p in plan.phases if p.phase == "Transfection")
        scale[minutes >= epoch_minute(tf.start)] = 0.25
    return scale


def _culture_window(plan: BatchPlan) -> tuple[int, int]:
    return epoch_minute(plan.culture.start), epoch_minute(plan.culture_end)


def simulate_batch(plan: BatchPlan, vector_titers: dict[str, float]) -> BatchRun:
    """Conditions -> mechanistic model -> outcomes for one batch."""
    start, end = _culture_window(plan)
    minutes = np.arange(start, end, dtype=np.int64)
    cond = culture_conditions(plan, minutes)
    traj = simulate_culture(
        plan.growth,
        plan.culture_start,
        cond["temperature"],
        cond["ph"],
        cond["dissolved_oxygen"],
        cond["feed_rate"],
        _growth_scale(plan, minutes),
    )
    return BatchRun(
        plan, minutes, cond, traj, batch_outcomes(plan, traj, cond, minutes, vector_titers)
    )


def batch_outcomes(
    plan: BatchPlan,
    traj: CultureTrajectory,
    cond: dict[str, np.ndarray],
    minutes: np.ndarray,
    vector_titers: dict[str, float],
) -> dict[str, float]:
    """Outcomes follow from the trajectory (plus small assay noise), never from a coin flip."""
    rng = batch_rng(plan.seed, plan.index, "outcomes")
    xv_end = float(traj.viable_density[-1])
    v_end = float(traj.volume[-1])
    viab_end = float(traj.viability[-1])
    seeded = plan.culture_start.viable_density * plan.culture_start.volume
    out: dict[str, float] = {
        "harvest_vcd": xv_end,
        "harvest_viability": viab_end,
        "harvest_tvc": xv_end * v_end,  # 1e6 cells/mL x L = 1e9 cells
        "fold_expansion": xv_end * v_end / seeded,
    }
    if plan.process is LVV:
        tf = next(p for p in plan.phases if p.phase == "Transfection")
        k = int(np.searchsorted(minutes, epoch_minute(tf.start)))
        prod = minutes >= epoch_minute(tf.end)
        quality = float(
            np.mean(
                growth_rate_factors(
                    cond["temperature"][prod], cond["ph"][prod], cond["dissolved_oxygen"][prod]
                )
            )
        )
        titer = (
            3.0e7
            * float(traj.viable_density[k])
            * (float(traj.viability[k]) / 100.0) ** 2
            * quality
            * float(rng.lognormal(0.0, 0.08))
        )
        out["vector_titer"] = titer
        out["p24"] = titer / 1.0e5 * float(rng.lognormal(0.0, 0.1))
        out["final_viability"] = viab_end
        return out
    cryo_loss = float(rng.uniform(2.0, 7.0))
    out["final_viability"] = max(viab_end - cryo_loss, 0.0)
    if plan.process is CART:
        titer = vector_titers.get(plan.vector_lot or "", 4.0e7)
        # the cells seeded into the bioreactor are the cells that were transduced
        cells_at_transduction = seeded * 1.0e9
        moi = titer * plan.vector_volume_added / cells_at_transduction
        hit = 0.5 * moi * plan.donor_factor  # mean integrations per cell (Poisson)
        te = 100.0 * (1.0 - np.exp(-hit))
        out["moi"] = moi
        out["transduction_efficiency"] = float(np.clip(te * rng.normal(1.0, 0.02), 0.0, 99.5))
        out["vcn"] = float(hit * rng.lognormal(0.0, 0.08))
        out["ifng_release"] = float(
            45.0 * te * out["final_viability"] / 100.0 * rng.lognormal(0.0, 0.1)
        )
    if plan.process is ALLO:
        out["doses"] = float(np.floor(out["harvest_tvc"] * 0.85 / 0.5))
    return out


def equipment_uses(run: BatchRun) -> list[EquipmentUse]:
    """Historian data per equipment for one batch: bioreactor (and incubator for CAR-T)."""
    plan = run.plan
    uses = [_bioreactor_use(run)]
    for ph in plan.phases:
        if ph.equipment_id.startswith("INC-"):
            uses.append(_incubator_use(plan, ph))
    # merge consecutive incubator phases on the same unit
    merged: list[EquipmentUse] = []
    for use in uses:
        if merged and merged[-1].equipment_id == use.equipment_id:
            prev = merged.pop()
            keep = ~np.isin(use.minutes, prev.minutes)
            # minutes both uses recorded keep the first use's readings, but they are in a phase
            # whenever either phase was running (the batch record says so)
            in_phase_later = np.isin(prev.minutes, use.minutes[use.in_phase])
            merged.append(
                EquipmentUse(
                    use.equipment_id,
                    use.batch_id,
                    np.concatenate([prev.minutes, use.minutes[keep]]),
                    {k: np.concatenate([prev.values[k], use.values[k][keep]]) for k in prev.values},
                    np.concatenate([prev.in_phase | in_phase_later, use.in_phase[keep]]),
                )
            )
        else:
            merged.append(use)
    return merged


def _padded(start: int, end: int) -> np.ndarray:
    pad = int(HISTORIAN_PAD_H * 60)
    return np.arange(start - pad, end + pad, dtype=np.int64)


def _bioreactor_use(run: BatchRun) -> EquipmentUse:
    plan = run.plan
    rng = batch_rng(plan.seed, plan.index, "bioreactor")
    start, end = int(run.culture_minutes[0]), int(run.culture_minutes[-1]) + 1
    minutes = _padded(start, end)
    n = len(minutes)
    inside = (minutes >= start) & (minutes < end)
    k = np.flatnonzero(inside)
    before = minutes < start
    after = minutes >= end
    sp = plan.setpoints
    traj, cond = run.trajectory, run.conditions

    def frame(inside_values: np.ndarray, before_value: float, after_value: float) -> np.ndarray:
        out = np.empty(n)
        out[k] = inside_values
        out[before] = before_value
        out[after] = after_value
        return out

    n_after = int(after.sum())
    temperature = frame(cond["temperature"], sp.temperature, 0.0)
    temperature[after] = 22.0 + (sp.temperature - 22.0) * np.exp(-np.arange(n_after) / 40.0)
    temperature[before] += _ar1(rng, int(before.sum()), 0.04)
    o2_demand = 2.2 * traj.viable_density * traj.volume * (0.7 + 0.3 * traj.viability / 100)
    o2 = np.clip(o2_demand * (1 + _ar1(rng, len(k), 0.04)), 0.0, None)
    if plan.fault is not None and plan.fault.fault_type == "do_control_loss":
        o2[_fault_mask(plan, run.culture_minutes)] = 0.0  # the O2 valve stuck closed
    vcd_online = traj.viable_density * (1.03 + _ar1(rng, len(k), 0.025, 0.9))
    values = {
        "temperature": temperature,
        "ph": frame(cond["ph"], sp.ph, sp.ph),
        "dissolved_oxygen": frame(cond["dissolved_oxygen"], 100.0, 100.0)
        + np.where(inside, 0.0, rng.normal(0.0, 0.3, n)),
        "agitation": frame(cond["agitation"], sp.agitation, 0.0),
        "o2_flow": frame(o2, 0.0, 0.0),
        # CO2 holds pH down early; the controller backs off as lactate acidifies the culture
        "co2_flow": frame(
            np.clip(3.0 * traj.volume * (1.0 - 0.3 * traj.lactate), 0.0, None)
            * (1 + _ar1(rng, len(k), 0.05)),
            2.0 * plan.culture_start.volume,
            0.0,
        ),
        "air_flow": frame(
            20.0 * traj.volume**0.8 * (1 + rng.normal(0.0, 0.01, len(k))),
            20.0 * plan.culture_start.volume**0.8,
            0.0,
        ),
        # base neutralises lactate: the totaliser only counts up, and is reset after harvest
        "base_added": frame(np.maximum.accumulate(4.0 * traj.volume * traj.lactate), 0.0, 0.0),
        "feed_rate": frame(cond["feed_rate"], 0.0, 0.0),
        "culture_volume": frame(
            traj.volume * (1 + rng.normal(0, 0.0008, len(k))), plan.culture_start.volume, 0.0
        ),
        "vcd_online": np.clip(frame(vcd_online, 0.0, 0.0) + rng.normal(0, 0.004, n), 0.0, None),
        # tags nobody mapped: the jacket runs a little warmer, the headspace slightly above 1 atm
        "_jacket_temperature": frame(cond["temperature"] + 0.6, sp.temperature + 0.6, 22.0),
        "_headspace_pressure": 1030.0 + _ar1(rng, n, 1.5),
    }
    return EquipmentUse(plan.culture.equipment_id, plan.batch_id, minutes, values, inside)


def _incubator_use(plan: BatchPlan, phase: PhasePlan) -> EquipmentUse:
    rng = batch_rng(plan.seed, plan.index, f"incubator-{phase.phase}")
    start, end = epoch_minute(phase.start), epoch_minute(phase.end)
    minutes = _padded(start, end)
    n = len(minutes)
    inside = (minutes >= start) & (minutes < end)
    values = {
        "temperature": 37.0 + _ar1(rng, n, 0.08),
        "incubator_co2": 5.0 + _ar1(rng, n, 0.05),
    }
    return EquipmentUse(phase.equipment_id, plan.batch_id, minutes, values, inside)
