"""Instrument exports in the vendors' own formats, as the instrument software writes them.

Vi-CELL BLU (cell counts) at both sites; the metabolite analyzer differs by site: Roche Cedex
BioHT at BOS, Nova Bioprofile Flex2 at BSL. Timestamps are the instrument PC's wall clock
(naive local time), exactly the case allotropy reads as UTC unless given the site's zone.
The layouts follow the real exports in ../shared/instrument-examples/.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from synthetic.catalogue import Site
from synthetic.manifest import Manifest, purpose_rng
from synthetic.plan import PlantPlan

VICELL_HEADER = (
    '"Sample ID","Cell count","Viable cells","Total (x10^6) cells/mL","Viable (x10^6) cells/mL",'
    '"Viability (%)","Average diameter (μm)","Average viable diameter (μm)","Average circularity",'
    '"Average viable circularity","Average cells per image","Average background intensity",'
    '"Bubble count","Cluster count","Images for analysis","Cell type","Minimum Diameter (μm)",'
    '"Maximum Diameter (μm)","Images","Cell sharpness","Minimum circularity","Decluster degree",'
    '"Aspiration cycles","Viable spot brightness (%)","Viable spot area (%)","Mixing cycles",'
    '"Analysis date/time","Reanalysis date/time","Analysis by","Reanalysis by","Dilution","Wash"'
)

NOVA_HEADER = (
    '"Date & Time","Sample ID","Sample Type","Gln","Glu","Gluc","Lac","NH4+","Na+","K+","Ca++",'
    '"pH","PO2","PCO2","Vessel ID","Batch ID","Cell Type","Vessel Temperature (°C)",'
    '"Vessel Pressure (psi)","Sparging O2%","Chemistry Dilution Ratio","pH @ Temp",'
    '"PCO2 @ Temp","PO2 @ Temp","O2 Saturation","CO2 Saturation","HCO3","Chemistry Flow Time",'
    '"pH / Gas Flow Time","Tray Location","Time In Tray","Sample Time","Operator",'
)

# Cedex BioHT analyte codes and the units the instrument reports
CEDEX_ANALYTES = (
    ("glucose", "GLC2B", "g/L"),
    ("lactate", "LAC2B", "g/L"),
    ("glutamine", "GLN2B", "mmol/L"),
    ("ammonium", "NH3B", "mmol/L"),
)
CEDEX_LOWER_LIMIT = {"glucose": 0.02, "lactate": 0.04, "glutamine": 0.10, "ammonium": 0.28}


@dataclass(frozen=True)
class CellCount:
    sample_id: str
    at: datetime  # UTC
    viable_density: float  # 1e6 cells/mL
    total_density: float
    viability: float  # %
    diameter: float  # um
    viable_diameter: float
    cell_type: str


@dataclass(frozen=True)
class Metabolites:
    sample_id: str
    at: datetime  # UTC
    batch_ref: str
    vessel: str
    glucose: float  # g/L
    lactate: float  # g/L
    glutamine: float  # mmol/L
    ammonium: float  # mmol/L
    ph: float
    temperature: float  # degC


def local_time(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def write_vicell(path: Path, tz: str, counts: list[CellCount], analyst: str = "Vi-CELL") -> None:
    """Vi-CELL BLU CSV export: quoted fields, CRLF, the trailing empty field of the real files."""
    lines = [VICELL_HEADER]
    for c in counts:
        local = local_time(c.at, tz)
        images = 100
        per_image = c.total_density * 26.5  # the instrument sees ~26 cells per image per 1e6/mL
        total = round(per_image * images * 0.6)
        viable = round(total * c.viability / 100.0)
        fields = [
            c.sample_id,
            str(total),
            str(viable),
            f"{c.total_density:.2f}",
            f"{c.viable_density:.2f}",
            f"{c.viability:.2f}",
            f"{c.diameter:.2f}",
            f"{c.viable_diameter:.2f}",
            "0.89",
            "0.91",
            f"{per_image:.0f}",
            "134",
            "0",
            "12",
            "60",
            c.cell_type,
            "6.00",
            "30.0",
            str(images),
            "10",
            "0",
            "Medium",
            "3",
            "55",
            "5",
            "3",
            f"{local.month}/{local.day}/{local.year} {local:%H:%M}",
            "",
            analyst,
            "",
            "1",
            "Normal Wash",
            "",
        ]
        lines.append(",".join(f'"{f}"' for f in fields))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def cedex_value(analyte: str, value: float) -> tuple[str, str]:
    """(flag, value text): below the kit's range the instrument writes `< TEST RNG` and `< x`."""
    limit = CEDEX_LOWER_LIMIT[analyte]
    if value < limit:
        return "< TEST RNG", f"< {limit:.2f}"
    decimals = 3 if analyte == "ammonium" else 2
    return " ", f"{value:.{decimals}f}"


