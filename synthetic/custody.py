"""Chain-of-identity / chain-of-custody events (vein to vein), as the custody platform exports."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from synthetic import mess
from synthetic.catalogue import ALLO, CART, Site
from synthetic.manifest import Manifest, iso_utc, purpose_rng
from synthetic.plan import BatchPlan, PlantPlan, batch_rng

CUSTODY_HEADER = [
    "COI_ID",
    "EVENT_TYPE",
    "EVENT_TIME",
    "LOCATION",
    "CUSTODIAN",
    "SIGNED_BY",
    "CONTAINER_ID",
    "TEMPERATURE_C",
    "NOTES",
]

COLLECTION_CENTRES = {
    "BOS": ("Mass General Apheresis Unit", "Dana-Farber Cell Collection", "Yale Apheresis Center"),
    "BSL": (
        "Universitaetsspital Basel Apherese",
        "CHUV Lausanne Aphérèse",
        "Charité Berlin Apherese",
    ),
}
TREATMENT_CENTRES = {
    "BOS": ("Mass General Cancer Center", "Dana-Farber Cancer Institute", "Yale Cancer Center"),
    "BSL": ("Universitaetsspital Basel", "CHUV Lausanne", "Charité Berlin"),
}


@dataclass(frozen=True)
class CustodyEvent:
    coi_id: str
    event_type: str
    at: datetime  # UTC
    location: str
    custodian: str
    signed_by: str
    container_id: str
    temperature_c: float | None
    notes: str = ""

    def row(self) -> list[str]:
        return [
            self.coi_id,
            self.event_type,
            self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.location,
            self.custodian,
            self.signed_by,
            self.container_id,
            "" if self.temperature_c is None else f"{self.temperature_c:.1f}",
            self.notes,
        ]


def chain(plan: BatchPlan, released: bool) -> list[CustodyEvent]:
    """Every custody event of the batch's COI, in true time order (not yet cut at extract)."""
    if plan.coi_id is None:
        return []
    rng = batch_rng(plan.seed, plan.index, "custody")
    site = plan.site
    site_name = site.name
    coi = plan.coi_id
    bag = f"BAG-{plan.index:05d}"
    dewar = f"DWR-{int(rng.integers(100, 999))}"
    ops = plan.operators

    def t(hours: float) -> datetime:
        return plan.start + timedelta(hours=hours + float(rng.uniform(-0.3, 0.3)))

    events: list[CustodyEvent] = []
    if plan.process is CART:
        centre = str(rng.choice(COLLECTION_CENTRES[site.site_id]))
        events += [
            CustodyEvent(
                coi,
                "APHERESIS_COLLECTED",
                t(-42),
                centre,
                centre,
                "rn.collector",
                bag,
                round(float(rng.uniform(18, 24)), 1),
            ),
            CustodyEvent(
                coi,
                "SHIPPED_TO_MANUFACTURING",
                t(-38),
                centre,
                "World Courier",
                "wc.driver",
                bag,
                round(float(rng.uniform(3, 7)), 1),
            ),
            CustodyEvent(
                coi,
                "RECEIVED_AT_MANUFACTURING",
                t(-3),
                site_name,
                site_name,
                ops[0],
                bag,
                round(float(rng.uniform(3, 7)), 1),
            ),
        ]
    events.append(
        CustodyEvent(
            coi, "MANUFACTURING_STARTED", plan.start, site_name, site_name, ops[1], bag, None
        )
    )
    end_h = (plan.end - plan.start).total_seconds() / 3600.0
    events.append(
        CustodyEvent(
            coi,
            "CRYOPRESERVED",
            t(end_h),
            site_name,
            site_name,
            ops[2],
            f"CRYO-{plan.index:05d}",
            round(float(rng.uniform(-192, -185)), 1),
        )
    )
    if not released:
        return events
    rel_h = (plan.release_at - plan.start).total_seconds() / 3600.0
    treat = str(rng.choice(TREATMENT_CENTRES[site.site_id]))
    events += [
        CustodyEvent(
            coi,
            "RELEASED",
            t(rel_h),
            site_name,
            site_name,
            "qa.release",
            f"CRYO-{plan.index:05d}",
            None,
        ),
        CustodyEvent(
            coi,
            "SHIPPED_TO_SITE",
            t(rel_h + 20),
            site_name,
            "Cryoport",
            "cp.driver",
            dewar,
            round(float(rng.uniform(-190, -180)), 1),
        ),
        CustodyEvent(
            coi,
            "RECEIVED_AT_SITE",
            t(rel_h + 44),
            treat,
            treat,
            "pharm.receiver",
            dewar,
            round(float(rng.uniform(-188, -176)), 1),
        ),
    ]
    if plan.process is CART:
        events += [
            CustodyEvent(
                coi,
                "THAWED",
                t(rel_h + 116),
                treat,
                treat,
                "pharm.receiver",
                f"CRYO-{plan.index:05d}",
                round(float(rng.uniform(36, 38)), 1),
            ),
            CustodyEvent(
                coi,
                "INFUSED",
                t(rel_h + 117),
                treat,
                treat,
                "md.infusion",
                f"CRYO-{plan.index:05d}",
                None,
            ),
        ]
    elif plan.process is ALLO:
        events[-1] = replace(events[-1], notes="Lot received into distribution inventory")
    return events


def render(events: list[CustodyEvent]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CUSTODY_HEADER)
    for e in sorted(events, key=lambda e: (e.at, e.coi_id, e.event_type)):
        writer.writerow(e.row())
    return buf.getvalue()


def write_site(
    site: Site,
    events: list[CustodyEvent],
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
) -> None:
    """A site's monthly custody exports with the planted chain problems (a missing step, a
    temperature excursion, an unsigned hand-off) and, where the site has it, a cut export."""
    rng = purpose_rng(plant.seed, f"custody-{site.site_id}")
    events = list(events)
    by_coi: dict[str, list[CustodyEvent]] = defaultdict(list)
    for e in events:
        by_coi[e.coi_id].append(e)
    received = sorted(
        c
        for c, evs in by_coi.items()
        if any(e.event_type == "RECEIVED_AT_MANUFACTURING" for e in evs)
    )
    planted: dict[str, tuple[str, CustodyEvent]] = {}
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
    by_month: dict[str, list[CustodyEvent]] = defaultdict(list)
    for e in events:
        by_month[f"{e.at:%Y%m}"].append(e)
    paths = {}
    for month, evs in sorted(by_month.items()):
        path = folder / f"custody_events_{site.site_id}_{month}.csv"
        path.write_bytes(render(evs).encode("utf-8"))
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
            event_time_utc=iso_utc(target.at),
        )
    if site.custody_partial_export and paths:
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
