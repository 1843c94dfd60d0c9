"""The third site: a CHO fed-batch antibody process at Cork, unlike the two cell-therapy sites.

It exists to hold biotwin to "a new site is configuration": nothing in ingestion, dbt or the
twin knows it. It differs from BOS and BSL in every system, the way a real third site would:
- its process family: a 10-day fed-batch with a temperature shift, `process_type: other`, and
  an outcome (antibody titre, g/L) no cell therapy has;
- LIMS times in ISO 8601 with the UTC offset (`2026-10-20T09:05:00+01:00`);
- historian CSV exports with `;` between fields, decimal commas and day-first local times
  (`20.10.2026 09:05:00`) every 5 minutes, declared in `site_formats.csv`;
- its own tag names and units (K, L/h, 1e5 cells/mL, mbar) and a tag nobody mapped;
- batch-record parameters its reference rows do not list (`initial_volume`,
  `inoculum_passage`): kept in the marts, reported as `unmapped_parameter`.
It is planned on its own: a fed-batch campaign shares nothing with the cell-therapy network (no
vector lots, no chain of identity, no custody events, no instrument files), so the CGT plan of
a plant is the same with or without it. Every draw comes from a stream seeded by (seed, batch).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from synthetic import historian
from synthetic.catalogue import CRK, MAB, PARAMETER_BY_ID
from synthetic.lab import LabResult, format_entry
from synthetic.model import CultureStart, GrowthParams, simulate_culture
from synthetic.plan import PhasePlan, batch_rng
from synthetic.records import phase_entry
from synthetic.units import round_for_unit, to_canonical, to_source

# the phases of a fed-batch record, in order (the reference requires their signatures)
PHASES = ("Inoculation", "Fed-batch production", "Harvest")

STEP_MIN = 5  # the site's historian records every 5 minutes
PAD_H = 3.0  # the historian records the vessel this long before and after a culture
TURNAROUND_H = 24.0
RELEASE_TESTING_H = 120.0
INDEX_BASE = 100_000  # batch-stream indices, apart from the cell-therapy plan's
HISTORIAN_TIME = "%d.%m.%Y %H:%M:%S"
HARVEST_CENTRIFUGE = "CEN-301"
OPERATORS = ("ciara.obrien", "sean.murphy", "aoife.walsh", "liam.byrne", "niamh.kelly")
QA_APPROVER = "qa.mdoyle"
TITER_SPEC_MIN = 1.5  # g/L at harvest (specifications.csv)


@dataclass(frozen=True)
class FedBatchPlan:
    index: int
    batch_id: str
    reactor: str
    start: datetime  # UTC, inoculation
    phases: tuple[PhasePlan, ...]
    seeding_density: float  # 1e6 cells/mL
    temperature: float  # degC before the shift
    shift_temperature: float  # degC after it
    shift_day: float  # production day of the temperature shift
    production_days: float
    ph: float
    dissolved_oxygen: float
    agitation: float
    feed_start_h: float  # hours after inoculation
    feed_rate_l_h: float
    initial_volume_l: float
    passage: int
    growth: GrowthParams
    qp: float  # specific productivity, pg/cell/day at 37 degC
    viability0: float
    lims_ref: str
    operators: tuple[str, ...]

    @property
    def end(self) -> datetime:
        return self.phases[-1].end

    @property
    def culture_start(self) -> datetime:
        return self.phases[0].start

    @property
    def culture_end(self) -> datetime:
        return self.phases[1].end

    @property
    def release_at(self) -> datetime:
        return self.end + timedelta(hours=RELEASE_TESTING_H)


def batch_count(n_cgt_batches: int) -> int:
    """The fed-batch campaign beside a cell-therapy plant of `n_cgt_batches`: enough batches
    for the twin (five finished, one running), at most two dozen."""
    return min(24, max(8, n_cgt_batches // 2))


def plan_campaign(n: int, seed: int, first: datetime, extract_at: datetime) -> list[FedBatchPlan]:
    """`n` batches at 08:00 Cork time, evenly spread so that the last one is running at the
    extract, on as many reactors as the spacing needs."""
    if n <= 0:
        return []
    duration_h = MAB.expected_duration_h
    window_h = (extract_at - first).total_seconds() / 3600.0 - 0.6 * duration_h
    spacing_h = max(24.0, window_h / max(1, n - 1))
    n_reactors = min(len(CRK.bioreactors), math.ceil((duration_h + TURNAROUND_H) / spacing_h))
    free = dict.fromkeys(CRK.bioreactors[:n_reactors], first)
    zone = ZoneInfo(CRK.timezone)
    out = []
    for k in range(n):
        rng = batch_rng(seed, INDEX_BASE + k, "fedbatch")
        reactor = min(free, key=lambda r: (free[r], r))
        wanted = max(first + timedelta(hours=k * spacing_h), free[reactor])
        day = wanted.astimezone(zone).date()
        start = datetime.combine(day, time(8), tzinfo=zone).astimezone(UTC)
        if start < wanted:
            start += timedelta(days=1)
        start += timedelta(minutes=int(rng.integers(0, 60)))
        production_days = float(rng.choice([9.0, 9.5, 10.0]))
        inoculation_end = start + timedelta(hours=2)
        production_end = inoculation_end + timedelta(hours=production_days * 24.0)
        phases = (
            PhasePlan("Production", "Inoculation", PHASES[0], reactor, start, inoculation_end),
            PhasePlan(
                "Production",
                "Culture",
                PHASES[1],
                reactor,
                inoculation_end,
                production_end,
            ),
            PhasePlan(
                "Harvest",
                "Clarification",
                PHASES[2],
                HARVEST_CENTRIFUGE,
                production_end,
                production_end + timedelta(hours=6),
            ),
        )
        free[reactor] = production_end + timedelta(hours=TURNAROUND_H)
        number = f"{k + 1:04d}"
        batch_id = f"MAB-{first.year}-{number}"
        out.append(
            FedBatchPlan(
                index=INDEX_BASE + k,
                batch_id=batch_id,
                reactor=reactor,
                start=start,
                phases=phases,
                seeding_density=round(float(rng.uniform(0.3, 0.6)), 2),
                temperature=round(float(rng.uniform(36.3, 36.8)), 1),
                shift_temperature=round(float(rng.uniform(32.5, 33.5)), 1),
                shift_day=float(rng.choice([4.0, 5.0, 6.0])),
                production_days=production_days,
                ph=round(float(rng.uniform(6.95, 7.10)), 2),
                dissolved_oxygen=float(round(rng.uniform(35, 50))),
                agitation=float(round(rng.uniform(100, 130))),
                feed_start_h=72.0,
                feed_rate_l_h=round(float(rng.uniform(0.08, 0.12)), 3),
                initial_volume_l=round(float(rng.uniform(140, 160)), 1),
                passage=int(rng.integers(6, 15)),
                growth=GrowthParams(
                    mu_max=0.045 * float(rng.lognormal(0.0, 0.08)),
                    x_max=16.0 * float(rng.lognormal(0.0, 0.08)),
                    ks_glucose=0.4,
                    q_glucose=0.010,
                    y_lactate=0.5,
                    kd0=0.001,
                    k_lactate=0.004,
                    l_crit=3.5,
                    feed_glucose=60.0,
                ),
                qp=22.0 * float(rng.lognormal(0.0, 0.1)),
                viability0=float(rng.uniform(96.0, 99.0)),
                lims_ref=batch_id if rng.uniform() < 0.7 else f"MAB{first.year}{number}",
                operators=tuple(rng.choice(OPERATORS, 3, replace=False)),
            )
        )
    return out


@dataclass(frozen=True)
class FedBatchRun:
    plan: FedBatchPlan
    minutes: np.ndarray  # epoch minutes of the culture (inoculation to production end)
    values: dict[str, np.ndarray]  # parameter_id -> canonical value per minute
    viable_density: np.ndarray  # 1e6 cells/mL
    viability: np.ndarray
    glucose: np.ndarray
    lactate: np.ndarray
    titer: np.ndarray  # g/L

    @property
    def outcome(self) -> float:
        return float(self.titer[-1])


def _ar(rng: np.random.Generator, n: int, sd: float, phi: float = 0.995) -> np.ndarray:
    noise = rng.normal(0.0, sd * math.sqrt(1 - phi**2), n)
    out = np.empty(n)
    level = 0.0
    for i in range(n):
        level = phi * level + noise[i]
        out[i] = level
    return out


def simulate(plan: FedBatchPlan) -> FedBatchRun:
    """The culture minute by minute: conditions, the growth model, online signals, titre."""
    rng = batch_rng(plan.index, 0, "fedbatch-run")
    first = int(plan.culture_start.timestamp() // 60)
    n = int((plan.culture_end - plan.culture_start).total_seconds() // 60)
    hours = np.arange(n) / 60.0
    shifted = hours >= 2.0 + plan.shift_day * 24.0
    temperature = np.where(shifted, plan.shift_temperature, plan.temperature) + _ar(rng, n, 0.05)
    ph = plan.ph + _ar(rng, n, 0.02) - 0.05 * hours / hours[-1]
    do = plan.dissolved_oxygen + _ar(rng, n, 1.5)
    feed = np.where(hours >= plan.feed_start_h, plan.feed_rate_l_h * 1000.0, 0.0)
    culture = simulate_culture(
        plan.growth,
        CultureStart(
            viable_density=plan.seeding_density * float(rng.normal(1.0, 0.03)),
            viability=plan.viability0,
            glucose=6.0,
            lactate=0.1,
            volume=plan.initial_volume_l,
        ),
        temperature,
        ph,
        do,
        feed,
    )
    # productivity rises when growth is arrested by the shift (a known CHO effect)
    qp_per_min = plan.qp / 1440.0 * np.where(temperature < 35.0, 1.6, 1.0)
    titer = np.cumsum(qp_per_min * culture.viable_density) * 1.0e-3
    values = {
        "temperature": temperature,
        "ph": ph,
        "dissolved_oxygen": do,
        "agitation": plan.agitation + _ar(rng, n, 0.4),
        "feed_rate": feed,
        "culture_volume": culture.volume,
        "vcd_online": culture.viable_density * (1.0 + _ar(rng, n, 0.02)),
        "_headspace_pressure": 50.0 + _ar(rng, n, 1.0),
    }
    return FedBatchRun(
        plan,
        first + np.arange(n),
        values,
        culture.viable_density,
        culture.viability,
        culture.glucose,
        culture.lactate,
        titer,
    )


# ---------------------------------------------------------------------------------------------
# MES
# ---------------------------------------------------------------------------------------------


def _iso(t: datetime) -> str:
    return t.astimezone(ZoneInfo(CRK.timezone)).isoformat(timespec="seconds")


def _released(run: FedBatchRun) -> bool:
    return run.outcome >= TITER_SPEC_MIN


def batch_record(run: FedBatchRun, version: int, extract_at: datetime) -> dict:
    """The batch record at `version` (1 after manufacturing, 2 after QA disposition)."""
    plan = run.plan
    as_of = min(extract_at, plan.end if version == 1 else plan.release_at)
    if version == 2:
        status = "released" if _released(run) else "rejected"
    else:
        status = "in_review" if plan.end <= extract_at else "in_progress"
    phases, signatures = [], []
    for k, ph in enumerate(plan.phases):
        if ph.start > as_of:
            break
        done = ph.end <= as_of
        phases.append(phase_entry(ph, done, CRK.timezone))
        if done:
            signatures.append(
                {
                    "phase": ph.phase,
                    "signer": plan.operators[k % 3],
                    "meaning": "performed",
                    "signed_at": _iso(ph.end + timedelta(minutes=10)),
                }
            )
    if version == 2:
        signatures.append(
            {
                "phase": "Disposition",
                "signer": QA_APPROVER,
                "meaning": "approved" if status == "released" else "rejected",
                "signed_at": _iso(plan.release_at),
            }
        )
    at = _iso(plan.culture_start + timedelta(minutes=30))
    by = plan.operators[0]
    parameters = [
        # (name, set-point, actual, unit): seeding in the site's 1e5 cells/mL
        (
            "seeding_density",
            plan.seeding_density * 10.0,
            round(run.values["vcd_online"][0] * 10, 2),
            "1e5 cells/mL",
        ),
        ("temperature", plan.temperature, plan.temperature, "degC"),
        ("ph", plan.ph, plan.ph, "pH"),
        ("dissolved_oxygen", plan.dissolved_oxygen, plan.dissolved_oxygen, "%"),
        ("agitation", plan.agitation, plan.agitation, "rpm"),
        ("feed_start", plan.feed_start_h, plan.feed_start_h, "h"),
        ("production_days", plan.production_days, plan.production_days, "d"),
        ("temperature_shift_day", plan.shift_day, plan.shift_day, "d"),
        # written by the batch record, listed in no reference row
        ("initial_volume", plan.initial_volume_l, plan.initial_volume_l, "L"),
        ("inoculum_passage", float(plan.passage), float(plan.passage), ""),
    ]
    aliases = {} if plan.lims_ref == plan.batch_id else {"lims": plan.lims_ref}
    materials = [
        (
            "CD-CHO-BASAL",
            f"M{plan.start:%y%m}-{plan.index % 97:02d}",
            plan.initial_volume_l,
            "L",
            plan.culture_start,
        ),
        (
            "CD-FEED-C",
            f"F{plan.start:%y%m}-{plan.index % 89:02d}",
            round(plan.feed_rate_l_h * (plan.production_days * 24 - plan.feed_start_h), 1),
            "L",
            plan.culture_start + timedelta(hours=plan.feed_start_h),
        ),
    ]
    return {
        "record_type": "batch_production_record",
        "schema_version": "1.0",
        "batch_id": plan.batch_id,
        "record_version": version,
        "last_changed_at": _iso(as_of),
        "site_id": CRK.site_id,
        "product_id": MAB.product_id,
        "process_type": MAB.process_type,
        "recipe": {"id": MAB.recipe_id, "version": MAB.recipe_version},
        "status": status,
        "aliases": aliases,
        "coi_id": None,
        "donor_id": None,
        "phases": phases,
        "parameters": [
            {
                "phase": "Fed-batch production",
                "name": name,
                "setpoint": setpoint,
                "actual": actual,
                "unit": unit,
                "recorded_at": at,
                "recorded_by": by,
            }
            for name, setpoint, actual, unit in parameters
        ],
        "materials": [
            {
                "phase": "Fed-batch production",
                "material_id": material,
                "lot": lot,
                "quantity": quantity,
                "unit": unit,
                "consumed_at": _iso(when),
            }
            for material, lot, quantity, unit, when in materials
            if when <= as_of
        ],
        "signatures": signatures,
        "deviations": [],
    }


# ---------------------------------------------------------------------------------------------
# LIMS
# ---------------------------------------------------------------------------------------------


def _result(
    run: FedBatchRun, point: str, at: datetime, parameter_id: str, value: float
) -> LabResult:
    """One result as the LIMS holds it: typed in the assay's unit, its truth the typed number
    in the canonical unit."""
    plan = run.plan
    analysis, component, unit = CRK.lims_tests[parameter_id]
    canonical_unit = PARAMETER_BY_ID[parameter_id].canonical_unit
    entry = format_entry(float(to_source(value, unit, canonical_unit)), unit, parameter_id)
    spec_min = ""
    if parameter_id == "product_titer":
        spec_min = format_entry(
            float(to_source(TITER_SPEC_MIN, unit, canonical_unit)), unit, parameter_id
        )
    return LabResult(
        batch_id=plan.batch_id,
        batch_ref=plan.lims_ref,
        sample_id=f"S-{plan.batch_id.replace('-', '')}-{point}",
        sample_point="HARVEST" if point == "H" else "IPC",
        sampled_at=at,
        parameter_id=parameter_id,
        analysis=analysis,
        component=component,
        unit=unit,
        entry=entry,
        numeric=entry,
        spec_min=spec_min,
        spec_max="",
        canonical_value=float(to_canonical(float(entry), unit, canonical_unit)),
        censor="",
        entered_by=plan.operators[1],
        entered_at=at + timedelta(hours=3),
        reviewed_by=plan.operators[2],
        approved_at=at + timedelta(hours=20),
    )


def lab_results(run: FedBatchRun) -> list[LabResult]:
    """A daily in-process sample (cell count, viability, glucose, lactate) and the harvest
    titre, each measured with the assay's scatter."""
    plan = run.plan
    rng = batch_rng(plan.index, 1, "fedbatch-lab")
    out = []
    day = 0
    while True:
        at = plan.culture_start + timedelta(hours=day * 24.0 + 1.0)
        if at >= plan.culture_end:
            break
        k = int((at - plan.culture_start).total_seconds() // 60)
        truth = {
            "vcd": run.viable_density[k],
            "viability": run.viability[k],
            "glucose": run.glucose[k],
            "lactate": run.lactate[k],
        }
        for pid, value in truth.items():
            scatter = float(rng.normal(1.0, 0.02))
            out.append(_result(run, f"D{day:02d}", at, pid, value * scatter))
        day += 1
    harvest = plan.culture_end + timedelta(minutes=30)
    out.append(
        _result(run, "H", harvest, "product_titer", run.outcome * float(rng.normal(1.0, 0.01)))
    )
    return out


# ---------------------------------------------------------------------------------------------
# Historian
# ---------------------------------------------------------------------------------------------


def historian_frame(run: FedBatchRun, extract_minute: int) -> pd.DataFrame:
    """Long rows every STEP_MIN of the reactor from PAD_H before inoculation to PAD_H after
    the culture, in the site's units: tag, minute, value (source unit), canonical, in_phase."""
    plan = run.plan
    pad = int(PAD_H * 60)
    first, last = int(run.minutes[0]), int(run.minutes[-1])
    minutes = np.arange(first - pad, last + pad + 1, STEP_MIN)
    minutes = minutes[minutes < extract_minute]
    inside = (minutes >= first) & (minutes <= last)
    k = np.clip(minutes - first, 0, len(run.minutes) - 1)
    before = {
        "vcd_online": 0.0,
        "feed_rate": 0.0,
        "culture_volume": 0.0,
        "temperature": plan.temperature,
    }
    frames = []
    for pid, (template, unit) in [*CRK.tags.items(), *_unmapped()]:
        canonical = run.values[pid][k].copy()
        if pid in before:
            canonical[minutes < first] = before[pid]
        after = minutes > last
        if pid in ("vcd_online", "feed_rate", "culture_volume"):
            canonical[after] = 0.0
        canonical_unit = _canonical_unit(pid)
        source = round_for_unit(to_source(canonical, unit, canonical_unit), unit)
        frames.append(
            pd.DataFrame(
                {
                    "tag": template.format(eq=plan.reactor),
                    "minute": minutes,
                    "value": source,
                    "units": unit,
                    "parameter_id": "" if pid.startswith("_") else pid,
                    "canonical": canonical,
                    "in_phase": inside,
                    "clean": True,  # the site plants no mess in its exports
                    "batch_id": plan.batch_id,
                    "elapsed_h": (minutes - int(plan.start.timestamp() // 60)) / 60.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _unmapped() -> list[tuple[str, tuple[str, str]]]:
    return [(key, (template, unit)) for template, unit, key in CRK.unmapped_tags]


def _canonical_unit(pid: str) -> str:
    return PARAMETER_BY_ID[pid].canonical_unit if pid in PARAMETER_BY_ID else "mbar"


def write_historian_csv(path: Path, frame: pd.DataFrame) -> None:
    """`tag;timestamp;value;quality;units`, day-first local time, decimal comma."""
    zone = ZoneInfo(CRK.timezone)
    stamps = (
        pd.to_datetime(frame["minute"] * 60, unit="s", utc=True)
        .dt.tz_convert(zone)
        .dt.strftime(HISTORIAN_TIME)
    )
    out = pd.DataFrame(
        {
            "tag": frame["tag"],
            "timestamp": stamps,
            "value": frame["value"],
            "quality": "",
            "units": frame["units"],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep=";", decimal=",", index=False, lineterminator="\n")


def ambiguous_rows(frame: pd.DataFrame) -> int:
    """Rows whose local wall-clock time occurs twice (the fall-back hour)."""
    zone = ZoneInfo(CRK.timezone)
    minutes = np.unique(frame["minute"].to_numpy())
    local = pd.to_datetime(minutes * 60, unit="s", utc=True).tz_convert(zone).tz_localize(None)
    twice = pd.Series(local).duplicated(keep=False).to_numpy()
    return int(frame["minute"].isin(minutes[twice]).sum())


# ---------------------------------------------------------------------------------------------
# The site's landing folders
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteOutput:
    batches: list[dict]  # manifest summaries
    lab_results: list[tuple[LabResult, int]]  # with the LIMS sample number, to extract
    trajectory_truth: pd.DataFrame  # batch_id, parameter_id, hour, sum, count
    historian_rows: int
    items: list[tuple[str, str, Path | None, dict]]  # manifest items (kind, system, path, detail)


def write_site(
    landing: Path, seed: int, first: datetime, extract_at: datetime, n_batches: int
) -> SiteOutput:
    """Write CRK's MES and historian folders for a campaign of `n_batches`; its LIMS results
    are returned for the plant's LIMS writer (the same extracts as every site's)."""
    plans = plan_campaign(n_batches, seed, first, extract_at)
    runs = [simulate(p) for p in plans if p.start <= extract_at]
    extract_minute = int(extract_at.timestamp() // 60)
    items: list[tuple[str, str, Path | None, dict]] = []
    summaries, results, truths = [], [], []
    mes = landing / "mes" / CRK.site_id
    mes.mkdir(parents=True, exist_ok=True)
    for run in runs:
        plan = run.plan
        versions = [1] + ([2] if plan.release_at <= extract_at else [])
        for version in versions:
            doc = batch_record(run, version, extract_at)
            path = mes / f"{plan.batch_id}_v{version}.json"
            path.write_bytes((json.dumps(doc, indent=2) + "\n").encode("utf-8"))
        results += [r for r in lab_results(run) if r.sampled_at <= extract_at]
        summaries.append(_summary(run, extract_at))
    exports = landing / "historian" / CRK.site_id
    rows = 0
    by_reactor: dict[str, list[pd.DataFrame]] = {}
    for run in runs:
        by_reactor.setdefault(run.plan.reactor, []).append(historian_frame(run, extract_minute))
    zone = ZoneInfo(CRK.timezone)
    for reactor, frames in sorted(by_reactor.items()):
        frame = pd.concat(frames, ignore_index=True)
        days = pd.to_datetime(frame["minute"] * 60, unit="s", utc=True).dt.tz_convert(zone).dt.date
        for day, part in frame.groupby(days.to_numpy(), sort=True):
            part = part.sort_values(["minute", "tag"], kind="stable")
            path = exports / f"CRK_HIST_{reactor.replace('-', '')}_{day:%Y%m%d}.csv"
            write_historian_csv(path, part)
            rows += len(part)
            truths.append(historian.hourly_truth(part))
            ambiguous = ambiguous_rows(part)
            if ambiguous:
                items.append(
                    (
                        "historian_dst_ambiguous",
                        "historian",
                        path,
                        {"equipment_id": reactor, "rows": ambiguous, "timezone": CRK.timezone},
                    )
                )
    items.append(
        (
            "historian_unmapped_tag",
            "historian",
            None,
            {"tags": sorted({t.format(eq=r) for t, _, _ in CRK.unmapped_tags for r in by_reactor})},
        )
    )
    items.append(
        (
            "mes_unmapped_parameter",
            "mes",
            None,
            {"parameters": ["initial_volume", "inoculum_passage"]},
        )
    )
    numbers: dict[str, int] = {}
    numbered = []
    for r in sorted(results, key=_result_order):
        numbers.setdefault(r.sample_id, 30_000 + len(numbers))
        numbered.append((r, numbers[r.sample_id]))
    truth = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()
    return SiteOutput(summaries, numbered, truth, rows, items)


def _result_order(r: LabResult) -> tuple:
    return (r.sampled_at, r.batch_id, r.parameter_id)


def _summary(run: FedBatchRun, extract_at: datetime) -> dict:
    plan = run.plan
    if plan.end > extract_at:
        state = "in_progress"
    elif plan.release_at > extract_at:
        state = "in_review"
    else:
        state = "released" if _released(run) else "rejected"
    return {
        "batch_id": plan.batch_id,
        "site_id": CRK.site_id,
        "product_id": MAB.product_id,
        "process_type": MAB.process_type,
        "state_at_extract": state,
        "start_utc": plan.start.isoformat(),
        "end_utc": plan.end.isoformat(),
        "culture_start_utc": plan.culture_start.isoformat(),
        "culture_end_utc": plan.culture_end.isoformat(),
        "release_at_utc": plan.release_at.isoformat(),
        "phases": [
            {
                "phase": p.phase,
                "equipment_id": p.equipment_id,
                "start_utc": p.start.isoformat(),
                "end_utc": p.end.isoformat(),
            }
            for p in plan.phases
        ],
        "setpoints": {
            "temperature": plan.temperature,
            "ph": plan.ph,
            "dissolved_oxygen": plan.dissolved_oxygen,
            "agitation": plan.agitation,
            "seeding_density": plan.seeding_density,
            "production_days": plan.production_days,
            "temperature_shift_day": plan.shift_day,
        },
        "outcomes": {"product_titer": run.outcome},
        "fault": None,
        "coi_id": None,
        "donor_id": None,
        "vector_lot": None,
        "lims_batch_ref": plan.lims_ref,
    }
