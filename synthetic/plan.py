"""Batch planning: which batch runs where and when, with which inputs, set-points and faults.

The plan is a pure function of (number of batches, seed, start date): every random draw comes
from a generator seeded by the seed and the batch's index, so the same arguments always give
the same plant, and a batch's content does not depend on how many other batches exist after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from synthetic.catalogue import ALLO, BOS, BSL, CART, LVV, Process, Site
from synthetic.model import CultureStart, GrowthParams

# temperature_drift: a slow cooling (a passing jacket valve): no point is alarming on its own
FAULT_TYPES = ("do_control_loss", "temperature_excursion", "feed_failure", "temperature_drift")
DRIFT_RATE_C_PER_H = (0.02, 0.04)
TURNAROUND_H = 20.0  # cleaning and set-up between two cultures on one bioreactor
HISTORIAN_PAD_H = 3.0  # the historian records the vessel this long before and after a culture
RELEASE_TESTING_H = 96.0  # manufacturing end to QA disposition


@dataclass(frozen=True)
class PhasePlan:
    unit_procedure: str
    operation: str
    phase: str
    equipment_id: str
    start: datetime  # UTC
    end: datetime  # UTC


@dataclass(frozen=True)
class Fault:
    fault_type: str
    onset: datetime  # UTC
    duration_h: float  # hours the fault lasts (feed failure: until harvest)


@dataclass(frozen=True)
class SetPoints:
    temperature: float  # degC
    ph: float
    dissolved_oxygen: float  # %
    agitation: float  # rpm
    seeding_density: float  # 1e6 cells/mL
    feed_rate: float  # mL/h per L of starting volume
    feed_start_h: float  # hours into the culture
    culture_days: float  # bioreactor days (CAR-T/allo: harvest day; LVV: fixed)
    vector_volume_ml: float  # CAR-T only


@dataclass(frozen=True)
class BatchPlan:
    index: int
    batch_id: str
    process: Process
    site: Site
    seed: int
    start: datetime  # UTC, first phase start
    phases: tuple[PhasePlan, ...]
    setpoints: SetPoints
    growth: GrowthParams
    culture_start: CultureStart
    donor_factor: float  # transduction / productivity susceptibility of the starting cells
    fault: Fault | None
    coi_id: str | None
    donor_id: str | None
    lims_batch_ref: str
    vector_lot: str | None = None
    operators: tuple[str, ...] = field(default_factory=tuple)
    vector_added_ml: float | None = None  # CAR-T: what was added, if not the set-point

    @property
    def end(self) -> datetime:
        return self.phases[-1].end

    @property
    def culture(self) -> PhasePlan:
        """The first bioreactor phase (the culture window starts here)."""
        return next(p for p in self.phases if p.equipment_id.startswith("BR-"))

    @property
    def culture_end(self) -> datetime:
        return max(p.end for p in self.phases if p.equipment_id.startswith("BR-"))

    @property
    def vector_volume_added(self) -> float:
        """The vector volume the operator added (the batch record's actual)."""
        if self.vector_added_ml is None:
            return self.setpoints.vector_volume_ml
        return self.vector_added_ml

    @property
    def release_at(self) -> datetime:
        return self.end + timedelta(hours=RELEASE_TESTING_H)


@dataclass(frozen=True)
class PlantPlan:
    batches: tuple[BatchPlan, ...]
    extract_at: datetime  # UTC: "now" of the extract; nothing later is written
    seed: int
    start_date: date


def batch_rng(seed: int, index: int, stream: str) -> np.random.Generator:
    """Independent random stream per (seed, batch, purpose)."""
    key = [seed, index, *stream.encode()]
    return np.random.default_rng(np.random.SeedSequence(key))


def product_mix(n_batches: int) -> list[Process]:
    """Vector lots and allogeneic lots are ~15 % each; the rest are autologous CAR-T."""
    n_lvv = max(1, round(0.15 * n_batches)) if n_batches >= 3 else 0
    n_allo = max(1, round(0.15 * n_batches)) if n_batches >= 3 else 0
    n_cart = n_batches - n_lvv - n_allo
    return [LVV] * n_lvv + [ALLO] * n_allo + [CART] * n_cart


def _local(day: date, hour: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _growth_params(process: Process, rng: np.random.Generator) -> GrowthParams:
    if process is LVV:
        return GrowthParams(
            mu_max=0.031 * rng.lognormal(0.0, 0.06),
            x_max=7.0,
            ks_glucose=0.3,
            q_glucose=0.016,
            y_lactate=0.85,
            kd0=0.0015,
            k_lactate=0.004,
            l_crit=2.0,
            feed_glucose=20.0,
        )
    if process is ALLO:
        return GrowthParams(
            mu_max=0.019 * rng.lognormal(0.0, 0.08),
            x_max=4.5,
            ks_glucose=0.25,
            q_glucose=0.014,
            y_lactate=0.9,
            kd0=0.0012,
            k_lactate=0.005,
            l_crit=2.2,
            feed_glucose=20.0,
        )
    # autologous: patient material varies a lot (prior therapy, disease burden)
    return GrowthParams(
        mu_max=0.030 * rng.lognormal(0.0, 0.14),
        x_max=8.0,
        ks_glucose=0.3,
        q_glucose=0.015,
        y_lactate=0.9,
        kd0=0.0015,
        k_lactate=0.006,
        l_crit=2.0,
        feed_glucose=20.0,
    )


def _setpoints(process: Process, rng: np.random.Generator) -> SetPoints:
    r = rng.uniform
    if process is LVV:
        return SetPoints(
            temperature=round(r(36.8, 37.2), 1),
            ph=round(r(7.0, 7.2), 2),
            dissolved_oxygen=round(r(35, 50)),
            agitation=round(r(90, 110)),
            seeding_density=round(r(0.3, 0.5), 2),
            feed_rate=round(r(3.0, 4.5), 1),
            feed_start_h=24.0,
            culture_days=124.0 / 24.0,
            vector_volume_ml=0.0,
        )
    if process is ALLO:
        return SetPoints(
            temperature=round(r(36.6, 37.4), 1),
            ph=round(r(7.0, 7.2), 2),
            dissolved_oxygen=round(r(30, 50)),
            agitation=round(r(70, 90)),
            seeding_density=round(r(0.2, 0.4), 2),
            feed_rate=round(r(3.0, 5.0), 1),
            feed_start_h=72.0,
            culture_days=float(rng.choice([11, 12, 12, 13])),
            vector_volume_ml=0.0,
        )
    return SetPoints(
        temperature=round(r(36.5, 37.5), 1),
        ph=round(r(7.0, 7.25), 2),
        dissolved_oxygen=round(r(30, 50)),
        agitation=round(r(50, 70)),
        seeding_density=round(r(0.3, 0.7), 2),
        feed_rate=round(r(3.0, 6.0), 1),
        feed_start_h=48.0,
        culture_days=float(rng.choice([6, 7, 7, 8])),
        vector_volume_ml=round(r(15.0, 35.0), 1),
    )


def _lims_spelling(batch_id: str, rng: np.random.Generator) -> str:
    """How the LIMS spells the batch: mostly exactly, sometimes not (analysts type it)."""
    prefix, year, number = batch_id.split("-")
    style = rng.choice(["exact", "exact", "exact", "lower_spaced", "compact", "alias"])
    if style == "lower_spaced":
        return f"{prefix.lower()} {year} {number}"
    if style == "compact":
        return f"{prefix}{year}{number}"
    if style == "alias":
        return f"{prefix[0]}{number}/{year[2:]}"
    return batch_id


_COI_ALPHABET = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))


