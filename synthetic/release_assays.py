"""Release assays of CAR-T and vector batches as the lab's instruments export them.

CAR-T final product: vector copy number by digital PCR (a QIAcuity plate, duplex WPRE vector
target / RPP30 reference gene, two wells per sample) and CAR expression by flow cytometry (a
FlowJo workspace: Lymphocytes > Single Cells > Live cells > CD3+ > CAR+). Vector lots: the
functional titer by flow cytometry on transduced HEK293T cells (Cells > Single Cells > Live
cells > CAR+; 1e5 cells take 0.5 uL of vector, so TU/mL = 2e8 x CAR+ / live).

The values follow from the batch's outcome (`vcn`, `transduction_efficiency`,
`vector_titer`) through each assay's own sampling (partitions in dPCR, events in flow), and
what the LIMS reports is computed from these files (`ReleaseAssays.measured`): the file, the
derived result in `fct_lab_result` and the LIMS result agree as they do in a lab.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

import numpy as np

from synthetic.catalogue import CART, LVV, SPECIFICATIONS, Site
from synthetic.instruments import local_day, local_time
from synthetic.lab import sample_id
from synthetic.manifest import Manifest
from synthetic.plan import batch_rng
from synthetic.series import BatchRun

DPCR_VENDOR = "qiacuity_dpcr"
FLOW_VENDOR = "flowjo"
PARTITION_UL = 0.000838  # QIAcuity 26k nanoplate: volume of one partition
VECTOR_TARGET, REFERENCE_TARGET = "WPRE", "RPP30"  # RPP30: two copies per diploid cell
TITER_FACTOR = 2.0e8  # TU/mL per (CAR+ / live) at 1e5 cells and 0.5 uL of vector

CART_GATES = ("Lymphocytes", "Single Cells", "Live cells", "CD3+", "CAR+")
TITER_GATES = ("Cells", "Single Cells", "Live cells", "CAR+")

# (vendor, field, parameter, target) rows the demo site's onboarding gives these assays
INSTRUMENT_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    (DPCR_VENDOR, "number concentration", "vector_copies", VECTOR_TARGET),
    (DPCR_VENDOR, "number concentration", "reference_copies", REFERENCE_TARGET),
    (FLOW_VENDOR, "count", "flow_single_cells", "/".join(CART_GATES[:2])),
    (FLOW_VENDOR, "count", "flow_live_cells", "/".join(CART_GATES[:3])),
    (FLOW_VENDOR, "count", "flow_cd3_cells", "/".join(CART_GATES[:4])),
    (FLOW_VENDOR, "count", "flow_car_cd3_cells", "/".join(CART_GATES)),
    (FLOW_VENDOR, "count", "flow_titer_live_cells", "/".join(TITER_GATES[:3])),
    (FLOW_VENDOR, "count", "flow_titer_car_cells", "/".join(TITER_GATES)),
)
DERIVED_PARAMETERS: tuple[tuple[str, str, str, float], ...] = (
    ("vcn", "vector_copies", "reference_copies", 2.0),
    ("transduction_efficiency", "flow_car_cd3_cells", "flow_cd3_cells", 100.0),
    ("viability", "flow_live_cells", "flow_single_cells", 100.0),
    ("vector_titer", "flow_titer_car_cells", "flow_titer_live_cells", TITER_FACTOR),
)
_PARAMETER = {(v, t): p for v, _f, p, t in INSTRUMENT_FIELDS}


@dataclass(frozen=True)
class Reaction:
    """One dPCR well and target: what the plate reader counted."""

    sample_id: str
    role: str  # Sample / Control / Non Template Control
    replicate: int  # the sample's well: targets of one duplex well share it
    target: str
    valid: int
    positive: int

    @property
    def concentration(self) -> str:
        """copies/uL as the software writes it (4 significant digits)."""
        if self.positive == 0:
            return "0"
        lam = -math.log(1.0 - self.positive / self.valid)
        return f"{lam / PARTITION_UL:.4g}"


@dataclass(frozen=True)
class Tube:
    """One flow-cytometry tube: its specimen and the events in each gate, root first."""

    sample_id: str
    tube_name: str
    gates: tuple[str, ...]
    counts: tuple[int, ...]  # all events, then one per gate
    at: datetime  # acquisition start (UTC, whole seconds: the FCS $BTIM)


@dataclass
class ReleaseAssays:
    """One batch's release assays: its dPCR wells (run at `pcr_at`), its flow tubes, what they
    measured per (sample point, parameter) and the truth rows of their readings."""

    batch_id: str
    vector_added: str = ""  # an overdosed batch: what was added against the set-point
    pcr_at: datetime | None = None
    reactions: list[Reaction] = field(default_factory=list)
    tubes: list[Tube] = field(default_factory=list)
    measured: dict[tuple[str, str], float] = field(default_factory=dict)
    truth: list[dict] = field(default_factory=list)


def _dpcr_wells(rng: np.random.Generator, sid: str, role: str, copies: dict[str, float]):
    """Two wells of a duplex reaction: each target's positives from the Poisson occupancy."""
    for replicate in (1, 2):
        valid = int(rng.integers(25380, 25520))
        for target, conc in copies.items():
            p = 1.0 - math.exp(-conc * float(rng.lognormal(0.0, 0.03)) * PARTITION_UL)
            yield Reaction(sid, role, replicate, target, valid, int(rng.binomial(valid, p)))


