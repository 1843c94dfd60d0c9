"""Instrument exports in the vendors' own formats, as the instrument software writes them.

Vi-CELL BLU (cell counts) at both sites; the metabolite analyzer differs by site: Roche Cedex
BioHT at BOS, Nova Bioprofile Flex2 at BSL. Timestamps are the instrument PC's wall clock
(naive local time), exactly the case allotropy reads as UTC unless given the site's zone.
The layouts follow the real exports in ../shared/instrument-examples/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def write_vicell(path: Path, tz: str, counts: list[CellCount], analyst: str = "Vi-CELL") -> None:
    """Vi-CELL BLU CSV export: quoted fields, CRLF, the trailing empty field of the real files."""
    lines = [VICELL_HEADER]
    for c in counts:
        local = _local(c.at, tz)
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
    p = _local(processed_at, tz)
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
        base = _local(s.at, tz)
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
    p = _local(processed_at, tz)
    return f"SampleResults{p:%Y-%m-%d_%H%M%S}.csv"


def write_nova(path: Path, tz: str, samples: list[Metabolites], operator: str) -> None:
    """Nova Bioprofile Flex2 CSV (the analyzer's own m-d-Y clock format)."""
    lines = [NOVA_HEADER]
    for s in samples:
        t = _local(s.at, tz)
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