def _coi(rng: np.random.Generator) -> str:
    return "COI-" + "".join(rng.choice(_COI_ALPHABET, 6))


class _Pool:
    """Equipment pool: hands out the unit that becomes free first."""

    def __init__(self, ids: list[str], available_from: datetime) -> None:
        self.free_at = {i: available_from for i in ids}

    def earliest(self) -> tuple[str, datetime]:
        eq = min(self.free_at, key=lambda k: (self.free_at[k], k))
        return eq, self.free_at[eq]

    def book(self, eq: str, until: datetime) -> None:
        self.free_at[eq] = until


def _pools(site: Site, n_site: int, start: datetime) -> dict[str, _Pool]:
    """A small plan runs on three bioreactors per site; a large one brings more units online."""
    n_br = min(len(site.bioreactors), max(3, math.ceil(n_site / 18)))
    n_inc = min(len(site.incubators), max(2, math.ceil(n_site / 30)))
    return {
        "bioreactor": _Pool(list(site.bioreactors[:n_br]), start),
        "incubator": _Pool(list(site.incubators[:n_inc]), start),
    }


OTHER_EQUIPMENT = {
    "Selection": "SEL-{n}",
    "Thaw and seed": "BSC-{n}",
    "Harvest": "HRV-{n}",
    "Cryopreservation": "CRF-{n}",
    "Clarification": "DSP-{n}",
    "Purification and fill": "DSP-{n}",
}


