"""LIMS extracts: weekly incremental CSV files of every result that changed in the window.

A result that changes between two extracts (entered, amended, approved) appears again in the
next extract with a newer CHANGED_ON; nothing is ever overwritten in the files.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from synthetic.lab import LabResult

LIMS_HEADER = [
    "SAMPLE_NUMBER",
    "TEXT_ID",
    "BATCH_REF",
    "SAMPLE_POINT",
    "SAMPLED_ON",
    "ANALYSIS",
    "COMPONENT",
    "REPLICATE",
    "RESULT_STATUS",
    "ENTRY",
    "NUMERIC_ENTRY",
    "UNITS",
    "SPEC_MIN",
    "SPEC_MAX",
    "ENTERED_BY",
    "ENTERED_ON",
    "REVIEWED_BY",
    "REVIEWED_ON",
    "CHANGED_ON",
    "CHANGE_REASON",
]


@dataclass(frozen=True)
class ResultVersion:
    changed_at: datetime
    status: str
    entry: str
    numeric: str
    reviewed: bool
    reason: str


def versions(r: LabResult) -> list[ResultVersion]:
    """The life of a result: entered, possibly amended or cancelled, then approved."""
    out = []
    if r.amendment:
        old_entry, old_numeric, amended_at, reason = r.amendment
        out.append(ResultVersion(r.entered_at, "ENTERED", old_entry, old_numeric, False, ""))
        out.append(ResultVersion(amended_at, "ENTERED", r.entry, r.numeric, False, reason))
    else:
        out.append(ResultVersion(r.entered_at, "ENTERED", r.entry, r.numeric, False, ""))
    if r.cancelled:
        out.append(
            ResultVersion(
                r.approved_at,
                "CANCELLED",
                r.entry,
                r.numeric,
                True,
                "Sample compromised (haemolysed); retest ordered",
            )
        )
    else:
        last_reason = out[-1].reason
        out.append(ResultVersion(r.approved_at, "APPROVED", r.entry, r.numeric, True, last_reason))
    return out


def _fmt(t: datetime, tz: str, times: str = "wall_clock") -> str:
    """The site's wall clock (`2026-10-20 09:05:00`), or ISO 8601 with the UTC offset
    (`2026-10-20T09:05:00+01:00`) where the LIMS writes that."""
    local = t.astimezone(ZoneInfo(tz))
    if times == "offset":
        return local.isoformat(timespec="seconds")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def row(
    r: LabResult, v: ResultVersion, sample_number: int, tz: str, times: str = "wall_clock"
) -> list[str]:
    return [
        str(sample_number),
        r.sample_id,
        r.batch_ref,
        r.sample_point,
        _fmt(r.sampled_at, tz, times),
        r.analysis,
        r.component,
        str(r.replicate),
        v.status,
        v.entry,
        v.numeric,
        r.unit,
        r.spec_min,
        r.spec_max,
        r.entered_by,
        _fmt(r.entered_at, tz, times),
        r.reviewed_by if v.reviewed else "",
        _fmt(v.changed_at, tz, times) if v.reviewed else "",
        _fmt(v.changed_at, tz, times),
        v.reason,
    ]


def extract_times(first: datetime, last: datetime, tz: str) -> list[datetime]:
    """Sunday 23:00 local every week, and a final extract at the extract time."""
    zone = ZoneInfo(tz)
    local = first.astimezone(zone)
    day = local.date() + timedelta(days=(6 - local.weekday()) % 7)
    out = []
    while True:
        t = datetime(day.year, day.month, day.day, 23, 0, tzinfo=zone).astimezone(first.tzinfo)
        if t >= last:
            break
        out.append(t)
        day += timedelta(days=7)
    out.append(last)
    return out


def render_extracts(
    results: list[tuple[LabResult, int]],
    first: datetime,
    extract_at: datetime,
    tz: str,
    times: str = "wall_clock",
) -> list[tuple[datetime, str]]:
    """(extract time, CSV text) for every weekly extract that has rows."""
    lives = [(r, n, versions(r)) for r, n in results]
    out = []
    previous = first - timedelta(days=1)
    for cut in extract_times(first, extract_at, tz):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(LIMS_HEADER)
        rows = 0
        for r, n, life in lives:
            changed = [v for v in life if previous < v.changed_at <= cut]
            if changed:
                writer.writerow(row(r, changed[-1], n, tz, times))
                rows += 1
        if rows:
            out.append((cut, buf.getvalue()))
        previous = cut
    return out


def file_name(site_id: str, cut: datetime, tz: str) -> str:
    return f"LIMS_RESULTS_{site_id}_{cut.astimezone(ZoneInfo(tz)):%Y%m%d%H%M}.csv"


def write_extracts(
    folder: Path, site_id: str, tz: str, extracts: list[tuple[datetime, str]]
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for cut, text in extracts:
        path = folder / file_name(site_id, cut, tz)
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths
