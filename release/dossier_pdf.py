"""The dossier's PDF (fpdf2) and its CPP plots (matplotlib): a one-page summary, the exceptions
only, the CQA results with their trace keys, the signatures, and each CPP against the golden
envelope and its specification with the batch's exceptions marked."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from fpdf import FPDF
from fpdf.enums import XPos, YPos

# DejaVu Sans (shipped with matplotlib) for µ, °, ≤ and the other characters a result carries
FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
FONT_BOLD = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
MARKED_KINDS = {"cpp_excursion", "cpp_gap", "monitoring_alarm", "flagged_reading", "deviation"}
SEVERITY_COLOUR = {"critical": "#b2182b", "major": "#ef8a62", "minor": "#999999"}


def _elapsed(doc: dict[str, Any], at: str | None) -> float | None:
    start = doc.get("series_start_utc")
    if not at or not start:
        return None
    return (datetime.fromisoformat(at) - datetime.fromisoformat(start)).total_seconds() / 3600


def cpp_plots(doc: dict[str, Any]) -> dict[str, bytes]:
    """One PNG per CPP: the batch's hourly means, the envelope band, the specification, and a
    vertical line at each exception that concerns the process."""
    out = {}
    for parameter in sorted({r["parameter_id"] for r in doc["cpp_series"]}):
        series = [r for r in doc["cpp_series"] if r["parameter_id"] == parameter]
        band = [r for r in doc["envelope"] if r["parameter_id"] == parameter]
        fig, ax = plt.subplots(figsize=(7.5, 2.4), dpi=110)
        if band:
            ax.fill_between(
                [r["elapsed_h"] for r in band],
                [r["lower"] for r in band],
                [r["upper"] for r in band],
                color="#cfe3f3",
                label="golden envelope",
            )
        ax.plot(
            [r["elapsed_h"] for r in series],
            [r["value"] for r in series],
            lw=1.2,
            color="#2166ac",
            label=doc["batch_id"],
        )
        for bound in ("spec_min", "spec_max"):
            value = series[0][bound]
            if value is not None:
                ax.axhline(value, ls="--", lw=0.8, color="#b2182b")
        for e in doc["exceptions"]:
            x = _elapsed(doc, e["occurred_at_utc"])
            relevant = e["kind"] in MARKED_KINDS and (
                parameter in e["sentence"] or e["kind"] in ("monitoring_alarm", "deviation")
            )
            if x is not None and relevant:
                ax.axvline(x, lw=1.0, color=SEVERITY_COLOUR[e["severity"]])
        ax.set_xlabel("elapsed h")
        ax.set_ylabel(parameter)
        ax.legend(loc="upper right", fontsize=7)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        out[parameter] = buffer.getvalue()
    return out


class _Dossier(FPDF):
    def __init__(self, batch: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.batch = batch
        self.add_font("DejaVu", "", str(FONT))
        self.add_font("DejaVu", "B", str(FONT_BOLD))
        self.set_auto_page_break(auto=True, margin=15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 6, f"Release dossier {self.batch} — page {self.page_no()}/{{nb}}", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8)


def _rows(pdf: FPDF, rows: list[dict], columns: list[tuple[str, str, int]]) -> None:
    if not rows:
        pdf.cell(0, 6, "None.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    with pdf.table(col_widths=[w for _, _, w in columns], text_align="LEFT") as table:
        head = table.row()
        for label, _, _ in columns:
            head.cell(label)
        for r in rows:
            row = table.row()
            for _, field, _ in columns:
                value = r.get(field)
                row.cell("" if value is None else str(value))


def render_pdf(
    doc: dict[str, Any], summary: list[tuple[str, str]], plots: dict[str, bytes]
) -> bytes:
    """The dossier as PDF bytes: page 1 the summary, then exceptions, CQAs, signatures, CPPs."""
    pdf = _Dossier(doc["batch_id"])
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, f"Release dossier — {doc['batch_id']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0,
        5,
        "Review by exception: what deviates, each with the keys `biotwin trace` follows "
        "to its source file and row. The release decision and its signature stay with QA.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    _heading(pdf, "Summary")
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(col_widths=(55, 125), text_align="LEFT") as table:
        for label, value in summary:
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.add_page()
    _heading(pdf, f"Exceptions ({len(doc['exceptions'])})")
    _rows(
        pdf,
        doc["exceptions"],
        [
            ("severity", "severity", 14),
            ("when (UTC)", "occurred_at_utc", 28),
            ("kind", "kind", 26),
            ("what", "sentence", 70),
            ("trace", "trace_table", 22),
            ("key", "trace_key", 20),
        ],
    )
    _heading(pdf, "Critical quality attributes")
    _rows(
        pdf,
        doc["cqa_results"],
        [
            ("CQA", "parameter_id", 28),
            ("point", "sample_point", 16),
            ("result", "result_text", 18),
            ("unit", "unit", 16),
            ("min", "spec_min", 12),
            ("max", "spec_max", 12),
            ("status", "status", 18),
            ("OOS", "out_of_spec", 10),
            ("source", "source_system", 26),
            ("trace key (marts.fct_lab_result)", "trace_key", 24),
        ],
    )
    _heading(pdf, "Signatures")
    _rows(
        pdf,
        doc["signatures"],
        [
            ("phase", "phase", 50),
            ("meaning", "meaning", 30),
            ("signer", "signer", 40),
            ("signed (UTC)", "signed_at_utc", 60),
        ],
    )
    if plots:
        pdf.add_page()
        _heading(pdf, "Critical process parameters against the golden envelope")
        for parameter, png in plots.items():
            pdf.cell(0, 5, parameter, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.image(io.BytesIO(png), w=180)
    return bytes(pdf.output())
