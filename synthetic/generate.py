"""`biotwin generate`: write a synthetic plant's landing zone, reference data and ground truth.

Output under `out/`:
    landing/<system>/<site>/...   raw extracts in the formats of docs/formats.md
    reference/*.csv               the plant's reference data
    manifest.json                 batches, faults, genealogy, and every planted mess item
    truth/*.csv                   ground truth: hourly process values, lab and instrument values

This module only orchestrates. Each `synthetic/<system>.py` writes its own files and plants its
own mess (what goes wrong at which site is the site's catalogue entry, synthetic/catalogue.py);
`synthetic/truth.py` writes the ground truth and the manifest.

Two passes keep memory bounded: pass 1 simulates batch by batch and writes batch records, lab
results, instrument files and custody events; pass 2 re-simulates equipment by equipment
(deterministically) and streams the historian exports day by day.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from synthetic import (
    custody,
    fedbatch,
    historian,
    instruments,
    lims,
    records,
    release_assays,
    truth,
)
from synthetic.catalogue import CRK, LVV, SITES
from synthetic.lab import LabResult, instrument_samples, lims_results
from synthetic.manifest import Manifest
from synthetic.plan import plan_plant
from synthetic.reference import write_reference
from synthetic.series import simulate_batch

GENERATOR_VERSION = "1.0"
DEFAULT_START = date(2026, 10, 19)  # both sites' DST fall-back (25 Oct, 1 Nov) in the period


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
    assays_by_site: dict[str, list[release_assays.ReleaseAssays]] = defaultdict(list)
    counters = {s.site_id: [10_000 * (1 + k)] for k, s in enumerate(SITES)}
    extra_deviation_batch = records.extra_deviation_batch(plant)
    signature_mess = records.signature_mess_batches(plant)

    ordered = sorted(plant.batches, key=lambda b: b.index)
    for done, plan in enumerate(ordered):
        if done % 10 == 0:
            say(f"batches simulated: {done}/{len(ordered)}")
        run = simulate_batch(plan, titers)
        if plan.process is LVV:
            titers[plan.batch_id] = run.outcomes["vector_titer"]
        released = plan.release_at <= plant.extract_at and records.cqa_pass(run)
        records.write_batch_records(
            run,
            plant,
            landing,
            manifest,
            plan.batch_id == extra_deviation_batch,
            signature_mess.get(plan.batch_id),
        )
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
        assays = release_assays.assays(run)
        assays_by_site[plan.site.site_id].append(assays)
        instrument_truth += [
            t
            for t in assays.truth
            if datetime.fromisoformat(t["measured_at_utc"]) <= plant.extract_at
        ]
        results = lims_results(run, counters[plan.site.site_id], assays.measured)
        lab_by_site[plan.site.site_id] += results
        events_by_site[plan.site.site_id] += [
            e for e in custody.chain(plan, released) if e.at <= plant.extract_at
        ]
        batch_truth.append(truth.batch_summary(run, plant))

    say(f"batches simulated: {len(ordered)}/{len(ordered)}; writing instruments, LIMS, custody")
    for site in SITES:
        instruments.write_site(
            site,
            samples_by_site[site.site_id],
            metabolites_by_site[site.site_id],
            plant,
            landing,
            manifest,
        )
        release_assays.write_site(
            site, assays_by_site[site.site_id], plant.extract_at, landing, manifest
        )
        results = lims.plant_mess(
            site, lab_by_site[site.site_id], plant, manifest, counters[site.site_id]
        )
        lab_truth += lims.lab_truth(results, plant)
        lims.write_site(site, results, plant, landing, manifest)
        custody.write_site(site, events_by_site[site.site_id], plant, landing, manifest)

    say("writing historian exports")
    traj_truth, historian_rows = historian.write_exports(
        plant, titers, landing, manifest, historian_format
    )
    n_fedbatch = fedbatch.batch_count(n_batches) if fedbatch_batches is None else fedbatch_batches
    if n_fedbatch:
        say(f"writing the third site (CRK): {n_fedbatch} fed-batch batches")
        first = min(b.start for b in plant.batches)
        third = fedbatch.write_site(landing, seed, first, plant.extract_at, n_fedbatch)
        lims.write_site(CRK, third.lab_results, plant, landing, manifest)
        lab_truth += lims.lab_truth(third.lab_results, plant)
        for kind, system, path, detail in third.items:
            manifest.add(kind, system, CRK.site_id, path, **detail)
        batch_truth += third.batches
        historian_rows += third.historian_rows
        traj_truth = pd.concat([traj_truth, historian.hourly_means(third.trajectory_truth)])
    write_reference(out / "reference")
    truth.write_truth(out / "truth", traj_truth, lab_truth, instrument_truth)
    doc = truth.manifest_doc(
        plant,
        batch_truth,
        manifest,
        historian_rows,
        n_batches,
        fault_fraction,
        landing,
        GENERATOR_VERSION,
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


__all__ = ["DEFAULT_START", "generate"]