def _in_lab_hours(at: datetime, tz: str, rng: np.random.Generator) -> datetime:
    """The run as the QC lab does it: a sample ready after hours waits for the next morning."""
    at = at.replace(microsecond=0)
    local = at.astimezone(ZoneInfo(tz))
    if 8 <= local.hour < 16:
        return at
    day = local.date() + timedelta(days=1 if local.hour >= 16 else 0)
    start = datetime(day.year, day.month, day.day, 8, 30, tzinfo=ZoneInfo(tz))
    return (start + timedelta(minutes=int(rng.integers(0, 240)))).astimezone(at.tzinfo)


def _gate_counts(rng: np.random.Generator, total: int, fractions: list[float]) -> tuple[int, ...]:
    counts = [total]
    for f in fractions:
        counts.append(int(rng.binomial(counts[-1], min(max(f, 0.0), 1.0))))
    return tuple(counts)


def assays(run: BatchRun) -> ReleaseAssays:
    """The release assays of one batch (none for allogeneic lots)."""
    plan = run.plan
    out = ReleaseAssays(plan.batch_id)
    if plan.vector_added_ml is not None:
        out.vector_added = (
            f"{plan.vector_added_ml} mL of vector added, set-point "
            f"{plan.setpoints.vector_volume_ml} mL"
        )
    rng = batch_rng(plan.seed, plan.index, "release-assays")
    tz = plan.site.timezone
    o = run.outcomes
    if plan.process is CART:
        sid = sample_id(plan.site, plan.batch_id, "FINAL")
        pcr_at = _in_lab_hours(plan.end + timedelta(hours=54 + float(rng.uniform(0, 8))), tz, rng)
        ref = float(rng.uniform(150.0, 400.0))  # reference-gene copies/uL from the DNA input
        out.pcr_at = pcr_at
        out.reactions = list(
            _dpcr_wells(
                rng, sid, "Sample", {VECTOR_TARGET: o["vcn"] * ref / 2.0, REFERENCE_TARGET: ref}
            )
        )
        mean = {
            t: float(np.mean([float(w.concentration) for w in out.reactions if w.target == t]))
            for t in (VECTOR_TARGET, REFERENCE_TARGET)
        }
        out.measured[("FINAL", "vcn")] = 2.0 * mean[VECTOR_TARGET] / mean[REFERENCE_TARGET]
        for w in out.reactions:
            param = _PARAMETER[(DPCR_VENDOR, w.target)]
            value = float(w.concentration)
            out.truth.append(_truth(run, sid, pcr_at, DPCR_VENDOR, param, w.target, value))

        flow_at = _in_lab_hours(plan.end + timedelta(hours=30 + float(rng.uniform(0, 8))), tz, rng)
        viability = o["final_viability"] / 100.0
        counts = _gate_counts(
            rng,
            int(rng.integers(48000, 52000)),
            [
                float(rng.uniform(0.62, 0.78)),
                float(rng.uniform(0.94, 0.98)),
                viability,
                float(rng.uniform(0.88, 0.97)),
                o["transduction_efficiency"] / 100.0,
            ],
        )
        _add_tube(out, run, Tube(sid, "CAR CD3 7-AAD", CART_GATES, counts, flow_at))
        out.measured[("FINAL", "transduction_efficiency")] = 100.0 * counts[5] / counts[4]
    elif plan.process is LVV:
        sid = sample_id(plan.site, plan.batch_id, "HARVEST")
        flow_at = _in_lab_hours(
            plan.culture_end + timedelta(hours=24 + float(rng.uniform(0, 8))), tz, rng
        )
        counts = _gate_counts(
            rng,
            int(rng.integers(29000, 31000)),
            [
                float(rng.uniform(0.85, 0.93)),
                float(rng.uniform(0.95, 0.99)),
                float(rng.uniform(0.90, 0.97)),
                o["vector_titer"] / TITER_FACTOR,
            ],
        )
        _add_tube(out, run, Tube(sid, "Titer HEK293T CAR", TITER_GATES, counts, flow_at))
        out.measured[("HARVEST", "vector_titer")] = TITER_FACTOR * counts[4] / counts[3]
    return out


