"""Reading small delimited text files safely: decoding, header and field-count checks."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from assets.contracts.base import FileRejected, RowFailure, group_reasons, row_failures
from assets.contracts.rules import Contract
from assets.ingest.core import FileContext, Rejected
from assets.ingest.formats import normalise_numbers, parse_times

MAX_FIELD = 1_000_000
MAX_JSON_BYTES = 512 * 1024 * 1024  # a PI Web API day of one unit is tens of MB


def decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected("file:not_empty", "the file is empty")
    if b"\x00" in data:
        raise FileRejected("file:no_nul", "the file contains NUL bytes (binary or corrupted)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected("file:utf8", f"not UTF-8 at byte {exc.start}: {exc.reason}") from exc


def load_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> object:
    """A JSON document, or FileRejected naming the limit it broke: its size (MAX_JSON_BYTES),
    its nesting (Python's parser stops at about 1,000 levels), or its syntax."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRejected(
            "json:size",
            f"{size:,} bytes: larger than the {max_bytes:,} bytes a JSON document may have",
        )
    text = decode(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(
            "json:parse", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError:
        raise FileRejected(
            "json:depth", "nested deeper than the JSON parser allows (about 1,000 levels)"
        ) from None


def read_table(
    path: Path, header: tuple[str, ...], label: str, delimiter: str = ","
) -> tuple[list[tuple[int, list[str], str]], list[Rejected]]:
    """Data rows as (row number, fields, raw line) and the rows that do not fit the header.

    Row numbers count data records from 1 (the header is record 0); `label` names the file in
    the reasons; `delimiter` is the site's field separator (site_formats.csv)."""
    text = decode(path)
    csv.field_size_limit(MAX_FIELD)
    lines = text.splitlines(keepends=False)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        found = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileRejected("csv:header", f"cannot read a header row: {exc}") from exc
    if tuple(h.strip() for h in found) != header:
        raise FileRejected(
            "csv:header",
            f"wrong header: expected {delimiter.join(header)}; found {delimiter.join(found)[:300]}",
        )
    rows, bad = [], []
    number = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            bad.append(
                Rejected(
                    number,
                    _line(lines, reader.line_num),
                    "csv:parse",
                    f"{label} row {number}: {exc}",
                )
            )
            continue
        number += 1
        raw = _line(lines, reader.line_num)
        if len(fields) != len(header):
            bad.append(
                Rejected(
                    number,
                    raw,
                    "csv:field_count",
                    f"{label} row {number}: {len(fields)} fields, the header has "
                    f"{len(header)} (truncated or shifted row)",
                )
            )
            continue
        rows.append((number, fields, raw))
    return rows, bad


def _line(lines: list[str], line_num: int) -> str:
    return lines[line_num - 1] if 0 < line_num <= len(lines) else ""


@dataclass
class CheckedTable:
    """A delimited file after the header, field-count and contract checks."""

    good: pd.DataFrame  # rows that passed, all columns as strings, with `_row_number`
    rejected: list[Rejected]
    rows_read: int
    checks: tuple[str, ...]  # the contract checks that ran (none if no row got that far)


def read_contract(ctx: FileContext, contract: Contract, record: str) -> CheckedTable:
    """Read `ctx`'s file as a table with the contract's header, check every row against the
    rules of `record`.

    The site's formats (ctx.site_format) apply first: its field separator; a decimal comma in
    the contract's `numbers` columns becomes a point before the rules see them; each time
    field must be ISO 8601 or one of the site's datetime formats, and gets two parsed columns,
    `<column>__utc` (written with an offset) and `<column>__local` (written without one)."""
    site_format = ctx.site_format
    header = contract.header
    rows, rejected = read_table(ctx.path, header, ctx.relative_path, site_format.field_separator)
    frame = pd.DataFrame([f for _, f, _ in rows], columns=list(header), dtype=str)
    for column in contract.numbers:
        frame[column] = normalise_numbers(frame[column], site_format)
    row_numbers = [n for n, _, _ in rows]
    failures = row_failures(contract.schema(record), frame) if len(frame) else []
    times = contract.times(record)
    parsed = {column: parse_times(frame[column], site_format) for column in times}
    for column, result in parsed.items():
        bad = ~result.ok | frame[column].fillna("").str.strip().eq("")
        failures += [
            RowFailure(
                int(i),
                f"{column}:datetime_format",
                f"column {column!r} value {frame.at[i, column]!r} matches none of the site's "
                f"formats ({site_format.tried()})",
            )
            for i in frame.index[bad]
        ]
    failed = group_reasons(failures)
    for i, (check, reason) in sorted(failed.items()):
        rejected.append(
            Rejected(
                row_numbers[i],
                rows[i][2],
                check,
                f"{ctx.relative_path} row {row_numbers[i]}: {reason}",
            )
        )
    for column, result in parsed.items():
        frame[f"{column}__utc"] = result.utc
        frame[f"{column}__local"] = result.local
    keep = [i for i in range(len(frame)) if i not in failed]
    good = frame.iloc[keep].reset_index(drop=True)
    good.insert(0, "_row_number", [row_numbers[i] for i in keep])
    checks = tuple(name for name, _ in contract.checks(record)) if len(frame) else ()
    return CheckedTable(
        good,
        rejected,
        len(rows) + sum(1 for r in rejected if r.check.startswith("csv:")),
        checks,
    )