def write_cedex(
    path: Path, tz: str, samples: list[Metabolites], serial: str, processed_at: datetime
) -> None:
    """Cedex BioHT tab-separated result file (software 6.x layout)."""
    p = local_time(processed_at, tz)
    lines = [
        "\t".join(
            [
                "0",
                f"{p:%Y-%m-%d %H:%M:%S}",
                "#ARC-FILE#",
                "1.1a",
                f"{p:%Y-%m-%d}",
                f"{p:%Y-%m-%d}",
                "CEDEX BIO HT",
                serial,
                "6.0.0.1905 (1905)",
                "ADMIN",
            ]
        )
    ]
    for s in samples:
        base = local_time(s.at, tz)
        for k, (analyte, code, unit) in enumerate(CEDEX_ANALYTES):
            flag, text = cedex_value(analyte, getattr(s, analyte))
            t = base.replace(second=0) if k == 0 else base.replace(second=min(59, 10 * k))
            lines.append(
                "\t".join(
                    [
                        "40",
                        f"{t:%Y-%m-%d %H:%M:%S}",
                        s.sample_id,
                        "",
                        "SAM",
                        " " * 8,
                        code,
                        " " * 8,
                        unit,
                        flag,
                        f"  {text}",
                        "  0.10000",
                        "R",
                    ]
                )
            )
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def nova_file_name(processed_at: datetime, tz: str) -> str:
    p = local_time(processed_at, tz)
    return f"SampleResults{p:%Y-%m-%d_%H%M%S}.csv"


def write_nova(path: Path, tz: str, samples: list[Metabolites], operator: str) -> None:
    """Nova Bioprofile Flex2 CSV (the analyzer's own m-d-Y clock format)."""
    lines = [NOVA_HEADER]
    for s in samples:
        t = local_time(s.at, tz)
        stamp = f"{t.month}-{t.day}-{t.year}  {t:%H:%M:%S}"
        stamp2 = f"{t.day}-{t.month}-{t.year}  {t:%H:%M:%S}"
        fields = [
            stamp,
            s.sample_id,
            "Spent Media",
            f"{s.glutamine:.2f}",
            "0.40",
            f"{s.glucose:.2f}",
            f"{s.lactate:.2f}",
            f"{s.ammonium:.2f}",
            "148.2",
            "4.31",
            "0.95",
            f"{s.ph:.3f}",
            "95.1",
            "48.0",
            s.vessel,
            s.batch_ref,
            "T/NK",
            f"{s.temperature:.1f}",
            "0.0",
            "20.9",
            "1:1",
            f"{s.ph:.3f}",
            "48.0",
            "95.1",
            "88.0",
            "6.6",
            "27.9",
            "6.67",
            "3.65",
            "",
            "",
            stamp2,
            operator,
            "",
        ]
        lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def local_day(t: datetime, tz: str) -> date:
    return t.astimezone(ZoneInfo(tz)).date()


def write_site(
    site: Site,
    counts: list[CellCount],
    metabolites: list[Metabolites],
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
) -> None:
    """A site's instrument exports, one file per day and instrument, with a daily bead
    control that belongs to no batch and a file whose export layout was customised."""
    tz = site.timezone
    rng = purpose_rng(plant.seed, f"instruments-{site.site_id}")
    vicell_dir = landing / "instruments" / site.site_id / "beckman_vi_cell_blu"
    vicell_dir.mkdir(parents=True, exist_ok=True)
    by_day: dict[date, list[CellCount]] = defaultdict(list)
    for c in sorted(counts, key=lambda c: (c.at, c.sample_id)):
        by_day[local_day(c.at, tz)].append(c)
    first_path = None
    for k, (day, day_counts) in enumerate(sorted(by_day.items())):
        if k % 5 == 0:  # the daily bead control: a sample that belongs to no batch
            qc_at = day_counts[0].at - timedelta(minutes=20)
            qc = CellCount(
                f"QC-BEADS-{day:%m%d}", qc_at, 1.0, 1.0, 100.0, 10.0, 10.0, "Control beads"
            )
            day_counts = [qc, *day_counts]
        path = vicell_dir / f"ViCellBLU_{site.site_id}_{day:%Y%m%d}.csv"
        write_vicell(path, tz, day_counts)
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
    met_by_day: dict[date, list[Metabolites]] = defaultdict(list)
    for m in sorted(metabolites, key=lambda m: (m.at, m.sample_id)):
        met_by_day[local_day(m.at, tz)].append(m)
    below = 0
    for day, day_samples in sorted(met_by_day.items()):
        processed = day_samples[-1].at + timedelta(minutes=15)
        if vendor == "roche_cedex_bioht":
            path = met_dir / f"CedexBioHT_{day:%Y%m%d}.txt"
            write_cedex(path, tz, day_samples, "CDX-" + site.site_id, processed)
            for s in day_samples:
                for analyte, limit in CEDEX_LOWER_LIMIT.items():
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
            path = met_dir / nova_file_name(processed, tz)
            write_nova(path, tz, day_samples, str(rng.choice(["hmueller", "lrossi"])))