def _add_tube(out: ReleaseAssays, run: BatchRun, tube: Tube) -> None:
    out.tubes.append(tube)
    for depth in range(1, len(tube.gates) + 1):
        target = "/".join(tube.gates[:depth])
        param = _PARAMETER.get((FLOW_VENDOR, target))
        if param:
            count = tube.counts[depth]
            out.truth.append(
                _truth(run, tube.sample_id, tube.at, FLOW_VENDOR, param, target, count)
            )


def _truth(
    run: BatchRun, sid: str, at: datetime, vendor: str, param: str, target: str, value: float
) -> dict:
    plan = run.plan
    return {
        "batch_id": plan.batch_id,
        "site_id": plan.site.site_id,
        "sample_id": sid,
        "vendor": vendor,
        "parameter_id": param,
        "measured_at_utc": at.isoformat(),
        "elapsed_h": round((at - plan.start).total_seconds() / 3600.0, 4),
        "value": value,
        "target": target,
    }


# ---------------------------------------------------------------------------------------------
# Vendor layouts
# ---------------------------------------------------------------------------------------------

QIACUITY_HEADER = (
    ",Sample/NTC/Control,Type,Plate ID,Reaction Mix,Target,IC,Control type,"
    "Concentration (copies/\u00b5L),CI (95%),Partitions (valid),Partitions (positive),"
    "Partitions (negative),Threshold"
)


