"""Instrument exports -> raw.instrument_measurement, parsed by allotropy.

allotropy reads the vendor file with the site's time zone (files carry naive local times); the
assumed zone is recorded per row. Record ids come from the file's sha256 and the measurement's
position, never from allotropy's random UUIDs. A below-range result (allotropy writes `-0.0`
and keeps the instrument's text in a flag) is kept as censored with no value.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from assets.contracts import instruments as contract
from assets.contracts.base import FileRejected, group_reasons, row_failures
from assets.ingest.core import (
    FileContext,
    FileOutcome,
    Loader,
    Rejected,
    append_rows,
    parsed_ahead_or_here,
)
from assets.ingest.limits import check_instrument_file

if TYPE_CHECKING:
    from allotropy.parser_factory import Vendor

CONTRACT = contract.CONTRACT
RECORD = "measurement"


def vendor_of(ctx: FileContext) -> Vendor:
    from allotropy.parser_factory import Vendor  # ~2 s: imported when a file is parsed

    parts = ctx.relative_path.split("/")
    name = parts[2] if len(parts) > 3 else ""
    try:
        return Vendor[name.upper()]
    except KeyError as exc:
        raise FileRejected(
            "instruments:vendor",
            f"folder {name!r} is not an allotropy Vendor "
            "(expected landing/instruments/<site>/<vendor>/)",
        ) from exc


def measurements(doc: dict):
    """Every measurement document in an ASM document, in file order."""
    if isinstance(doc, dict):
        if "measurement document" in doc and isinstance(doc["measurement document"], list):
            yield from doc["measurement document"]
            return
        for value in doc.values():
            yield from measurements(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from measurements(item)


def _fields(node, out: dict, flags: dict) -> None:
    if isinstance(node, dict):
        if "analyte name" in node:
            conc = node.get("mass concentration") or node.get("molar concentration") or {}
            out[node["analyte name"]] = (conc.get("value"), conc.get("unit"))
            flag = (node.get("custom information document") or {}).get("flag")
            if flag:
                flags[node["analyte name"]] = str(flag).strip()
            return
        for key, value in node.items():
            if isinstance(value, dict) and set(value) == {"value", "unit"}:
                out[key] = (value["value"], value["unit"])
            elif key != "sample document":
                _fields(value, out, flags)
    elif isinstance(node, list):
        for child in node:
            _fields(child, out, flags)


@dataclass(frozen=True)
class Parsed:
    """A file's measurements as rows, with each row's position (`<measurement>/<field>`)."""

    rows: list[dict]
    positions: list[str]


def parse(ctx: FileContext) -> Parsed:
    """The file through allotropy, flattened to one row per measured field (no warehouse:
    worker processes run it ahead of the load). Raises FileRejected for a file it refuses."""
    vendor = vendor_of(ctx)
    check_instrument_file(ctx.path)
    from allotropy.to_allotrope import allotrope_from_file

    # Some allotropy parsers (Nova Flex2) run gc.collect() per file, which walks every object
    # of this process (Dagster, pandas, DuckDB …): 0.15 s a file. Objects that existed before
    # the parse are set aside meanwhile (gc.freeze), so that collection sees only the parser's
    # own; unfreeze hands them back to the collector, nothing is kept alive by it.
    gc.freeze()
    try:
        doc = allotrope_from_file(
            str(ctx.path), vendor, default_timezone=ZoneInfo(ctx.site_timezone)
        )
    except Exception as exc:  # allotropy raises many types; every one rejects the file
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileRejected(
            "allotropy:parse", f"allotropy ({vendor.name}) cannot read it: {message}"
        ) from exc
    finally:
        gc.unfreeze()
    rows, positions = [], []
    for index, m in enumerate(measurements(doc), start=1):
        sample = m.get("sample document") or {}
        values: dict = {}
        flags: dict = {}
        _fields(m, values, flags)
        for field, (value, unit) in sorted(values.items()):
            flag = flags.get(field)
            below = flag is not None and flag.startswith("<")
            placeholder = isinstance(value, float) and value == 0 and math.copysign(1, value) < 0
            number = (
                None
                if (below or placeholder or not isinstance(value, int | float))
                else float(value)
            )
            rows.append(
                {
                    "_row_number": index,
                    "site_id": ctx.site_id,
                    "vendor": vendor.name.lower(),
                    "sample_id": str(sample.get("sample identifier") or ""),
                    "instrument_batch_id": sample.get("batch identifier"),
                    "measured_at_raw": str(m.get("measurement time") or ""),
                    "assumed_timezone": ctx.site_timezone,
                    "field": field,
                    "value": number,
                    "value_raw": flag if (below or placeholder) and flag else repr(value),
                    "unit": unit,
                    "censor": "<" if (below or placeholder) else "",
                    "flag": flag,
                    "parser": "allotropy",
                }
            )
            positions.append(f"{index}/{field}")
    return Parsed(rows, positions)


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    parsed = parsed_ahead_or_here(ctx, parse)
    rows, positions = parsed.rows, parsed.positions
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise FileRejected("instruments:empty", "allotropy found no measurements")
    rejected = []
    failed = group_reasons(row_failures(CONTRACT.schema(RECORD), frame))
    for i, (check, reason) in sorted(failed.items()):
        rejected.append(
            Rejected(
                int(frame.at[i, "_row_number"]),
                str(rows[i]),
                check,
                f"{ctx.relative_path} measurement {rows[i]['_row_number']} "
                f"{rows[i]['field']}: {reason}",
            )
        )
    keep = [i for i in range(len(frame)) if i not in failed]
    frame = frame.iloc[keep].reset_index(drop=True)
    frame["measured_at_utc"] = pd.to_datetime(
        frame["measured_at_raw"], utc=True, errors="coerce", format="ISO8601"
    )
    loaded = append_rows(
        con, "instrument_measurement", frame, ctx, positions=[positions[i] for i in keep]
    )
    checks = tuple(name for name, _ in CONTRACT.checks(RECORD))
    return FileOutcome(len(rows), loaded, rejected, checks)


LOADER = Loader("instruments", CONTRACT, load, parse=parse)
