"""LIMS extracts: weekly incremental CSV files of every result that changed in the window.

A result that changes between two extracts (entered, amended, approved) appears again in the
next extract with a newer CHANGED_ON; nothing is ever overwritten in the files.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from synthetic.catalogue import Site
from synthetic.lab import LabResult
from synthetic.manifest import Manifest, iso_utc, purpose_rng
from synthetic.plan import PlantPlan

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


def _first_cut_after(t: datetime, plant: PlantPlan, tz: str) -> datetime:
    cuts = extract_times(t - timedelta(days=8), plant.extract_at, tz)
    return next((c for c in cuts if c > t), plant.extract_at)


def plant_mess(
    site: Site, results: list[LabResult], plant: PlantPlan, manifest: Manifest, counter: list[int]
) -> list[tuple[LabResult, int]]:
    """Amendments, a cancelled result with its retest, and unlinkable samples."""
    rng = purpose_rng(plant.seed, f"lims-{site.site_id}")
    tz = site.timezone
    numbered: dict[tuple[str, str], int] = {}
    out: list[tuple[LabResult, int]] = []
    for r in results:
        key = (r.sample_id, r.sample_point)
        if key not in numbered:
            counter[0] += 1
            numbered[key] = counter[0]
        out.append((r, numbered[key]))
    candidates = [
        i
        for i, (r, _) in enumerate(out)
        if r.censor == ""
        and r.parameter_id in ("viability", "vcd", "harvest_tvc")
        and _first_cut_after(r.entered_at, plant, tz) + timedelta(hours=12) <= plant.extract_at
    ]
    chosen = (
        sorted(rng.choice(candidates, size=min(3, len(candidates)), replace=False))
        if candidates
        else []
    )
    for n, i in enumerate(chosen):
        r, number = out[i]
        amended_at = _first_cut_after(r.entered_at, plant, tz) + timedelta(hours=3)
        if n == len(chosen) - 1 and n > 0:
            # the last one is cancelled (sample compromised) and retested as replicate 2
            cancelled = replace(
                r,
                approved_at=amended_at,
                entry=_wrong_entry(r.entry),
                numeric=_wrong_entry(r.entry),
                cancelled=True,
                canonical_value=None,
            )
            retest = replace(
                r,
                replicate=2,
                entered_at=amended_at + timedelta(hours=4),
                approved_at=amended_at + timedelta(hours=20),
            )
            out[i] = (cancelled, number)
            out.append((retest, number))
            manifest.add(
                "lims_cancelled_retest",
                "lims",
                site.site_id,
                None,
                sample_id=r.sample_id,
                component=r.component,
                cancelled_entry=cancelled.entry,
                retest_entry=r.entry,
            )
            continue
        reason = (
            "Transcription error corrected (digits transposed)"
            if n % 2 == 0
            else "Recalculated: wrong dilution factor applied"
        )
        wrong = _wrong_entry(r.entry)
        amended = replace(
            r,
            amendment=(wrong, wrong, amended_at, reason),
            approved_at=amended_at + timedelta(hours=10),
        )
        out[i] = (amended, number)
        manifest.add(
            "lims_amendment",
            "lims",
            site.site_id,
            None,
            sample_id=r.sample_id,
            component=r.component,
            first_entry=wrong,
            amended_entry=r.entry,
            change_reason=reason,
        )
    # results that match no batch record: an engineering run and a mistyped reference
    unlinkable = site.lims_unlinkable
    template = next((r for r in results if r.parameter_id == "viability"), None)
    if template is not None:
        for ref, sid in unlinkable:
            counter[0] += 1
            when = plant.batches[len(plant.batches) // 2].start + timedelta(hours=30)
            r = replace(
                template,
                batch_id="",
                batch_ref=ref,
                sample_id=sid,
                sample_point="IPC",
                sampled_at=when,
                entered_at=when + timedelta(hours=2),
                approved_at=when + timedelta(hours=20),
                spec_min="",
                spec_max="",
                replicate=1,
                amendment=None,
                cancelled=False,
            )
            out.append((r, counter[0]))
            manifest.add(
                "lims_unlinkable", "lims", site.site_id, None, batch_ref=ref, sample_id=sid
            )
    return out


def _wrong_entry(entry: str) -> str:
    """A plausible typo: swap the last two digits, or shift the decimal point."""
    digits = [i for i, ch in enumerate(entry) if ch.isdigit()]
    if len(digits) >= 2 and entry[digits[-1]] != entry[digits[-2]]:
        a, b = digits[-2], digits[-1]
        chars = list(entry)
        chars[a], chars[b] = chars[b], chars[a]
        return "".join(chars)
    return f"{float(entry) * 10:.2f}"


def write_site(
    site: Site,
    results: list[tuple[LabResult, int]],
    plant: PlantPlan,
    landing: Path,
    manifest: Manifest,
) -> None:
    """A site's weekly extracts, and where the planted items ended up; the site's header
    mess (an extract job that wrote another report's column names)."""
    tz = site.timezone
    first = min(r.entered_at for r, _ in results) - timedelta(days=1)
    extracts = render_extracts(results, first, plant.extract_at, tz, site.lims_times)
    folder = landing / "lims" / site.site_id
    paths = write_extracts(folder, site.site_id, tz, extracts)
    # locate the planted items in the files they ended up in
    texts = {p: p.read_text(encoding="utf-8") for p in paths}
    for item in manifest.items:
        if item["system"] != "lims" or item["site_id"] != site.site_id or item["path"]:
            continue
        needle = item["detail"]["sample_id"]
        item["detail"]["files"] = [manifest.rel(p) for p, t in texts.items() if needle in t]
        item["path"] = item["detail"]["files"][0] if item["detail"]["files"] else None
    refs = sorted(
        {(r.batch_id, r.batch_ref) for r, _ in results if r.batch_id and r.batch_ref != r.batch_id}
    )
    for batch_id, ref in refs:
        where = [manifest.rel(p) for p, t in texts.items() if f",{ref}," in t]
        if where:
            manifest.add(
                "lims_batch_ref_variant",
                "lims",
                site.site_id,
                Path(manifest.out / where[0]),
                batch_id=batch_id,
                batch_ref=ref,
            )
    censored = [
        (p, line)
        for p, t in texts.items()
        for line in t.splitlines()
        if ",<0.50," in line or ",ND," in line or ",Negative," in line
    ]
    for p, line in censored[:6]:
        fields = next(csv.reader([line]))
        manifest.add(
            "lims_censored",
            "lims",
            site.site_id,
            p,
            sample_id=fields[1],
            component=fields[6],
            entry=fields[9],
        )
    if site.lims_header_rerun and paths:
        # a misconfigured extract job wrote the LabWare column names of another report
        src = paths[0]
        lines = src.read_bytes().decode("utf-8").split("\r\n")
        lines[0] = lines[0].replace("SAMPLE_NUMBER", "SAMPLE_NO").replace("TEXT_ID", "TEXTID")
        bad = folder / (src.stem + "_rerun.csv")
        bad.write_bytes("\r\n".join(lines).encode("utf-8"))
        manifest.add(
            "malformed_file",
            "lims",
            site.site_id,
            bad,
            problem="wrong header: SAMPLE_NO/TEXTID instead of SAMPLE_NUMBER/TEXT_ID",
            retried_as=manifest.rel(src),
        )


def lab_truth(results: list[tuple[LabResult, int]], plant: PlantPlan) -> list[dict]:
    """What truth/lab_results.csv says each result should conform to."""
    out = []
    for r, number in results:
        if r.entered_at > plant.extract_at or r.cancelled:
            continue
        out.append(
            {
                "batch_id": r.batch_id,
                "sample_number": number,
                "sample_id": r.sample_id,
                "sample_point": r.sample_point,
                "parameter_id": r.parameter_id,
                "replicate": r.replicate,
                "entry": r.entry,
                "censor": r.censor,
                "value": "" if r.canonical_value is None else repr(float(r.canonical_value)),
                "sampled_at_utc": iso_utc(r.sampled_at),
            }
        )
    return out
