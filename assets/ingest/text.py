"""Reading small delimited text files safely: decoding, header and field-count checks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from assets.contracts.base import FileRejected
from assets.ingest.core import Rejected

MAX_FIELD = 1_000_000


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


def read_table(
    path: Path, header: tuple[str, ...], label: str
) -> tuple[list[tuple[int, list[str], str]], list[Rejected]]:
    """Data rows as (row number, fields, raw line) and the rows that do not fit the header.

    Row numbers count data records from 1 (the header is record 0); `label` names the file in
    the reasons."""
    text = decode(path)
    csv.field_size_limit(MAX_FIELD)
    lines = text.splitlines(keepends=False)
    reader = csv.reader(io.StringIO(text))
    try:
        found = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileRejected("csv:header", f"cannot read a header row: {exc}") from exc
    if tuple(h.strip() for h in found) != header:
        raise FileRejected(
            "csv:header",
            f"wrong header: expected {','.join(header)}; found {','.join(found)[:300]}",
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
