"""The batch release dossier: what QA reads before its release decision, by exception.

`gather` reads one batch's readiness, exceptions, CQA results (with the keys `biotwin trace`
follows), signatures and CPP trajectories against the golden envelope from an open warehouse,
and the audit chain's verification; `write_dossier` renders them as HTML, PDF
(release/dossier_pdf.py) and JSON into a folder and records each file's sha256 in
`audit.audit_log` (kind `dossier_written`), so `verify_file` can tell a dossier from a copy
changed after it was written.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from biotwin.files import sha256_of
from biotwin.warehouse import rows_of, table_exists
from lineage.audit_log import append_committed, verify_log
from lineage.trace import plain_value as _plain
from lineage.trace import rows_as_dicts as _records
from release.dossier_pdf import cpp_plots, render_pdf
from release.exceptions import TABLE as EXCEPTIONS
from release.readiness import TABLE as READINESS

KIND = "dossier_written"


class DossierError(ValueError):
    """The dossier cannot be written (unknown batch, readiness not built); says what to run."""


def gather(con: duckdb.DuckDBPyConnection, batch: str) -> dict[str, Any]:
    """Everything the dossier shows for `batch`, as plain JSON-ready values."""
    if not table_exists(con, "marts", "batch_release_readiness"):
        raise DossierError(
            "the warehouse has no marts.batch_release_readiness yet: run the pipeline first "
            "(`biotwin run` or `make demo`)"
        )
    readiness = _records(con, f"SELECT * FROM {READINESS} WHERE batch_id = ?", [batch])  # noqa: S608
    if not readiness:
        known = [r[0] for r in rows_of(con, f"SELECT batch_id FROM {READINESS} ORDER BY 1")]  # noqa: S608
        raise DossierError(f"no batch {batch!r}; the warehouse has: {', '.join(known)}")
    verdict = verify_log(con)
    envelope = (
        _records(
            con,
            "SELECT e.parameter_id, e.elapsed_h, e.lower, e.upper, e.centre "
            "FROM twin.golden_envelope AS e JOIN marts.dim_batch AS b USING (product_id) "
            "WHERE b.batch_id = ? ORDER BY 1, 2",
            [batch],
        )
        if table_exists(con, "twin", "golden_envelope")
        else []
    )
    return {
        "batch_id": batch,
        "readiness": readiness[0],
        "exceptions": _records(
            con,
            f"SELECT * FROM {EXCEPTIONS} WHERE batch_id = ? "  # noqa: S608
            "ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 ELSE 2 END, "
            "occurred_at_utc NULLS LAST, kind",
            [batch],
        ),
        "cqa_results": _records(
            con,
            "SELECT s.parameter_id, s.sample_point, r.value, r.unit, r.result_text, "
            "s.spec_min, s.spec_max, r.status, r.out_of_spec, r.source_system, "
            "r.sampled_at_utc, 'marts.fct_lab_result' AS trace_table, r._record_id AS trace_key "
            "FROM marts.dim_batch AS b JOIN ref.specifications AS s "
            "ON s.product_id = b.product_id AND s.criticality = 'CQA' "
            "LEFT JOIN marts.fct_lab_result AS r ON r.batch_id = b.batch_id "
            "AND r.parameter_id = s.parameter_id AND r.sample_point IS NOT DISTINCT FROM "
            "s.sample_point AND r.is_current WHERE b.batch_id = ? "
            "ORDER BY s.parameter_id, r.source_system",
            [batch],
        ),
        "signatures": _records(
            con,
            "SELECT phase, meaning, signer, signed_at_utc, _record_id AS trace_key "
            "FROM marts.fct_signature WHERE batch_id = ? ORDER BY signed_at_utc",
            [batch],
        ),
        "cpp_series": _records(
            con,
            "SELECT p.parameter_id, floor(p.elapsed_h) AS elapsed_h, avg(p.value) AS value, "
            "any_value(s.spec_min) AS spec_min, any_value(s.spec_max) AS spec_max "
            "FROM marts.fct_process_timeseries AS p JOIN marts.dim_batch AS b USING (batch_id) "
            "JOIN ref.specifications AS s ON s.product_id = b.product_id "
            "AND s.parameter_id = p.parameter_id AND s.criticality = 'CPP' "
            "WHERE p.batch_id = ? AND p.is_usable GROUP BY ALL ORDER BY 1, 2",
            [batch],
        ),
        "envelope": envelope,
        # the instant of elapsed hour 0, to place the exceptions on the CPP plots
        "series_start_utc": _plain(
            rows_of(
                con,
                "SELECT min(ts_utc - to_microseconds(CAST(elapsed_h * 3600e6 AS BIGINT))) "
                "FROM marts.fct_process_timeseries WHERE batch_id = ?",
                [batch],
            )[0][0]
        ),
        "audit_chain": {"ok": verdict.ok, "message": verdict.message()},
    }


def _cell(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>" if rows else "<p>None.</p>"


SUMMARY_FIELDS = [
    ("Verdict", "verdict"),
    ("Reasons", "reasons"),
    ("Product", "product_id"),
    ("Process", "process_type"),
    ("Batch record status", "record_status"),
    ("CQAs with an approved result", "n_cqa_approved", "n_cqa"),
    ("Required signatures present", "n_signatures_present", "n_signatures_required"),
    ("Chain of identity complete", "chain_of_identity_complete"),
    ("Exceptions: critical / major / minor", "n_critical", "n_major", "n_minor"),
]


def summary_lines(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of the one-page summary, shared by the HTML and the PDF."""
    r = doc["readiness"]
    out = []
    for label, *fields in SUMMARY_FIELDS:
        values = ["n/a" if r.get(f) is None else str(r.get(f)) for f in fields]
        out.append((label, " / ".join(values) if len(values) > 2 else " of ".join(values)))
    out.append(("Audit trail", doc["audit_chain"]["message"]))
    out.append(("Generated", doc["generated_at_utc"]))
    return out


