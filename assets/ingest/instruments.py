"""Instrument exports -> raw.instrument_measurement, parsed by allotropy.

allotropy runs in worker processes of its own environment (`assets/ingest/parser_pool.py`,
instrument_parser/): it reads the vendor file with the site's time zone (files carry naive
local times); the assumed zone is recorded per row, and the allotropy release in `parser`.
Record ids come from the file's sha256 and the measurement's position, never from allotropy's
random UUIDs. A below-range result (allotropy writes `-0.0` and keeps the instrument's text in
a flag) is kept as censored with no value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import pandas as pd

from assets.contracts import instruments as contract
from assets.contracts.base import FileRejected, group_reasons, row_failures
from assets.ingest import parser_pool
from assets.ingest.core import (
    FileContext,
    FileOutcome,
    Loader,
    Rejected,
    append_rows,
    insert_raw,
    parsed_ahead_or_here,
    raw_rows,
    whole_file_rejection,
)
from assets.ingest.limits import check_instrument_file

CONTRACT = contract.CONTRACT
RECORD = "measurement"


def vendor_folder(ctx: FileContext) -> str:
    """The `<vendor>` folder of landing/instruments/<site>/<vendor>/ (the parser checks that
    it names an allotropy Vendor)."""
    parts = ctx.relative_path.split("/")
    return parts[2] if len(parts) > 3 else ""


@dataclass(frozen=True)
class Parsed:
    """A file's measurements as rows, with each row's position (`<measurement>/<field>`)."""

    rows: list[dict]
    positions: list[str]


def parse(ctx: FileContext) -> Parsed:
    """The file through allotropy (a parser worker), flattened to one row per measured field;
    no warehouse, so threads run it ahead of the load. Raises FileRejected for a file the
    parser refuses."""
    vendor = vendor_folder(ctx)
    check_instrument_file(ctx.path)
    reply, release = parser_pool.parse_file(ctx.path, vendor, ctx.site_timezone)
    if not reply["ok"]:
        raise FileRejected(reply["check"], reply["reason"])
    rows, positions = [], []
    for index, m in enumerate(reply["measurements"], start=1):
        for field, value, unit, flag, target in m["fields"]:
            below = flag is not None and str(flag).startswith("<")
            placeholder = isinstance(value, float) and value == 0 and math.copysign(1, value) < 0
            number = (
                None
                if (below or placeholder or isinstance(value, bool))
                or not isinstance(value, int | float)
                else float(value)
            )
            rows.append(
                {
                    "_row_number": index,
                    "site_id": ctx.site_id,
                    "vendor": vendor.lower(),
                    "sample_id": m["sample_id"],
                    "instrument_batch_id": m["batch_id"],
                    "measured_at_raw": m["measured_at"],
                    "assumed_timezone": ctx.site_timezone,
                    "field": field,
                    "value": number,
                    "value_raw": flag if (below or placeholder) and flag else repr(value),
                    "unit": unit,
                    "censor": "<" if (below or placeholder) else "",
                    "flag": flag,
                    "parser": f"allotropy {release}",
                    "target": target,
                    "well": m["well"],
                }
            )
            positions.append(f"{index}/{target}/{field}" if target else f"{index}/{field}")
    return Parsed(rows, positions)


@dataclass(frozen=True)
class Checked:
    """A file's rows after the contract: those to load (with their positions), those refused."""

    rows_read: int
    frame: pd.DataFrame
    positions: list[str]
    rejected: list[Rejected]


def checked(ctx: FileContext) -> Checked:
    """The file parsed (or its parse-ahead result) and its rows checked against the contract;
    raises FileRejected for a file the parser refuses or that holds no measurement."""
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
    return Checked(len(rows), frame, [positions[i] for i in keep], rejected)


CHECKS = tuple(name for name, _ in CONTRACT.checks(RECORD))


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    result = checked(ctx)
    loaded = append_rows(con, "instrument_measurement", result.frame, ctx, result.positions)
    return FileOutcome(result.rows_read, loaded, result.rejected, CHECKS)


def load_group(con: duckdb.DuckDBPyConnection, ctxs: list[FileContext]) -> dict[str, FileOutcome]:
    """Many files in one transaction and one insert: each file's load was mostly the fixed
    cost of its own transaction and insert (docs/performance.md). A file the parser refuses
    is that file's whole-file rejection; the others load."""
    outcomes: dict[str, FileOutcome] = {}
    frames = []
    for ctx in ctxs:
        try:
            result = checked(ctx)
        except FileRejected as exc:
            outcomes[ctx.relative_path] = whole_file_rejection(ctx, exc)
            continue
        if not result.frame.empty:
            frames.append(raw_rows("instrument_measurement", result.frame, ctx, result.positions))
        outcomes[ctx.relative_path] = FileOutcome(
            result.rows_read, len(result.frame), result.rejected, CHECKS
        )
    if frames:
        insert_raw(con, "instrument_measurement", pd.concat(frames, ignore_index=True))
    return outcomes


def _every_file(ctx: FileContext) -> bool:
    return True


LOADER = Loader(
    "instruments", CONTRACT, load, load_group=load_group, groupable=_every_file, parse=parse
)