def plan_plant(n_batches: int, seed: int, start_date: date, fault_fraction: float) -> PlantPlan:
    """Lay out all batches on the two sites' equipment, in time order."""
    products = product_mix(n_batches)
    plan_rng = np.random.default_rng(np.random.SeedSequence([seed, 999_999]))
    # Vector lots first (CAR-T needs a released lot), then allogeneic and CAR-T interleaved.
    lvv = [p for p in products if p is LVV]
    rest = [p for p in products if p is not LVV]
    plan_rng.shuffle(rest)
    ordered = lvv + rest

    # Site assignment: vector and allogeneic at the CDMO; CAR-T 60 % home site, 40 % CDMO.
    sites = []
    for i, proc in enumerate(ordered):
        if proc is CART:
            sites.append(BOS if (i * 3) % 5 < 3 else BSL)
        else:
            sites.append(BSL)
    t0 = _local(start_date, 9, BOS.timezone)
    pools = {s.site_id: _pools(s, sites.count(s), t0) for s in (BOS, BSL)}
    # Vector production has its own suite at the CDMO.
    n_lvv_reactors = min(len(BSL.vector_bioreactors), max(1, math.ceil(len(lvv) / 12)))
    vector_pool = _Pool(list(BSL.vector_bioreactors[:n_lvv_reactors]), t0)

    faulted = set()
    n_faults = round(fault_fraction * n_batches) if fault_fraction > 0 else 0
    if n_faults:
        faulted = {int(i) for i in plan_rng.choice(n_batches, n_faults, replace=False)}
    fault_types = {idx: FAULT_TYPES[k % len(FAULT_TYPES)] for k, idx in enumerate(sorted(faulted))}

    counters: dict[str, int] = {}
    released_lots: list[tuple[datetime, str]] = []
    batches: list[BatchPlan] = []
    year = start_date.year
    for index, (proc, site) in enumerate(zip(ordered, sites, strict=True)):
        rng = batch_rng(seed, index, "plan")
        counters[proc.batch_prefix] = counters.get(proc.batch_prefix, 0) + 1
        batch_id = f"{proc.batch_prefix}-{year}-{counters[proc.batch_prefix]:04d}"
        sp = _setpoints(proc, rng)
        pool = vector_pool if proc is LVV else pools[site.site_id]["bioreactor"]
        br, br_free = pool.earliest()
        # Offset of the bioreactor phase from batch start
        pre_h = sum(ph.hours for ph in proc.phases[: _culture_index(proc)])
        earliest_start = br_free - timedelta(hours=pre_h)
        if proc is CART and released_lots:
            # transduction (at ~30 h) needs a released vector lot
            earliest_start = max(earliest_start, released_lots[0][0] - timedelta(hours=30))
        elif proc is CART:
            earliest_start = max(earliest_start, t0 + timedelta(days=8))
        # batches start at 09:00 local on the first day the equipment allows
        local_day = earliest_start.astimezone(ZoneInfo(site.timezone)).date()
        start = _local(local_day, 9, site.timezone)
        if start < earliest_start:
            start = _local(local_day + timedelta(days=1), 9, site.timezone)
        start += timedelta(minutes=int(rng.integers(0, 90)))
        inc = None
        if proc is CART:
            inc_pool = pools[site.site_id]["incubator"]
            inc, inc_free = inc_pool.earliest()
            if inc_free > start:
                start = inc_free + timedelta(hours=2)

        phases = []
        t = start
        for ph in proc.phases:
            if ph.equipment_kind == "bioreactor":
                hours = sp.culture_days * 24.0 if ph.hours == 0 else ph.hours
                eq = br
            elif ph.equipment_kind == "incubator":
                hours, eq = ph.hours, inc
            else:
                hours = ph.hours
                eq = OTHER_EQUIPMENT[ph.phase].format(n=f"{site.site_id[0]}{1 + index % 2}")
            jitter = timedelta(minutes=int(rng.integers(-20, 21))) if hours > 10 else timedelta(0)
            end = t + timedelta(hours=hours) + jitter
            phases.append(PhasePlan(ph.unit_procedure, ph.operation, ph.phase, eq, t, end))
            t = end
        culture_end = max(p.end for p in phases if p.equipment_id == br)
        pool.book(br, culture_end + timedelta(hours=TURNAROUND_H))
        if inc:
            inc_end = max(p.end for p in phases if p.equipment_id == inc)
            pools[site.site_id]["incubator"].book(inc, inc_end + timedelta(hours=4))

        vector_lot = None
        if proc is CART:
            transduction_start = next(p.start for p in phases if p.phase == "Transduction")
            usable = [lot for at, lot in released_lots if at <= transduction_start]
            vector_lot = usable[-1] if usable else released_lots[0][1] if released_lots else None

        fault = None
        if index in fault_types:
            cult = next(p for p in phases if p.equipment_id == br)
            span = (cult.end - cult.start).total_seconds() / 3600.0
            onset = cult.start + timedelta(hours=round(float(rng.uniform(0.25, 0.6)) * span, 2))
            ftype = fault_types[index]
            duration = {
                "do_control_loss": float(rng.uniform(14, 30)),
                "temperature_excursion": float(rng.uniform(5, 10)),
                "feed_failure": (cult.end - onset).total_seconds() / 3600.0,
                "temperature_drift": (cult.end - onset).total_seconds() / 3600.0,
            }[ftype]
            fault = Fault(ftype, onset, round(duration, 2))

        viab0 = float(rng.uniform(80, 97)) if proc is CART else float(rng.uniform(90, 97))
        culture_start = CultureStart(
            viable_density=sp.seeding_density * float(rng.normal(1.0, 0.03)),
            viability=viab0,
            glucose=float(rng.normal(4.5, 0.1)),
            lactate=float(abs(rng.normal(0.03, 0.01))),
            volume=proc.working_volume_l * (0.6 if proc is not LVV else 0.8),
        )
        donor_id = f"DNR-{int(rng.integers(1, 6)):04d}" if proc is ALLO else None
        plan = BatchPlan(
            index=index,
            batch_id=batch_id,
            process=proc,
            site=site,
            seed=seed,
            start=start,
            phases=tuple(phases),
            setpoints=sp,
            growth=_growth_params(proc, rng),
            culture_start=culture_start,
            donor_factor=float(rng.lognormal(0.0, 0.25)),
            fault=fault,
            coi_id=_coi(rng) if proc is not LVV else None,
            donor_id=donor_id,
            lims_batch_ref=_lims_spelling(batch_id, rng),
            vector_lot=vector_lot,
            operators=tuple(rng.choice(OPERATORS[site.site_id], 3, replace=False)),
        )
        batches.append(plan)
        if proc is LVV:
            released_lots.append((plan.release_at, batch_id))
            released_lots.sort()

    batches.sort(key=lambda b: (b.start, b.index))
    last = max(batches, key=lambda b: b.start)
    extract_at = last.start + timedelta(hours=0.6 * last.process.expected_duration_h)
    extract_at = extract_at.replace(second=0, microsecond=0, minute=0)
    return PlantPlan(tuple(_overdosed(batches, extract_at)), extract_at, seed, start_date)


