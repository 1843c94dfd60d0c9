"""MES batch-record JSON -> raw.mes_* (one document per record version; all versions kept)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from assets.contracts import mes as contract
from assets.contracts.base import FileRejected, RowFailure, group_reasons, row_failures
from assets.ingest.core import FileContext, FileOutcome, Loader, Rejected, append_rows
from assets.ingest.formats import parse_times, resolve_wall_clock
from assets.ingest.text import load_json

CONTRACT = contract.CONTRACT

SECTIONS = {
    # section (a record type of the contract) -> (raw table, {raw column: json key}, time keys)
    "phases": (
        "mes_phase",
        {
            "unit_procedure": "unit_procedure",
            "operation": "operation",
            "phase": "phase",
            "equipment_id": "equipment_id",
        },
        ("start", "end"),
    ),
    "parameters": (
        "mes_parameter",
        {
            "phase": "phase",
            "name": "name",
            "setpoint": "setpoint",
            "actual": "actual",
            "unit": "unit",
            "recorded_by": "recorded_by",
        },
        ("recorded_at",),
    ),
    "materials": (
        "mes_material",
        {
            "phase": "phase",
            "material_id": "material_id",
            "lot": "lot",
            "quantity": "quantity",
            "unit": "unit",
        },
        ("consumed_at",),
    ),
    "signatures": (
        "mes_signature",
        {"phase": "phase", "signer": "signer", "meaning": "meaning"},
        ("signed_at",),
    ),
    "deviations": (
        "mes_deviation",
        {
            "deviation_id": "id",
            "classification": "classification",
            "phase": "phase",
            "description": "description",
        },
        ("opened_at",),
    ),
}
NUMERIC = {"setpoint", "actual", "quantity"}


def _times(values: pd.Series, ctx: FileContext) -> tuple[pd.Series, pd.Series]:
    """UTC instants of one time key, and per row the problem (None where it parsed): no
    declared format matches, or a wall-clock time cannot be placed in the site's zone."""
    parsed = parse_times(values.astype(object).where(values.notna(), None), ctx.site_format)
    utc, issue = resolve_wall_clock(parsed, ctx.site_timezone)
    problem = pd.Series(None, index=values.index, dtype=object)
    problem[issue.notna()] = [
        f"{why}: {text!r} is a wall-clock time that cannot be placed in {ctx.site_timezone}"
        for why, text in zip(issue[issue.notna()], values[issue.notna()], strict=True)
    ]
    problem[~parsed.ok] = [
        f"datetime_format: {text!r} matches none of the site's formats ({ctx.site_format.tried()})"
        for text in values[~parsed.ok]
    ]
    return utc, problem


def parse_document(doc: object) -> dict:
    """The batch record, checked for the keys and sections every later step needs."""
    if not isinstance(doc, dict):
        raise FileRejected("json:object", "the document is not a JSON object")
    missing = [k for k in contract.REQUIRED_KEYS if k not in doc]
    if missing:
        raise FileRejected("mes:required_keys", f"missing keys: {', '.join(missing)}")
    if doc["record_type"] != "batch_production_record":
        raise FileRejected(
            "mes:record_type", f"record_type {doc['record_type']!r} is not batch_production_record"
        )
    for section in SECTIONS:
        if not isinstance(doc.get(section, []), list):
            raise FileRejected(f"mes:{section}", f"{section} must be a list")
    return doc


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    doc = parse_document(load_json(ctx.path))
    head = pd.DataFrame(
        [
            {
                "_row_number": 1,
                "site_id": ctx.site_id,
                "batch_id": str(doc["batch_id"]),
                "record_version": doc["record_version"],
                "schema_version": str(doc["schema_version"]),
                "record_site_id": doc.get("site_id"),
                "product_id": doc.get("product_id"),
                "process_type": doc.get("process_type"),
                "recipe_id": (doc.get("recipe") or {}).get("id"),
                "recipe_version": (doc.get("recipe") or {}).get("version"),
                "status": doc.get("status"),
                "coi_id": doc.get("coi_id"),
                "donor_id": doc.get("donor_id"),
                "lims_alias": (doc.get("aliases") or {}).get("lims"),
                "last_changed_at_raw": doc.get("last_changed_at"),
                "document_json": json.dumps(doc, sort_keys=True, ensure_ascii=False),
            }
        ]
    )
    if not isinstance(doc["record_version"], int) or isinstance(doc["record_version"], bool):
        raise FileRejected("record_version:int", "record_version must be an integer")
    failed = group_reasons(row_failures(CONTRACT.schema("batch_record"), head))
    if failed:
        raise FileRejected(*failed[0])
    head["last_changed_at_utc"], problem = _times(head["last_changed_at_raw"], ctx)
    if problem.notna().any() and problem[0].startswith("datetime_format"):
        raise FileRejected("last_changed_at:datetime_format", f"last_changed_at {problem[0]}")
    read, loaded = 1, append_rows(con, "mes_batch_record", head, ctx, positions=["/"])
    checks = [name for name, _ in CONTRACT.checks("batch_record")]
    rejected: list[Rejected] = []
    for section, (table, mapping, times) in SECTIONS.items():
        items = doc.get(section) or []
        read += len(items)
        rows, positions = [], []
        for k, item in enumerate(items):
            pointer = f"/{section}/{k}"
            if not isinstance(item, dict):
                rejected.append(
                    Rejected(
                        k + 1,
                        json.dumps(item)[:2000],
                        f"mes:{section}_item",
                        f"{ctx.relative_path} {pointer}: not an object",
                    )
                )
                continue
            row = {
                "_row_number": k + 1,
                "site_id": ctx.site_id,
                "batch_id": head.at[0, "batch_id"],
                "record_version": doc["record_version"],
            }
            for column, key in mapping.items():
                value = item.get(key)
                row[column] = (
                    _number(value) if column in NUMERIC else (None if value is None else str(value))
                )
            for key in times:
                row[f"{key}_raw"] = item.get(key)
            rows.append(row)
            positions.append(pointer)
        frame = pd.DataFrame(rows)
        if frame.empty:
            continue
        checks += [name for name, _ in CONTRACT.checks(section)]
        failures = row_failures(CONTRACT.schema(section), frame)
        for key in times:
            frame[f"{key}_utc"], problems = _times(frame[f"{key}_raw"], ctx)
            for i in problems.index[problems.notna()]:
                # a phase boundary must be an instant (readings are attributed by it); other
                # times are refused only when no format reads them
                if section == "phases" or problems[i].startswith("datetime_format"):
                    why = problems[i].split(":", 1)[0]
                    failures.append(RowFailure(int(i), f"{key}:{why}", f"{key} {problems[i]}"))
        if failures:
            bad = group_reasons(failures)
            for i, (check, reason) in sorted(bad.items()):
                pointer = positions[i]
                rejected.append(
                    Rejected(
                        int(frame.at[i, "_row_number"]),
                        json.dumps(items[int(frame.at[i, "_row_number"]) - 1]),
                        check,
                        f"{ctx.relative_path} {pointer}: {reason}",
                    )
                )
            keep = [i for i in range(len(frame)) if i not in bad]
            frame = frame.iloc[keep].reset_index(drop=True)
            positions = [positions[i] for i in keep]
        loaded += append_rows(con, table, frame, ctx, positions=positions)
    return FileOutcome(read, loaded, rejected, tuple(dict.fromkeys(checks)))


LOADER = Loader("mes", CONTRACT, load)


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
