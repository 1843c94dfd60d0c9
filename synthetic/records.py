"""Electronic batch records (MES), one JSON document per record version.

Version 1 is exported when manufacturing ends (or, for a running batch, as it stands at the
extract); version 2 when QA disposes the batch. Every version is a separate file
(`write_batch_records`, with the site's planted mess).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from synthetic import mess
from synthetic.catalogue import CART, LVV, SPECIFICATIONS
from synthetic.manifest import Manifest
from synthetic.plan import QA_APPROVERS, PhasePlan, PlantPlan, batch_rng
from synthetic.series import BatchRun

FAULT_DEVIATIONS = {
    "do_control_loss": (
        "major",
        "DO control lost: O2 sparge valve not responding; DO below "
        "alarm limit. Valve reset by maintenance.",
    ),
    "temperature_excursion": (
        "major",
        "Culture temperature above high alarm limit; heating jacket controller fault.",
    ),
    "feed_failure": ("minor", "Feed pump stopped; discovered at daily walk-down."),
    "temperature_drift": (
        "minor",
        "Culture temperature found below set-point at walk-down; jacket cooling valve passing.",
    ),
}


def _iso(t: datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def cqa_pass(run: BatchRun) -> bool:
    """Disposition from the specifications (the LIMS values QA looks at)."""
    o = run.outcomes
    value = {
        ("FINAL", "viability"): o.get("final_viability"),
        ("HARVEST", "harvest_tvc"): o.get("harvest_tvc"),
        ("FINAL", "transduction_efficiency"): o.get("transduction_efficiency"),
        ("FINAL", "vcn"): o.get("vcn"),
        ("HARVEST", "vector_titer"): o.get("vector_titer"),
    }
    for product, pid, point, lo, hi, crit in SPECIFICATIONS:
        if product != run.plan.process.product_id or crit != "CQA":
            continue
        v = value.get((point, pid))
        if v is None:
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return False
    return True


def deviations(run: BatchRun, extra: bool) -> list[dict]:
    plan = run.plan
    tz = plan.site.timezone
    rng = batch_rng(plan.seed, plan.index, "deviations")
    out = []
    if plan.fault is not None and rng.uniform() < 0.75:
        cls, text = FAULT_DEVIATIONS[plan.fault.fault_type]
        opened = plan.fault.onset + timedelta(hours=float(rng.uniform(1.0, 4.0)))
        out.append(
            {
                "id": f"DEV-{plan.site.site_id}-{1000 + plan.index}",
                "classification": cls,
                "phase": plan.culture.phase,
                "opened_at": _iso(opened, tz),
                "description": text,
            }
        )
    if extra:
        opened = plan.culture.start + timedelta(hours=50)
        out.append(
            {
                "id": f"DEV-{plan.site.site_id}-{5000 + plan.index}",
                "classification": "minor",
                "phase": plan.culture.phase,
                "opened_at": _iso(opened, tz),
                "description": "In-process sample taken 3 h outside the sampling window.",
            }
        )
    return out


def _parameters(run: BatchRun) -> list[dict]:
    plan = run.plan
    sp = plan.setpoints
    tz = plan.site.timezone
    at = _iso(plan.culture.start + timedelta(minutes=20), tz)
    by = plan.operators[0]
    seeding_unit = "1e6 cells/mL" if plan.site.site_id == "BOS" else "cells/mL"
    scale = 1.0 if seeding_unit == "1e6 cells/mL" else 1.0e6
    rows = [
        (
            "seeding_density",
            sp.seeding_density * scale,
            round(plan.culture_start.viable_density * scale, 3),
            seeding_unit,
        ),
        ("temperature", sp.temperature, sp.temperature, "degC"),
        ("ph", sp.ph, sp.ph, "pH"),
        ("dissolved_oxygen", sp.dissolved_oxygen, sp.dissolved_oxygen, "%"),
        ("agitation", sp.agitation, sp.agitation, "rpm"),
        (
            "feed_rate",
            round(sp.feed_rate * plan.culture_start.volume, 3),
            round(sp.feed_rate * plan.culture_start.volume, 3),
            "mL/h",
        ),
        ("feed_start", sp.feed_start_h, sp.feed_start_h, "h"),
    ]
    if plan.process is not LVV:
        rows.append(("harvest_day", sp.culture_days, sp.culture_days, "d"))
    if plan.process is CART:
        rows.append(("vector_volume", sp.vector_volume_ml, plan.vector_volume_added, "mL"))
    return [
        {
            "phase": plan.culture.phase,
            "name": n,
            "setpoint": s,
            "actual": a,
            "unit": u,
            "recorded_at": at,
            "recorded_by": by,
        }
        for n, s, a, u in rows
    ]


def _materials(run: BatchRun) -> list[dict]:
    plan = run.plan
    tz = plan.site.timezone
    rng = batch_rng(plan.seed, plan.index, "materials")
    t = plan.culture.start
    media_lot = f"MED-{plan.start:%y}-{int(rng.integers(1, 9)):03d}"
    out = [
        {
            "phase": plan.culture.phase,
            "material_id": "MEDIUM-SFM",
            "lot": media_lot,
            "quantity": round(plan.culture_start.volume, 2),
            "unit": "L",
            "consumed_at": _iso(t, tz),
        }
    ]
    if plan.process is CART:
        tr = next(p for p in plan.phases if p.phase == "Transduction")
        out.insert(
            0,
            {
                "phase": "Selection",
                "material_id": "APHERESIS",
                "lot": plan.coi_id,
                "quantity": 1,
                "unit": "bag",
                "consumed_at": _iso(plan.start, tz),
            },
        )
        out.append(
            {
                "phase": "Transduction",
                "material_id": "LVV-CD19",
                "lot": plan.vector_lot,
                "quantity": plan.vector_volume_added,
                "unit": "mL",
                "consumed_at": _iso(tr.start + timedelta(minutes=30), tz),
            }
        )
    elif plan.process.process_type == "allogeneic":
        out.insert(
            0,
            {
                "phase": "Thaw and seed",
                "material_id": "DCB-NK01",
                "lot": f"DCB-NK01-{plan.donor_id}",
                "quantity": 2,
                "unit": "vial",
                "consumed_at": _iso(plan.start, tz),
            },
        )
    else:
        tf = next(p for p in plan.phases if p.phase == "Transfection")
        for mid in ("PLASMID-TRANSFER-CD19", "PLASMID-PACKAGING", "PLASMID-VSVG"):
            out.append(
                {
                    "phase": "Transfection",
                    "material_id": mid,
                    "lot": f"{mid.split('-')[1][:4]}-{int(rng.integers(10, 14))}",
                    "quantity": round(float(rng.uniform(20, 30)), 1),
                    "unit": "mg",
                    "consumed_at": _iso(tf.start, tz),
                }
            )
    return out


def phase_entry(ph: PhasePlan, done: bool, tz: str) -> dict:
    """A phase as the batch record writes it (local times with offset; no end while open)."""
    return {
        "unit_procedure": ph.unit_procedure,
        "operation": ph.operation,
        "phase": ph.phase,
        "equipment_id": ph.equipment_id,
        "start": _iso(ph.start, tz),
        "end": _iso(ph.end, tz) if done else None,
    }


def batch_record(run: BatchRun, version: int, extract_at: datetime, extra_deviation: bool) -> dict:
    """The batch record as the MES would export it at `version` (1: after manufacturing,
    2: after QA disposition), with only what had happened by then."""
    plan = run.plan
    tz = plan.site.timezone
    as_of = min(extract_at, plan.end if version == 1 else plan.release_at)
    if version == 2:
        status = "released" if cqa_pass(run) else "rejected"
    elif plan.end <= extract_at:
        status = "in_review"
    else:
        status = "in_progress"
    phases = []
    signatures = []
    for k, ph in enumerate(plan.phases):
        if ph.start > as_of:
            break
        done = ph.end <= as_of
        phases.append(phase_entry(ph, done, tz))
        if done:
            signatures.append(
                {
                    "phase": ph.phase,
                    "signer": plan.operators[k % 3],
                    "meaning": "performed",
                    "signed_at": _iso(ph.end, tz),
                }
            )
            signatures.append(
                {
                    "phase": ph.phase,
                    "signer": plan.operators[(k + 1) % 3],
                    "meaning": "verified",
                    "signed_at": _iso(ph.end + timedelta(minutes=25), tz),
                }
            )
    if version == 2:
        signatures.append(
            {
                "phase": "Disposition",
                "signer": QA_APPROVERS[plan.site.site_id],
                "meaning": "approved" if status == "released" else "rejected",
                "signed_at": _iso(plan.release_at, tz),
            }
        )
    devs = [
        d
        for d in deviations(run, extra_deviation)
        if datetime.fromisoformat(d["opened_at"]) <= as_of
    ]
    aliases = {} if plan.lims_batch_ref == plan.batch_id else {"lims": plan.lims_batch_ref}
    return {
        "record_type": "batch_production_record",
        "schema_version": "1.0",
        "batch_id": plan.batch_id,
        "record_version": version,
        "last_changed_at": _iso(as_of, tz),
        "site_id": plan.site.site_id,
        "product_id": plan.process.product_id,
        "process_type": plan.process.process_type,
        "recipe": {"id": plan.process.recipe_id, "version": plan.process.recipe_version},
        "status": status,
        "aliases": aliases,
        "coi_id": plan.coi_id,
        "donor_id": plan.donor_id,
        "phases": phases,
        "parameters": _parameters(run),
        "materials": [
            m for m in _materials(run) if datetime.fromisoformat(m["consumed_at"]) <= as_of
        ],
        "signatures": signatures,
        "deviations": devs,
    }


def dump(record: dict) -> bytes:
    return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# what the reference's required_signatures.csv allows between a phase's end and its signature
SIGNATURE_WITHIN_H = 24.0
LATE_SIGNATURE_H = 72.0  # the planted late verification: three days after the phase


def signature_mess_batches(plant: PlantPlan) -> dict[str, str]:
    """Two clean, finished batches whose records carry a planted signature problem: one phase
    never verified ("missing"), one verified three days late ("late"); none on a tiny plant."""
    extra = extra_deviation_batch(plant)
    clean = [
        b
        for b in plant.batches
        if b.fault is None and b.end <= plant.extract_at and b.batch_id != extra
    ]
    return dict(zip([b.batch_id for b in clean[:2]], ("missing", "late"), strict=False))


def _plant_signature_mess(doc: dict, mess_kind: str) -> dict:
    """The record with the second phase's verification removed or signed late; returns what
    was done, for the manifest."""
    verified = [s for s in doc["signatures"] if s["meaning"] == "verified"]
    target = verified[min(1, len(verified) - 1)]
    if mess_kind == "missing":
        doc["signatures"].remove(target)
    else:
        signed = datetime.fromisoformat(target["signed_at"]) + timedelta(hours=LATE_SIGNATURE_H)
        target["signed_at"] = signed.isoformat()
    return {"phase": target["phase"], "meaning": target["meaning"]}


def extra_deviation_batch(plant: PlantPlan) -> str:
    """The clean, finished batch whose record carries one deviation no fault explains."""
    clean = [b for b in plant.batches if b.fault is None and b.end <= plant.extract_at]
    return clean[0].batch_id if clean else plant.batches[0].batch_id


def write_batch_records(
    run: BatchRun,
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
    extra_deviation: bool,
    signature_mess: str | None = None,
) -> None:
    """Every version of the batch's record the extract holds (v2 once it was released),
    and the site's planted mess: a first export that stopped part-way, a verification
    missing or signed late (`signature_mess`: "missing" or "late", in every version)."""
    plan = run.plan
    if plan.start > plant.extract_at:
        return
    folder = landing / "mes" / plan.site.site_id
    folder.mkdir(parents=True, exist_ok=True)
    versions = [1] + ([2] if plan.release_at <= plant.extract_at else [])
    for version in versions:
        doc = batch_record(run, version, plant.extract_at, extra_deviation)
        planted = _plant_signature_mess(doc, signature_mess) if signature_mess else None
        path = folder / f"{plan.batch_id}_v{version}.json"
        data = dump(doc)
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
        if version == versions[-1] and planted:
            manifest.add(
                f"mes_{signature_mess}_signature",
                "mes",
                plan.site.site_id,
                path,
                batch_id=plan.batch_id,
                **planted,
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
    if first_of_site and plan.site.mes_export_error:
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