EXCEPTION_COLUMNS = ["severity", "occurred_at_utc", "kind", "sentence", "trace_table", "trace_key"]
CQA_COLUMNS = [
    "parameter_id",
    "sample_point",
    "result_text",
    "unit",
    "spec_min",
    "spec_max",
    "status",
    "out_of_spec",
    "source_system",
    "trace_key",
]


def render_html(doc: dict[str, Any], plot_png: dict[str, str]) -> str:
    """The dossier as one self-contained HTML page (plots embedded as base64 PNG)."""
    summary = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in summary_lines(doc)
    )
    plots = "".join(
        f'<h3>{html.escape(p)}</h3><img alt="{html.escape(p)}" src="data:image/png;base64,{b64}">'
        for p, b64 in plot_png.items()
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Release dossier {html.escape(doc["batch_id"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #bbb;padding:3px 6px;font-size:13px;text-align:left}}</style></head>
<body><h1>Release dossier — {html.escape(doc["batch_id"])}</h1>
<p>Review by exception: biotwin lists what deviates; the release decision and its electronic
signature stay with QA (docs/gmp.md).</p>
<h2>Summary</h2><table>{summary}</table>
<h2>Exceptions</h2>
{_table(doc["exceptions"], EXCEPTION_COLUMNS)}
<h2>Critical quality attributes</h2>
{_table(doc["cqa_results"], CQA_COLUMNS)}
<h2>Signatures</h2>
{_table(doc["signatures"], ["phase", "meaning", "signer", "signed_at_utc"])}
<h2>Critical process parameters against the golden envelope</h2>{plots or "<p>None.</p>"}
<h2>Provenance</h2><p>Every row above names a table and key: <code>biotwin trace TABLE KEY</code>
walks it to the landing file, its sha256 and row.</p>
</body></html>
"""


@dataclass(frozen=True)
class Written:
    files: dict[str, str]  # path -> sha256
    audit_seq: int
    verdict: str


def write_dossier(con: duckdb.DuckDBPyConnection, batch: str, out: Path, actor: str) -> Written:
    """Write the batch's dossier (HTML, PDF, JSON) into `out` and record their sha256 in the
    audit log, on a read-write connection."""
    doc = gather(con, batch)
    doc["generated_at_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    plots = cpp_plots(doc)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{batch}_release_dossier"
    paths = {
        "html": stem.with_suffix(".html"),
        "pdf": stem.with_suffix(".pdf"),
        "json": stem.with_suffix(".json"),
    }
    encoded = {p: base64.b64encode(png).decode("ascii") for p, png in plots.items()}
    paths["html"].write_text(render_html(doc, encoded), encoding="utf-8")
    paths["pdf"].write_bytes(render_pdf(doc, summary_lines(doc), plots))
    paths["json"].write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    files = {str(p.resolve()): sha256_of(p) for p in paths.values()}
    entry = {
        "kind": KIND,
        "subject": batch,
        "actor": actor,
        "detail": {
            "verdict": doc["readiness"]["verdict"],
            "files": files,
            "exceptions": len(doc["exceptions"]),
        },
    }
    append_committed(con, [entry])
    seq = rows_of(con, "SELECT max(seq) FROM audit.audit_log")[0][0]
    return Written(files, int(seq), doc["readiness"]["verdict"])


@dataclass(frozen=True)
class Verification:
    ok: bool
    message: str


def verify_file(con: duckdb.DuckDBPyConnection, path: Path) -> Verification:
    """Whether `path` is byte for byte a dossier file the audit log recorded."""
    digest = sha256_of(path)
    if not table_exists(con, "audit", "audit_log"):
        return Verification(False, "the warehouse has no audit log: nothing to verify against")
    for seq, subject, recorded_at, detail in rows_of(
        con,
        "SELECT seq, subject, recorded_at, detail FROM audit.audit_log WHERE kind = ? ORDER BY seq",
        [KIND],
    ):
        if digest in json.loads(detail).get("files", {}).values():
            return Verification(
                True,
                f"{path}: sha256 {digest[:16]}… is the dossier of {subject} recorded in audit "
                f"entry {seq} ({recorded_at:%Y-%m-%d %H:%M} UTC)",
            )
    return Verification(
        False,
        f"{path}: sha256 {digest[:16]}… matches no dossier in the audit log: the file was "
        "changed after it was written, or not written by `biotwin release dossier`",
    )
