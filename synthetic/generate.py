"""`biotwin generate`: write a synthetic plant's landing zone, reference data and ground truth.

Output under `out/`:
    landing/<system>/<site>/...   raw extracts in the formats of docs/formats.md
    reference/*.csv               the plant's reference data
    manifest.json                 batches, faults, genealogy, and every planted mess item
    truth/*.csv                   ground truth: hourly process values, lab and instrument values

Two passes keep memory bounded: pass 1 simulates batch by batch and writes batch records, lab
results, instrument files and custody events; pass 2 re-simulates equipment by equipment
(deterministically) and streams the historian exports day by day.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from synthetic import custody, fedbatch, historian, instruments, lims, mess, records
from synthetic.catalogue import CRK, LVV, SITES, Site
from synthetic.lab import LabResult, instrument_samples, lims_results, sample_id
from synthetic.plan import BatchPlan, PlantPlan, plan_plant
from synthetic.reference import write_reference
from synthetic.series import BatchRun, epoch_minute, equipment_uses, simulate_batch

GENERATOR_VERSION = "1.0"
DEFAULT_START = date(2026, 10, 19)  # both sites' DST fall-back (25 Oct, 1 Nov) in the period


@dataclass
class Manifest:
    out: Path
    items: list[dict] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, kind: str, system: str, site_id: str, path: Path | None, **detail) -> None:
        self.counters[kind] += 1
        self.items.append(
            {
                "id": f"{kind}-{self.counters[kind]}",
                "kind": kind,
                "system": system,
                "site_id": site_id,
                "path": self.rel(path) if path else None,
                "detail": detail,
            }
        )

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 4242, *purpose.encode()]))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def generate(
    out: Path,
    n_batches: int,
    seed: int,
    start: date = DEFAULT_START,
    fault_fraction: float = 0.15,
    historian_format: str | None = None,
    fedbatch_batches: int | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> dict:
    """Write the whole synthetic plant under `out` and return the manifest.

    `historian_format="csv"` makes every cell-therapy site export CSV in local time (benchmarks
    of the CSV path); by default each site uses its own interface. `fedbatch_batches` is the
    size of the third site's campaign (synthetic/fedbatch.py): None for the default beside
    `n_batches` (fedbatch.batch_count), 0 for none. `say` hears a line per stage (the CLI
    prints them: generating 40 batches takes over a minute)."""
    if n_batches < 3:
        msg = "--batches must be at least 3 (one vector lot, one allogeneic lot, one CAR-T)"
        raise ValueError(msg)
    out.mkdir(parents=True, exist_ok=True)
    plant = plan_plant(n_batches, seed, start, fault_fraction)
    manifest = Manifest(out)
    landing = out / "landing"

    titers: dict[str, float] = {}
    batch_truth: list[dict] = []
    lab_truth: list[dict] = []
    instrument_truth: list[dict] = []
    lab_by_site: dict[str, list[LabResult]] = defaultdict(list)
    samples_by_site: dict[str, list[instruments.CellCount]] = defaultdict(list)
    metabolites_by_site: dict[str, list[instruments.Metabolites]] = defaultdict(list)
    events_by_site: dict[str, list[custody.CustodyEvent]] = defaultdict(list)
    counters = {s.site_id: [10_000 * (1 + k)] for k, s in enumerate(SITES)}
    extra_deviation_batch = _extra_deviation_batch(plant)

    ordered = sorted(plant.batches, key=lambda b: b.index)
    for done, plan in enumerate(ordered):
        if done % 10 == 0:
            say(f"batches simulated: {done}/{len(ordered)}")
        run = simulate_batch(plan, titers)
        if plan.process is LVV:
            titers[plan.batch_id] = run.outcomes["vector_titer"]
        released = plan.release_at <= plant.extract_at and records.cqa_pass(run)
        _write_batch_records(run, plant, landing, manifest, plan.batch_id == extra_deviation_batch)
        samples = instrument_samples(run)
        samples_by_site[plan.site.site_id] += [
            c for c in samples.counts if c.at <= plant.extract_at
        ]
        metabolites_by_site[plan.site.site_id] += [
            m for m in samples.metabolites if m.at <= plant.extract_at
        ]
        instrument_truth += [
            t
            for t in samples.truth
            if datetime.fromisoformat(t["measured_at_utc"]) <= plant.extract_at
        ]
        results = lims_results(run, counters[plan.site.site_id])
        lab_by_site[plan.site.site_id] += results
        events_by_site[plan.site.site_id] += [
            e for e in custody.chain(plan, released) if e.at <= plant.extract_at
        ]
        batch_truth.append(_batch_summary(run, plant))

    say(f"batches simulated: {len(ordered)}/{len(ordered)}; writing instruments, LIMS, custody")
    for site in SITES:
        _write_instruments(
            site,
            samples_by_site[site.site_id],
            metabolites_by_site[site.site_id],
            plant,
            landing,
            manifest,
        )
        results = _plant_lims_mess(
            site, lab_by_site[site.site_id], plant, manifest, counters[site.site_id]
        )
        lab_truth += _lab_truth(results, plant)
        _write_lims(site, results, plant, landing, manifest)
        _write_custody(site, events_by_site[site.site_id], plant, landing, manifest)

    say("writing historian exports")
    traj_truth, historian_rows = _write_historian(
        plant, titers, landing, manifest, historian_format
    )
    n_fedbatch = fedbatch.batch_count(n_batches) if fedbatch_batches is None else fedbatch_batches
    if n_fedbatch:
        say(f"writing the third site (CRK): {n_fedbatch} fed-batch batches")
        first = min(b.start for b in plant.batches)
        third = fedbatch.write_site(landing, seed, first, plant.extract_at, n_fedbatch)
        _write_lims(CRK, third.lab_results, plant, landing, manifest)
        lab_truth += _lab_truth(third.lab_results, plant)
        for kind, system, path, detail in third.items:
            manifest.add(kind, system, CRK.site_id, path, **detail)
        batch_truth += third.batches
        historian_rows += third.historian_rows
        traj_truth = pd.concat([traj_truth, _hourly_means(third.trajectory_truth)])
    write_reference(out / "reference")
    _write_truth(out / "truth", traj_truth, lab_truth, instrument_truth)
    doc = _manifest_doc(
        plant, batch_truth, manifest, historian_rows, n_batches, fault_fraction, landing
    )
    doc["generator"]["fedbatch_batches"] = n_fedbatch
    if n_fedbatch:
        doc["sites"].append(
            {
                "site_id": CRK.site_id,
                "timezone": CRK.timezone,
                "is_cdmo": CRK.is_cdmo,
                "historian_format": "csv (; and decimal comma, day-first, every 5 min)",
                "historian_timestamps": "naive local",
                "metabolite_vendor": "",
            }
        )
    (out / "manifest.json").write_bytes(
        (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    )
    return doc


# ---------------------------------------------------------------------------------------------
# MES
# ---------------------------------------------------------------------------------------------


def _extra_deviation_batch(plant: PlantPlan) -> str:
    clean = [b for b in plant.batches if b.fault is None and b.end <= plant.extract_at]
    return clean[0].batch_id if clean else plant.batches[0].batch_id


def _write_batch_records(
    run: BatchRun, plant: PlantPlan, landing: Path, manifest: Manifest, extra_deviation: bool
) -> None:
    plan = run.plan
    if plan.start > plant.extract_at:
        return
    folder = landing / "mes" / plan.site.site_id
    folder.mkdir(parents=True, exist_ok=True)
    versions = [1] + ([2] if plan.release_at <= plant.extract_at else [])
    for version in versions:
        doc = records.batch_record(run, version, plant.extract_at, extra_deviation)
        path = folder / f"{plan.batch_id}_v{version}.json"
        data = records.dump(doc)
        path.write_bytes(data)
        if version == 2:
            manifest.add(
                "mes_record_reexport",
                "mes",
                plan.site.site_id,
                path,
                batch_id=plan.batch_id,
                record_version=2,
                status=doc["status"],
                supersedes=manifest.rel(folder / f"{plan.batch_id}_v1.json"),
            )
        if version == versions[-1]:
            for dev in doc["deviations"]:
                manifest.add(
                    "mes_deviation",
                    "mes",
                    plan.site.site_id,
                    path,
                    batch_id=plan.batch_id,
                    deviation_id=dev["id"],
                    classification=dev["classification"],
                )
    first_of_site = not any(
        i["kind"] == "malformed_file" and i["system"] == "mes" and i["site_id"] == plan.site.site_id
        for i in manifest.items
    )
    if first_of_site and plan.site.site_id == "BSL":
        bad = folder / f"{plan.batch_id}_v1_export-error.json"
        bad.write_bytes(mess.truncate((folder / f"{plan.batch_id}_v1.json").read_bytes(), 0.4))
        manifest.add(
            "malformed_file",
            "mes",
            plan.site.site_id,
            bad,
            problem="invalid JSON (export stopped part-way)",
            retried_as=manifest.rel(folder / f"{plan.batch_id}_v1.json"),
        )


# ---------------------------------------------------------------------------------------------
# Instruments
# ---------------------------------------------------------------------------------------------


def _local_day(t: datetime, tz: str) -> date:
    return t.astimezone(ZoneInfo(tz)).date()


def _write_instruments(
    site: Site,
    counts: list[instruments.CellCount],
    metabolites: list[instruments.Metabolites],
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
) -> None:
    tz = site.timezone
    rng = _rng(plant.seed, f"instruments-{site.site_id}")
    vicell_dir = landing / "instruments" / site.site_id / "beckman_vi_cell_blu"
    vicell_dir.mkdir(parents=True, exist_ok=True)
    by_day: dict[date, list[instruments.CellCount]] = defaultdict(list)
    for c in sorted(counts, key=lambda c: (c.at, c.sample_id)):
        by_day[_local_day(c.at, tz)].append(c)
    first_path = None
    for k, (day, day_counts) in enumerate(sorted(by_day.items())):
        if k % 5 == 0:  # the daily bead control: a sample that belongs to no batch
            qc_at = day_counts[0].at - timedelta(minutes=20)
            qc = instruments.CellCount(
                f"QC-BEADS-{day:%m%d}", qc_at, 1.0, 1.0, 100.0, 10.0, 10.0, "Control beads"
            )
            day_counts = [qc, *day_counts]
        path = vicell_dir / f"ViCellBLU_{site.site_id}_{day:%Y%m%d}.csv"
        instruments.write_vicell(path, tz, day_counts)
        first_path = first_path or path
        if k % 5 == 0:
            manifest.add(
                "instrument_unlinked_sample",
                "instruments",
                site.site_id,
                path,
                sample_id=day_counts[0].sample_id,
                vendor="beckman_vi_cell_blu",
            )
    if first_path is not None:
        # the instrument PC once exported with a customised column set: allotropy rejects it
        lines = first_path.read_bytes().decode("utf-8").split("\r\n")
        lines[0] = lines[0].replace('"Viable (x10^6) cells/mL",', '"Viable cells/mL",')
        bad = vicell_dir / f"ViCellBLU_{site.site_id}_custom-layout.csv"
        bad.write_bytes("\r\n".join(lines).encode("utf-8"))
        manifest.add(
            "malformed_file",
            "instruments",
            site.site_id,
            bad,
            problem="wrong header: column 'Viable (x10^6) cells/mL' renamed",
            vendor="beckman_vi_cell_blu",
            retried_as=manifest.rel(first_path),
        )

    vendor = site.metabolite_vendor
    met_dir = landing / "instruments" / site.site_id / vendor
    met_dir.mkdir(parents=True, exist_ok=True)
    met_by_day: dict[date, list[instruments.Metabolites]] = defaultdict(list)
    for m in sorted(metabolites, key=lambda m: (m.at, m.sample_id)):
        met_by_day[_local_day(m.at, tz)].append(m)
    below = 0
    for day, day_samples in sorted(met_by_day.items()):
        processed = day_samples[-1].at + timedelta(minutes=15)
        if vendor == "roche_cedex_bioht":
            path = met_dir / f"CedexBioHT_{day:%Y%m%d}.txt"
            instruments.write_cedex(path, tz, day_samples, "CDX-" + site.site_id, processed)
            for s in day_samples:
                for analyte, limit in instruments.CEDEX_LOWER_LIMIT.items():
                    if getattr(s, analyte) < limit and below < 10:
                        below += 1
                        manifest.add(
                            "instrument_below_range",
                            "instruments",
                            site.site_id,
                            path,
                            sample_id=s.sample_id,
                            analyte=analyte,
                            written=f"< {limit:.2f}",
                            vendor=vendor,
                        )
        else:
            path = met_dir / instruments.nova_file_name(processed, tz)
            instruments.write_nova(path, tz, day_samples, str(rng.choice(["hmueller", "lrossi"])))


# ---------------------------------------------------------------------------------------------
# LIMS
# ---------------------------------------------------------------------------------------------


def _first_cut_after(t: datetime, plant: PlantPlan, tz: str) -> datetime:
    cuts = lims.extract_times(t - timedelta(days=8), plant.extract_at, tz)
    return next((c for c in cuts if c > t), plant.extract_at)


def _plant_lims_mess(
    site: Site, results: list[LabResult], plant: PlantPlan, manifest: Manifest, counter: list[int]
) -> list[tuple[LabResult, int]]:
    """Amendments, a cancelled result with its retest, and unlinkable samples."""
    rng = _rng(plant.seed, f"lims-{site.site_id}")
    tz = site.timezone
    numbered: dict[tuple[str, str], int] = {}
    out: list[tuple[LabResult, int]] = []
    for r in results:
        key = (r.sample_id, r.sample_point)
        if key not in numbered:
            counter[0] += 1
            numbered[key] = counter[0]
        out.append((r, numbered[key]))
    candidates = [
        i
        for i, (r, _) in enumerate(out)
        if r.censor == ""
        and r.parameter_id in ("viability", "vcd", "harvest_tvc")
        and _first_cut_after(r.entered_at, plant, tz) + timedelta(hours=12) <= plant.extract_at
    ]
    chosen = (
        sorted(rng.choice(candidates, size=min(3, len(candidates)), replace=False))
        if candidates
        else []
    )
    for n, i in enumerate(chosen):
        r, number = out[i]
        amended_at = _first_cut_after(r.entered_at, plant, tz) + timedelta(hours=3)
        if n == len(chosen) - 1 and n > 0:
            # the last one is cancelled (sample compromised) and retested as replicate 2
            cancelled = replace(
                r,
                approved_at=amended_at,
                entry=_wrong_entry(r.entry),
                numeric=_wrong_entry(r.entry),
                cancelled=True,
                canonical_value=None,
            )
            retest = replace(
                r,
                replicate=2,
                entered_at=amended_at + timedelta(hours=4),
                approved_at=amended_at + timedelta(hours=20),
            )
            out[i] = (cancelled, number)
            out.append((retest, number))
            manifest.add(
                "lims_cancelled_retest",
                "lims",
                site.site_id,
                None,
                sample_id=r.sample_id,
                component=r.component,
                cancelled_entry=cancelled.entry,
                retest_entry=r.entry,
            )
            continue
        reason = (
            "Transcription error corrected (digits transposed)"
            if n % 2 == 0
            else "Recalculated: wrong dilution factor applied"
        )
        wrong = _wrong_entry(r.entry)
        amended = replace(
            r,
            amendment=(wrong, wrong, amended_at, reason),
            approved_at=amended_at + timedelta(hours=10),
        )
        out[i] = (amended, number)
        manifest.add(
            "lims_amendment",
            "lims",
            site.site_id,
            None,
            sample_id=r.sample_id,
            component=r.component,
            first_entry=wrong,
            amended_entry=r.entry,
            change_reason=reason,
        )
    # results that match no batch record: an engineering run and a mistyped reference
    unlinkable = [
        ("ENG-RUN-2026-07", "ENG-RUN-2026-07-D03"),
        ("CART-2025-9999", "CART-2025-9999-D01"),
    ]
    if site.site_id == "BSL":
        unlinkable = [("TRIAL-BSL-03", "TRIAL_BSL_03_D02")]
    template = next((r for r in results if r.parameter_id == "viability"), None)
    if template is not None:
        for ref, sid in unlinkable:
            counter[0] += 1
            when = plant.batches[len(plant.batches) // 2].start + timedelta(hours=30)
            r = replace(
                template,
                batch_id="",
                batch_ref=ref,
                sample_id=sid,
                sample_point="IPC",
                sampled_at=when,
                entered_at=when + timedelta(hours=2),
                approved_at=when + timedelta(hours=20),
                spec_min="",
                spec_max="",
                replicate=1,
                amendment=None,
                cancelled=False,
            )
            out.append((r, counter[0]))
            manifest.add(
                "lims_unlinkable", "lims", site.site_id, None, batch_ref=ref, sample_id=sid
            )
    return out


def _wrong_entry(entry: str) -> str:
    """A plausible typo: swap the last two digits, or shift the decimal point."""
    digits = [i for i, ch in enumerate(entry) if ch.isdigit()]
    if len(digits) >= 2 and entry[digits[-1]] != entry[digits[-2]]:
        a, b = digits[-2], digits[-1]
        chars = list(entry)
        chars[a], chars[b] = chars[b], chars[a]
        return "".join(chars)
    return f"{float(entry) * 10:.2f}"


def _write_lims(
    site: Site,
    results: list[tuple[LabResult, int]],
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
) -> None:
    tz = site.timezone
    first = min(r.entered_at for r, _ in results) - timedelta(days=1)
    extracts = lims.render_extracts(results, first, plant.extract_at, tz, site.lims_times)
    folder = landing / "lims" / site.site_id
    paths = lims.write_extracts(folder, site.site_id, tz, extracts)
    # locate the planted items in the files they ended up in
    texts = {p: p.read_text(encoding="utf-8") for p in paths}
    for item in manifest.items:
        if item["system"] != "lims" or item["site_id"] != site.site_id or item["path"]:
            continue
        needle = item["detail"]["sample_id"]
        item["detail"]["files"] = [manifest.rel(p) for p, t in texts.items() if needle in t]
        item["path"] = item["detail"]["files"][0] if item["detail"]["files"] else None
    refs = sorted(
        {(r.batch_id, r.batch_ref) for r, _ in results if r.batch_id and r.batch_ref != r.batch_id}
    )
    for batch_id, ref in refs:
        where = [manifest.rel(p) for p, t in texts.items() if f",{ref}," in t]
        if where:
            manifest.add(
                "lims_batch_ref_variant",
                "lims",
                site.site_id,
                Path(manifest.out / where[0]),
                batch_id=batch_id,
                batch_ref=ref,
            )
    censored = [
        (p, line)
        for p, t in texts.items()
        for line in t.splitlines()
        if ",<0.50," in line or ",ND," in line or ",Negative," in line
    ]
    for p, line in censored[:6]:
        fields = next(csv.reader([line]))
        manifest.add(
            "lims_censored",
            "lims",
            site.site_id,
            p,
            sample_id=fields[1],
            component=fields[6],
            entry=fields[9],
        )
    if site.site_id == "BOS" and paths:
        # a misconfigured extract job wrote the LabWare column names of another report
        src = paths[0]
        lines = src.read_bytes().decode("utf-8").split("\r\n")
        lines[0] = lines[0].replace("SAMPLE_NUMBER", "SAMPLE_NO").replace("TEXT_ID", "TEXTID")
        bad = folder / (src.stem + "_rerun.csv")
        bad.write_bytes("\r\n".join(lines).encode("utf-8"))
        manifest.add(
            "malformed_file",
            "lims",
            site.site_id,
            bad,
            problem="wrong header: SAMPLE_NO/TEXTID instead of SAMPLE_NUMBER/TEXT_ID",
            retried_as=manifest.rel(src),
        )


def _lab_truth(results: list[tuple[LabResult, int]], plant: PlantPlan) -> list[dict]:
    out = []
    for r, number in results:
        if r.entered_at > plant.extract_at or r.cancelled:
            continue
        out.append(
            {
                "batch_id": r.batch_id,
                "sample_number": number,
                "sample_id": r.sample_id,
                "sample_point": r.sample_point,
                "parameter_id": r.parameter_id,
                "replicate": r.replicate,
                "entry": r.entry,
                "censor": r.censor,
                "value": "" if r.canonical_value is None else repr(float(r.canonical_value)),
                "sampled_at_utc": _iso(r.sampled_at),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Custody
# ---------------------------------------------------------------------------------------------


def _write_custody(
    site: Site,
    events: list[custody.CustodyEvent],
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
) -> None:
    rng = _rng(plant.seed, f"custody-{site.site_id}")
    events = list(events)
    by_coi: dict[str, list[custody.CustodyEvent]] = defaultdict(list)
    for e in events:
        by_coi[e.coi_id].append(e)
    received = sorted(
        c
        for c, evs in by_coi.items()
        if any(e.event_type == "RECEIVED_AT_MANUFACTURING" for e in evs)
    )
    planted: dict[str, tuple[str, custody.CustodyEvent]] = {}
    if received:
        picks = list(rng.permutation(received))
        gap, excursion, unsigned = (picks * 3)[:3]
        for kind, coi, etype in (
            ("custody_gap", gap, "RECEIVED_AT_MANUFACTURING"),
            ("custody_temperature_excursion", excursion, "SHIPPED_TO_MANUFACTURING"),
            ("custody_unsigned_handoff", unsigned, "RECEIVED_AT_MANUFACTURING"),
        ):
            target = next((e for e in events if e.coi_id == coi and e.event_type == etype), None)
            if target is None:  # a tiny plant: the one chain already carries another item
                continue
            k = events.index(target)
            if kind == "custody_gap":
                events.pop(k)
            elif kind == "custody_temperature_excursion":
                events[k] = replace(
                    target, temperature_c=14.6, notes="Logger alarm: above 8 C for 3 h in transit"
                )
            else:
                events[k] = replace(target, signed_by="")
            planted[kind] = (coi, target)
    folder = landing / "custody" / site.site_id
    folder.mkdir(parents=True, exist_ok=True)
    by_month: dict[str, list[custody.CustodyEvent]] = defaultdict(list)
    for e in events:
        by_month[f"{e.at:%Y%m}"].append(e)
    paths = {}
    for month, evs in sorted(by_month.items()):
        path = folder / f"custody_events_{site.site_id}_{month}.csv"
        path.write_bytes(custody.render(evs).encode("utf-8"))
        paths[month] = path
    for kind, (coi, target) in planted.items():
        month = f"{target.at:%Y%m}"
        manifest.add(
            kind,
            "custody",
            site.site_id,
            paths.get(month),
            coi_id=coi,
            event_type=target.event_type,
            event_time_utc=_iso(target.at),
        )
    if site.site_id == "BSL" and paths:
        src = next(iter(paths.values()))
        bad = folder / f"{src.stem}_partial.csv"
        bad.write_bytes(mess.truncate(src.read_bytes(), 0.6))
        manifest.add(
            "malformed_file",
            "custody",
            site.site_id,
            bad,
            problem="truncated CSV (last row cut mid-field)",
            retried_as=manifest.rel(src),
        )


# ---------------------------------------------------------------------------------------------
# Historian
# ---------------------------------------------------------------------------------------------

HISTORIAN_MESS = {
    "BOS": (
        "digital_state:I/O Timeout",
        "digital_state:Bad Input",
        "quality:Bad",
        "quality:Questionable",
        "quality:Substituted",
        "spike:temperature",
        "shuffle",
        "overlap",
        "repeat",
        "truncate",
    ),
    "BSL": (
        "digital_state:Shutdown",
        "digital_state:I/O Timeout",
        "quality:Bad",
        "quality:Questionable",
        "spike:ph",
        "shuffle",
        "overlap",
        "repeat",
    ),
}


def _core_days(plant: PlantPlan, plan_site: Site, site: Site) -> list[tuple[str, date]]:
    """Export keys (bioreactor, day) fully inside a culture: where mess is planted."""
    keys = []
    for b in plant.batches:
        if b.site is not plan_site:
            continue
        start = b.culture.start + timedelta(hours=24)
        end = min(b.culture_end, plant.extract_at) - timedelta(hours=24)
        t = start
        while t < end:
            day = historian.day_of(site, np.array([epoch_minute(t)]))[0]
            keys.append((b.culture.equipment_id, day))
            t += timedelta(days=1)
    return sorted(set(keys))


def _write_historian(
    plant: PlantPlan,
    titers: dict[str, float],
    landing: Path,
    manifest: Manifest,
    historian_format: str | None = None,
) -> tuple[pd.DataFrame, int]:
    truths: list[pd.DataFrame] = []
    total_rows = 0
    extract_minute = epoch_minute(plant.extract_at)
    for plan_site in SITES:
        # batches are matched on the plan's site; files are written as `site` exports them
        site = plan_site
        if historian_format is not None:
            site = replace(plan_site, historian_format=historian_format)
        rng = _rng(plant.seed, f"historian-{site.site_id}")
        core = _core_days(plant, plan_site, site)
        kinds = HISTORIAN_MESS[site.site_id]
        picks = rng.choice(len(core), size=min(len(kinds), len(core)), replace=False)
        targets: dict[tuple[str, date], list[str]] = defaultdict(list)
        for kind, p in zip(kinds, picks, strict=False):
            targets[core[int(p)]].append(kind)
        folder = landing / "historian" / site.site_id
        folder.mkdir(parents=True, exist_ok=True)
        site_batches = [
            b for b in plant.batches if b.site is plan_site and b.start <= plant.extract_at
        ]
        equipment = sorted({eq for b in site_batches for eq in _equipment_of(b)})
        unmapped_seen: set[str] = set()
        for eq in equipment:
            pending: dict[date, list[pd.DataFrame]] = {}
            carry: pd.DataFrame | None = None  # tail of a day that gets an overlapping export
            for b in sorted(
                (b for b in site_batches if eq in _equipment_of(b)), key=lambda b: b.start
            ):
                run = simulate_batch(b, titers)
                for use in equipment_uses(run):
                    if use.equipment_id != eq:
                        continue
                    rows = historian.use_rows(site, use, epoch_minute(b.start), extract_minute)
                    if rows.empty:
                        continue
                    first_day = None
                    for key, frame in historian.split_days(site, eq, rows):
                        first_day = first_day or key.day
                        pending.setdefault(key.day, []).append(frame)
                    for day in sorted(d for d in pending if d < first_day):
                        n, carry = _flush_day(
                            site,
                            eq,
                            day,
                            pending.pop(day),
                            folder,
                            targets,
                            rng,
                            manifest,
                            truths,
                            carry,
                        )
                        total_rows += n
            for day in sorted(pending):
                n, carry = _flush_day(
                    site, eq, day, pending.pop(day), folder, targets, rng, manifest, truths, carry
                )
                total_rows += n
            if eq.startswith("BR-"):
                unmapped_seen |= {
                    historian.format_tag(site, t, eq) for t, _, _ in site.unmapped_tags
                }
        manifest.add(
            "historian_unmapped_tag", "historian", site.site_id, None, tags=sorted(unmapped_seen)
        )
    truth = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()
    return _hourly_means(truth), total_rows


def _hourly_means(truth: pd.DataFrame) -> pd.DataFrame:
    """Sums and counts per export file -> the mean per batch, parameter and elapsed hour (an
    hour can straddle two files: add up sums and counts, then divide)."""
    if truth.empty:
        return truth
    truth = truth.groupby(["batch_id", "parameter_id", "hour"], sort=True)[["sum", "count"]].sum()
    truth = truth.assign(mean=truth["sum"] / truth["count"]).reset_index()
    return truth[["batch_id", "parameter_id", "hour", "mean", "count"]]


def _equipment_of(b: BatchPlan) -> set[str]:
    return {p.equipment_id for p in b.phases if p.equipment_id.startswith(("BR-", "INC-"))}


def _flush_day(
    site: Site,
    eq: str,
    day: date,
    frames: list[pd.DataFrame],
    folder: Path,
    targets: dict,
    rng: np.random.Generator,
    manifest: Manifest,
    truths: list[pd.DataFrame],
    carry: pd.DataFrame | None,
) -> tuple[int, pd.DataFrame | None]:
    """Write one export file (plus any planted copies); return rows written and the carry."""
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.sort_values(["minute", "tag"], kind="stable").reset_index(drop=True)
    key = historian.ExportKey(site.site_id, eq, day)
    path = folder / key.file_name(site)
    kinds = targets.get((eq, day), [])
    details: list[tuple[str, dict]] = []
    for kind in kinds:
        name, _, arg = kind.partition(":")
        if name == "digital_state":
            details.append(("historian_digital_state", mess.digital_state(frame, rng, arg)))
        elif name == "quality":
            details.append((f"historian_quality_{arg.lower()}", mess.quality_flag(frame, rng, arg)))
        elif name == "spike":
            details.append(("historian_spike", mess.spike(frame, rng, arg)))
    written = frame
    if "shuffle" in kinds:
        written, detail = mess.shuffle_block(frame, rng)
        details.append(("historian_out_of_order", detail))
    historian.write_export(path, site, written)
    rows = len(frame)
    truths.append(historian.hourly_truth(frame))
    for kind, detail in details:
        manifest.add(kind, "historian", site.site_id, path, equipment_id=eq, **detail)
    if site.historian_format == "csv":
        ambiguous = historian.ambiguous_local_rows(site, frame)
        if ambiguous:
            manifest.add(
                "historian_dst_ambiguous",
                "historian",
                site.site_id,
                path,
                equipment_id=eq,
                rows=ambiguous,
                timezone=site.timezone,
            )
    new_carry = None
    if carry is not None:
        head = frame[frame["minute"] < frame["minute"].min() + 240]
        both = pd.concat([carry, head], ignore_index=True)
        late = folder / (path.stem + "_late" + path.suffix)
        historian.write_export(late, site, both)
        rows += len(both)
        manifest.add(
            "historian_overlap",
            "historian",
            site.site_id,
            late,
            equipment_id=eq,
            rows=len(both),
            repeats_rows_of=[manifest.rel(path)],
        )
    if "overlap" in kinds:
        new_carry = frame[frame["minute"] >= frame["minute"].max() - 239]
    if "repeat" in kinds:
        copy = folder / (
            f"{path.stem} (1){path.suffix}"
            if site.historian_format == "csv"
            else f"{path.stem}-resent{path.suffix}"
        )
        data = path.read_bytes()
        copy.write_bytes(data)
        rows += len(frame)
        manifest.add(
            "historian_repeated_file",
            "historian",
            site.site_id,
            copy,
            equipment_id=eq,
            same_bytes_as=manifest.rel(path),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    if "truncate" in kinds:
        bad = folder / f"{path.stem}_attempt1{path.suffix}"
        bad.write_bytes(mess.truncate(path.read_bytes()))
        manifest.add(
            "malformed_file",
            "historian",
            site.site_id,
            bad,
            problem="truncated CSV (export stopped mid-row)",
            retried_as=manifest.rel(path),
        )
    return rows, new_carry


# ---------------------------------------------------------------------------------------------
# Manifest and truth
# ---------------------------------------------------------------------------------------------


def _batch_summary(run: BatchRun, plant: PlantPlan) -> dict:
    plan = run.plan
    if plan.start > plant.extract_at:
        state = "planned"
    elif plan.end > plant.extract_at:
        state = "in_progress"
    elif plan.release_at > plant.extract_at:
        state = "in_review"
    else:
        state = "released" if records.cqa_pass(run) else "rejected"
    fault = None
    if plan.fault is not None:
        fault = {
            "type": plan.fault.fault_type,
            "onset_utc": _iso(plan.fault.onset),
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
        "start_utc": _iso(plan.start),
        "end_utc": _iso(plan.end),
        "culture_start_utc": _iso(plan.culture.start),
        "culture_end_utc": _iso(plan.culture_end),
        "release_at_utc": _iso(plan.release_at),
        "phases": [
            {
                "phase": p.phase,
                "equipment_id": p.equipment_id,
                "start_utc": _iso(p.start),
                "end_utc": _iso(p.end),
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


def _write_truth(folder: Path, traj: pd.DataFrame, lab: list[dict], inst: list[dict]) -> None:
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


def _manifest_doc(
    plant: PlantPlan,
    batches: list[dict],
    manifest: Manifest,
    historian_rows: int,
    n_batches: int,
    fault_fraction: float,
    landing: Path,
) -> dict:
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
            "version": GENERATOR_VERSION,
            "seed": plant.seed,
            "batches": n_batches,
            "start": plant.start_date.isoformat(),
            "fault_fraction": fault_fraction,
            "extract_at_utc": _iso(plant.extract_at),
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


__all__ = ["DEFAULT_START", "generate"]