OVERDOSE = 6.0  # vector added as 6x the calculated volume (a mis-set pump, whole vials)


def _overdosed(batches: list[BatchPlan], extract_at: datetime) -> list[BatchPlan]:
    """One CAR-T batch whose operator added 6x the set-point vector volume: its vector copy
    number comes out above the 5 copies/cell limit. Of the CAR-T batches whose release
    results are in by the extract, the one with the most susceptible cells and the largest
    set-point (so that every plant's overdose is out of specification)."""
    tested = [b for b in batches if b.process is CART and b.end + timedelta(hours=80) <= extract_at]
    if not tested:
        return batches
    chosen = max(tested, key=lambda b: (b.donor_factor * b.setpoints.vector_volume_ml, b.index))
    added = round(OVERDOSE * chosen.setpoints.vector_volume_ml, 1)
    return [replace(b, vector_added_ml=added) if b is chosen else b for b in batches]


def _culture_index(proc: Process) -> int:
    return next(i for i, ph in enumerate(proc.phases) if ph.equipment_kind == "bioreactor")


OPERATORS = {
    "BOS": np.array(["jdoe", "asmith", "mchen", "rpatel", "kgarcia", "tnguyen"]),
    "BSL": np.array(["hmueller", "lrossi", "sfischer", "ameier", "dkeller", "nweber"]),
}
QA_APPROVERS = {"BOS": "qa.lwong", "BSL": "qa.cbrunner"}