def write_qiacuity(path: Path, plate_id: str, reactions: list[Reaction]) -> None:
    """QIAcuity Software Suite plate export: a `sep=` line, then one row per well and target
    (a duplex well has two rows); wells fill the plate column by column."""
    lines = ["sep=" + "," * 13, QIACUITY_HEADER]
    wells: dict[tuple[str, int], int] = {}
    for r in reactions:
        index = wells.setdefault((r.sample_id, r.replicate), len(wells))
        well = f"{'ABCDEFGH'[index % 8]}{index // 8 + 1}"
        positives = max(r.positive, 1)
        ci = 1.96 / math.sqrt(positives) * 100.0
        lines.append(
            ",".join(
                [
                    well,
                    r.sample_id,
                    r.role,
                    plate_id,
                    "VCN duplex",
                    r.target,
                    "-",
                    "-",
                    r.concentration,
                    f"{ci:.2f}%",
                    str(r.valid),
                    str(r.positive),
                    str(r.valid - r.positive),
                    f"{42.0 + 8.0 * (r.target == VECTOR_TARGET):.2f}",
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _gate_xml(kind: str, gate_id: str, parent_id: str | None, dims: tuple[str, str]) -> str:
    parent = f" gating:parent_id={quoteattr(parent_id)}" if parent_id else ""
    if kind == "polygon":
        vertices = "".join(
            f'<gating:vertex><gating:coordinate data-type:value="{x:.1f}" />'
            f'<gating:coordinate data-type:value="{y:.1f}" /></gating:vertex>'
            for x, y in ((30000, 20000), (180000, 25000), (200000, 150000), (40000, 120000))
        )
        body = (
            '<gating:PolygonGate eventsInside="1" userDefined="1" quadId="-1" '
            'gateResolution="256">'
            + "".join(
                f'<gating:dimension><data-type:fcs-dimension data-type:name="{d}" />'
                "</gating:dimension>"
                for d in dims
            )
            + vertices
            + "</gating:PolygonGate>"
        )
    else:
        body = (
            '<gating:RectangleGate eventsInside="1" userDefined="1" percentX="0" percentY="0">'
            f'<gating:dimension gating:min="1200.0" gating:max="250000.0">'
            f'<data-type:fcs-dimension data-type:name="{dims[0]}" /></gating:dimension>'
            f'<gating:dimension gating:min="10000.0" gating:max="260000.0">'
            f'<data-type:fcs-dimension data-type:name="{dims[1]}" /></gating:dimension>'
            "</gating:RectangleGate>"
        )
    return f'<Gate gating:id="{gate_id}"{parent}>{body}</Gate>'


GATING_ML = "http://www.isac-net.org/std/Gating-ML/v2.0"
SCHEMA_LOCATION = " ".join(
    f"{GATING_ML}/{ns} {GATING_ML}/gating/{xsd}.v2.0.xsd"
    for ns, xsd in (
        ("gating", "Gating-ML"),
        ("transformations", "Transformations"),
        ("datatypes", "DataTypes"),
    )
)

GATE_DIMENSIONS = {
    "Lymphocytes": ("polygon", ("FSC-A", "SSC-A")),
    "Cells": ("polygon", ("FSC-A", "SSC-A")),
    "Single Cells": ("polygon", ("FSC-A", "FSC-H")),
    "Live cells": ("rectangle", ("Comp-APC-Cy7-A", "FSC-A")),
    "CD3+": ("rectangle", ("Comp-BV421-A", "SSC-A")),
    "CAR+": ("rectangle", ("Comp-PE-A", "SSC-A")),
}


def _populations(tube: Tube, number: int, depth: int = 0, parent: str | None = None) -> str:
    if depth == len(tube.gates):
        return ""
    name = tube.gates[depth]
    gate_id = f"ID{number}{depth:02d}"
    kind, dims = GATE_DIMENSIONS[name]
    inner = _populations(tube, number, depth + 1, gate_id)
    return (
        f'<Population name={quoteattr(name)} annotation="" owningGroup="All Samples" '
        f'expanded="1" sortPriority="10" count="{tube.counts[depth + 1]}">'
        + _gate_xml(kind, gate_id, parent, dims)
        + (f"<Subpopulations>{inner}</Subpopulations>" if inner else "")
        + "</Population>"
    )


def write_flowjo(path: Path, tz: str, tubes: list[Tube], cytometer: str) -> None:
    """FlowJo 10 workspace (.wsp): per tube its FCS keywords (specimen `$SRC` = the sample id,
    acquisition `$DATE`/`$BTIM` on the cytometer's local clock) and its gating tree with each
    population's event count."""
    local = local_time(tubes[0].at, tz)
    samples = []
    for number, tube in enumerate(tubes, start=1):
        at = local_time(tube.at, tz)
        fcs = f"{tube.sample_id}_{tube.tube_name.replace(' ', '-')}_{number:03d}.fcs"
        keywords = {
            "$FIL": fcs,
            "$TOT": str(tube.counts[0]),
            "$SRC": tube.sample_id,
            "TUBE NAME": tube.tube_name,
            "EXPERIMENT NAME": f"Release flow {local:%Y-%m-%d}",
            "$DATE": f"{at:%d-%b-%Y}".upper(),
            "$BTIM": f"{at:%H:%M:%S}",
            "$ETIM": f"{at + timedelta(seconds=95):%H:%M:%S}",
            "$CYT": cytometer,
            "CREATOR": "BD FACSDiva Software Version 9.0",
        }
        samples.append(
            "<Sample>"
            f'<DataSet uri={quoteattr("file:/D:/FCS/" + fcs)} sampleID="{number}" />'
            "<Keywords>"
            + "".join(
                f"<Keyword name={quoteattr(k)} value={quoteattr(v)} />" for k, v in keywords.items()
            )
            + "</Keywords>"
            f'<SampleNode name={quoteattr(fcs)} annotation="" owningGroup="" expanded="1" '
            f'sortPriority="10" count="{tube.counts[0]}" sampleID="{number}">'
            f"<Subpopulations>{_populations(tube, number)}</Subpopulations>"
            "</SampleNode></Sample>"
        )
    saved = local_time(max(t.at for t in tubes), tz) + timedelta(minutes=20)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Workspace version="20.0" modDate="{saved:%a %b %d %H:%M:%S} {saved:%Y}" '
        'flowJoVersion="10.10.0" curGroup="All Samples" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" '
        'xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations" '
        'xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes" '
        # allotropy finds the Gating-ML namespaces in the schema location, as FlowJo writes it
        f'xsi:schemaLocation="{SCHEMA_LOCATION}" '
        f"nonAutoSaveFileName={quoteattr('file:/D:/FlowJo/' + path.name)}>\n"
        f'<Cytometers><Cytometer name="GENERIC" cyt={quoteattr(cytometer)} useFCS3="1" />'
        "</Cytometers>\n"
        "<SampleList>\n" + "\n".join(samples) + "\n</SampleList>\n</Workspace>\n"
    )
    path.write_text(text, encoding="utf-8")


VCN_LIMIT = next(
    hi
    for product, p, _pt, _lo, hi, _c in SPECIFICATIONS
    if product == CART.product_id and p == "vcn"
)


def write_site(
    site: Site,
    batches: list[ReleaseAssays],
    extract_at: datetime,
    landing: Path,
    manifest: Manifest,
) -> None:
    """A site's plates and workspaces, one per run day and assay, with the day's controls
    (a positive control and a no-template well on each plate; an unstained tube in each
    workspace), for the runs done by the extract. A VCN above its limit is a manifest item."""
    tz = site.timezone
    plates: dict[date, list[ReleaseAssays]] = defaultdict(list)  # the batches on each day's plate
    flows: dict[date, list[Tube]] = defaultdict(list)
    for b in batches:
        if b.pcr_at is not None and b.pcr_at <= extract_at:
            plates[local_day(b.pcr_at, tz)].append(b)
        for tube in b.tubes:
            if tube.at <= extract_at:
                flows[local_day(tube.at, tz)].append(tube)
    pcr_dir = landing / "instruments" / site.site_id / DPCR_VENDOR
    flow_dir = landing / "instruments" / site.site_id / FLOW_VENDOR
    for day, on_plate in sorted(plates.items()):
        reactions = [r for b in on_plate for r in b.reactions]
        rng = np.random.default_rng([int(day.strftime("%Y%m%d")), len(reactions)])
        controls = list(
            _dpcr_wells(
                rng, "PC-VCN-PLASMID", "Control", {VECTOR_TARGET: 250.0, REFERENCE_TARGET: 250.0}
            )
        )[:2] + [
            Reaction("NTC", "Non Template Control", 1, t, 25460, 0)
            for t in (VECTOR_TARGET, REFERENCE_TARGET)
        ]
        pcr_dir.mkdir(parents=True, exist_ok=True)
        path = pcr_dir / f"QIAcuity_{site.site_id}_{day:%Y%m%d}_VCN.csv"
        write_qiacuity(path, f"{site.site_id}{day:%y%m%d}", reactions + controls)
        for b in on_plate:
            vcn = b.measured[("FINAL", "vcn")]
            if vcn > VCN_LIMIT:
                manifest.add(
                    "lab_out_of_spec",
                    "instruments",
                    site.site_id,
                    path,
                    batch_id=b.batch_id,
                    sample_id=b.reactions[0].sample_id,
                    parameter_id="vcn",
                    value=round(vcn, 4),
                    spec_max=VCN_LIMIT,
                    cause=b.vector_added,
                )
    for day, tubes in sorted(flows.items()):
        flow_dir.mkdir(parents=True, exist_ok=True)
        path = flow_dir / f"Release_{site.site_id}_{day:%Y%m%d}.wsp"
        tubes = sorted(tubes, key=lambda t: (t.at, t.sample_id))
        first = tubes[0]
        rng = np.random.default_rng([int(day.strftime("%Y%m%d")), len(tubes)])
        # an unstained tube: cells in the scatter and viability gates, none stained positive
        scatter = _gate_counts(rng, 20000, [0.7, 0.96, 0.9])
        unstained = Tube(
            "UNSTAINED-CONTROL",
            "Unstained",
            first.gates,
            (*scatter, *[0] * (len(first.gates) + 1 - len(scatter))),
            first.at - timedelta(minutes=10),  # run first, to set the gates
        )
        write_flowjo(path, tz, [unstained, *tubes], f"FACSLyric-{site.site_id}")
