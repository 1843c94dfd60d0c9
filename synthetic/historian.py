"""Historian exports: one file per equipment and day, as each site's historian writes them.

BOS exports CSV (`tag,timestamp,value,quality,units`) in naive local time; BSL answers the PI Web
API `streamsets/recorded` call with JSON in UTC. Rows are built per equipment, converted to the
site's engineering units, cut into days, and then the site's planted mess (its catalogue's
`historian_mess`) is applied to chosen files (`write_exports`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from synthetic import mess
from synthetic.catalogue import PARAMETER_BY_ID, SITES, Site, equipment_parameters, format_tag
from synthetic.manifest import Manifest, purpose_rng
from synthetic.plan import BatchPlan, PlantPlan
from synthetic.series import EquipmentUse, epoch_minute, equipment_uses, simulate_batch
from synthetic.units import round_for_unit, to_source

DIGITAL_STATES = {"I/O Timeout": 246, "Bad Input": 307, "Shutdown": 254, "No Data": 248}


@dataclass(frozen=True)
class ExportKey:
    site_id: str
    equipment_id: str
    day: date

    def file_name(self, site: Site) -> str:
        if site.historian_format == "csv":
            return f"PI_EXPORT_{self.equipment_id.replace('-', '')}_{self.day:%Y%m%d}.csv"
        return f"recorded_{self.equipment_id}_{self.day:%Y%m%d}.json"


def use_rows(
    site: Site, use: EquipmentUse, batch_start_minute: int, extract_minute: int
) -> pd.DataFrame:
    """Long rows (one per tag and minute) of one equipment use, in the site's units."""
    keep = use.minutes < extract_minute
    minutes = use.minutes[keep]
    columns: list[tuple[str, str, str, np.ndarray]] = []  # tag, unit, parameter_id, canonical
    for pid in equipment_parameters(use.equipment_id):
        template, unit = site.tags[pid]
        columns.append(
            (format_tag(site, template, use.equipment_id), unit, pid, use.values[pid][keep])
        )
    if use.equipment_id.startswith("BR-"):
        for template, unit, key in site.unmapped_tags:
            columns.append(
                (format_tag(site, template, use.equipment_id), unit, "", use.values[key][keep])
            )
    n, p = len(minutes), len(columns)
    canonical = np.column_stack([c[3] for c in columns]).ravel() if n else np.empty(0)
    source = (
        np.column_stack(
            [
                round_for_unit(
                    to_source(c[3], c[1], PARAMETER_BY_ID[c[2]].canonical_unit) if c[2] else c[3],
                    c[1],
                )
                for c in columns
            ]
        ).ravel()
        if n
        else np.empty(0)
    )
    return pd.DataFrame(
        {
            "minute": np.repeat(minutes, p),
            "tag": np.tile(np.array([c[0] for c in columns], dtype=object), n),
            "units": np.tile(np.array([c[1] for c in columns], dtype=object), n),
            "parameter_id": np.tile(np.array([c[2] for c in columns], dtype=object), n),
            "value": source,
            "state": "",
            "quality": "Good",
            "canonical": canonical,
            "batch_id": use.batch_id,
            "elapsed_h": (np.repeat(minutes, p) - batch_start_minute) / 60.0,
            "in_phase": np.repeat(use.in_phase[keep], p),
            "clean": True,
        }
    )


def day_of(site: Site, minutes: np.ndarray) -> np.ndarray:
    """Export day of each minute: local calendar day at a CSV site, UTC day for PI JSON."""
    ts = pd.to_datetime(minutes * 60, unit="s", utc=True)
    if site.historian_format == "csv":
        ts = ts.tz_convert(site.timezone)
    return np.asarray(ts.date)


def split_days(
    site: Site, equipment_id: str, rows: pd.DataFrame
) -> Iterator[tuple[ExportKey, pd.DataFrame]]:
    days = day_of(site, rows["minute"].to_numpy())
    for day in sorted(set(days)):
        yield ExportKey(site.site_id, equipment_id, day), rows[days == day].reset_index(drop=True)


def local_naive_strings(site: Site, minutes: np.ndarray) -> np.ndarray:
    """ISO timestamps without offset, in the site's wall-clock time (what BOS's export writes)."""
    unique, inverse = np.unique(minutes, return_inverse=True)
    ts = pd.to_datetime(unique * 60, unit="s", utc=True).tz_convert(site.timezone)
    naive = ts.tz_localize(None).to_numpy().astype("datetime64[s]")
    return np.datetime_as_string(naive, unit="s")[inverse]


def utc_strings(minutes: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(minutes, return_inverse=True)
    as_dt = (unique * 60).astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(as_dt, unit="s"), "Z")[inverse]


def ambiguous_local_rows(site: Site, frame: pd.DataFrame) -> int:
    """Rows whose naive local timestamp occurs twice (the DST fall-back hour)."""
    minutes = np.unique(frame["minute"].to_numpy())
    naive = local_naive_strings(site, minutes)
    dup = pd.Series(naive).duplicated(keep=False).to_numpy()
    return int(frame["minute"].isin(minutes[dup]).sum())


def write_csv(path: Path, site: Site, frame: pd.DataFrame) -> None:
    value = frame["value"].astype(object)
    is_state = frame["state"] != ""
    value[is_state] = frame.loc[is_state, "state"]
    quality = frame["quality"].where(frame["quality"] != "Good", "")
    out = pd.DataFrame(
        {
            "tag": frame["tag"],
            "timestamp": local_naive_strings(site, frame["minute"].to_numpy()),
            "value": value,
            "quality": quality,
            "units": frame["units"],
        }
    )
    out.to_csv(path, index=False, lineterminator="\n")


def _json_value(value: float, state: str) -> str:
    if state:
        return json.dumps({"Name": state, "Value": DIGITAL_STATES[state], "IsSystem": True})
    return repr(float(value))


def write_pi_json(path: Path, frame: pd.DataFrame, server: str) -> None:
    """The PI Web API `streamsets/recorded` response body, one stream per tag."""
    stamps = utc_strings(frame["minute"].to_numpy())
    values = frame["value"].to_numpy()
    states = frame["state"].to_numpy()
    quality = frame["quality"].to_numpy()
    units = frame["units"].to_numpy()
    streams = []
    for tag, idx in frame.groupby("tag", sort=False).indices.items():
        items = ",".join(
            f'{{"Timestamp":"{stamps[i]}","Value":{_json_value(values[i], states[i])},'
            f'"Good":{"true" if quality[i] != "Bad" and not states[i] else "false"},'
            f'"Questionable":{"true" if quality[i] == "Questionable" else "false"},'
            f'"Substituted":{"true" if quality[i] == "Substituted" else "false"},'
            f'"Annotated":false}}'
            for i in idx
        )
        streams.append(
            f'{{"Name":{json.dumps(tag)},"Path":{json.dumps(f"{server}{tag}")},'
            f'"UnitsAbbreviation":{json.dumps(units[idx[0]])},"Items":[{items}]}}'
        )
    path.write_text('{"Items":[' + ",".join(streams) + '],"Links":{}}', encoding="utf-8")


def write_export(path: Path, site: Site, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if site.historian_format == "csv":
        write_csv(path, site, frame)
    else:
        write_pi_json(path, frame, server=f"\\\\PI-{site.site_id}\\")


def hourly_truth(frame: pd.DataFrame) -> pd.DataFrame:
    """Ground truth per batch, parameter and elapsed hour (sum and count of canonical values),
    from the rows that carry a real measurement (Good, numeric, in a phase, not planted noise)."""
    ok = frame["clean"] & frame["in_phase"] & (frame["parameter_id"] != "")
    sub = frame.loc[ok, ["batch_id", "parameter_id", "elapsed_h", "canonical"]]
    sub = sub.assign(hour=np.floor(sub["elapsed_h"]).astype(int))
    return (
        sub.groupby(["batch_id", "parameter_id", "hour"], sort=True)["canonical"]
        .agg(["sum", "count"])
        .reset_index()
    )


# Planted mess: a day's rows changed in place, each change said in the manifest's words.


def _run_in_phase(
    frame: pd.DataFrame, rng: np.random.Generator, tag: str, minutes: int
) -> np.ndarray:
    """Row positions of a run of `minutes` consecutive readings of `tag` inside a phase."""
    pos = np.flatnonzero(((frame["tag"] == tag) & frame["in_phase"] & frame["clean"]).to_numpy())
    if len(pos) <= minutes:
        return pos
    first = int(rng.integers(0, len(pos) - minutes))
    return pos[first : first + minutes]


def _mapped_tag(frame: pd.DataFrame, rng: np.random.Generator, parameter: str | None = None) -> str:
    mapped = frame.loc[frame["parameter_id"] != "", ["tag", "parameter_id"]].drop_duplicates()
    if parameter is not None:
        mapped = mapped[mapped["parameter_id"] == parameter]
    tags = sorted(mapped["tag"])
    return str(tags[int(rng.integers(0, len(tags)))])


def digital_state(frame: pd.DataFrame, rng: np.random.Generator, state: str) -> dict:
    """A run of readings replaced by a PI system digital state (no value)."""
    assert state in DIGITAL_STATES
    tag = _mapped_tag(frame, rng)
    pos = _run_in_phase(frame, rng, tag, int(rng.integers(10, 40)))
    col = frame.columns
    frame.iloc[pos, col.get_loc("state")] = state
    frame.iloc[pos, col.get_loc("value")] = np.nan
    frame.iloc[pos, col.get_loc("quality")] = "Bad"
    frame.iloc[pos, col.get_loc("clean")] = False
    return {"tag": tag, "state": state, "rows": len(pos), **_span(frame, pos)}


def quality_flag(frame: pd.DataFrame, rng: np.random.Generator, quality: str) -> dict:
    """A run of readings flagged Bad (reading 0), Questionable, or Substituted (held value)."""
    tag = _mapped_tag(frame, rng)
    pos = _run_in_phase(
        frame, rng, tag, {"Bad": 15, "Questionable": 30, "Substituted": 20}[quality]
    )
    col = frame.columns
    frame.iloc[pos, col.get_loc("quality")] = quality
    frame.iloc[pos, col.get_loc("clean")] = False
    if quality == "Bad":
        frame.iloc[pos, col.get_loc("value")] = 0.0
    elif quality == "Substituted":
        frame.iloc[pos, col.get_loc("value")] = frame.iloc[pos[0], col.get_loc("value")]
    return {"tag": tag, "quality": quality, "rows": len(pos), **_span(frame, pos)}


def spike(frame: pd.DataFrame, rng: np.random.Generator, parameter: str) -> dict:
    """One implausible reading with Good quality (a decimal slip in the transmitter)."""
    tag = _mapped_tag(frame, rng, parameter)
    pos = _run_in_phase(frame, rng, tag, 1)[:1]
    col = frame.columns
    value = float(frame.iloc[pos[0], col.get_loc("value")]) * 10.0
    frame.iloc[pos, col.get_loc("value")] = round(value, 4)
    frame.iloc[pos, col.get_loc("clean")] = False
    return {"tag": tag, "value": round(value, 4), "parameter_id": parameter, **_span(frame, pos)}


def shuffle_block(
    frame: pd.DataFrame, rng: np.random.Generator, rows: int = 300
) -> tuple[pd.DataFrame, dict]:
    """Rows of one stretch written out of time order (the export merged two buffers)."""
    n = len(frame)
    first = int(rng.integers(0, max(n - rows, 1)))
    order = np.arange(n)
    block = order[first : first + rows].copy()
    rng.shuffle(block)
    order[first : first + rows] = block
    return frame.iloc[order].reset_index(drop=True), {"first_row": first + 1, "rows": len(block)}


def _span(frame: pd.DataFrame, pos: np.ndarray) -> dict:
    minutes = frame["minute"].to_numpy()[pos]
    return {
        "first_minute_utc": _minute_iso(int(minutes.min())),
        "last_minute_utc": _minute_iso(int(minutes.max())),
    }


def _minute_iso(minute: int) -> str:
    return str(np.datetime64(minute * 60, "s")) + "Z"


# Writing a plant's exports


def _core_days(plant: PlantPlan, plan_site: Site, site: Site) -> list[tuple[str, date]]:
    """Export keys (bioreactor, day) fully inside a culture: where mess is planted."""
    keys = []
    for b in plant.batches:
        if b.site is not plan_site:
            continue
        start = b.culture.start + timedelta(hours=24)
        end = min(b.culture_end, plant.extract_at) - timedelta(hours=24)
        t = start
        while t < end:
            day = day_of(site, np.array([epoch_minute(t)]))[0]
            keys.append((b.culture.equipment_id, day))
            t += timedelta(days=1)
    return sorted(set(keys))


def write_exports(
    plant: PlantPlan,
    titers: dict[str, float],
    landing: Path,
    manifest: Manifest,
    historian_format: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """Every site's exports, equipment by equipment and day by day (each batch simulated
    again, deterministically), the site's mess planted in chosen files; return the hourly
    truth and the rows written. `historian_format` overrides every site's format."""
    truths: list[pd.DataFrame] = []
    total_rows = 0
    extract_minute = epoch_minute(plant.extract_at)
    for plan_site in SITES:
        # batches are matched on the plan's site; files are written as `site` exports them
        site = plan_site
        if historian_format is not None:
            site = replace(plan_site, historian_format=historian_format)
        rng = purpose_rng(plant.seed, f"historian-{site.site_id}")
        core = _core_days(plant, plan_site, site)
        kinds = site.historian_mess
        picks = rng.choice(len(core), size=min(len(kinds), len(core)), replace=False)
        targets: dict[tuple[str, date], list[str]] = defaultdict(list)
        for kind, p in zip(kinds, picks, strict=False):
            targets[core[int(p)]].append(kind)
        folder = landing / "historian" / site.site_id
        folder.mkdir(parents=True, exist_ok=True)
        site_batches = [
            b for b in plant.batches if b.site is plan_site and b.start <= plant.extract_at
        ]
        equipment = sorted({eq for b in site_batches for eq in _equipment_of(b)})
        unmapped_seen: set[str] = set()
        for eq in equipment:
            pending: dict[date, list[pd.DataFrame]] = {}
            carry: pd.DataFrame | None = None  # tail of a day that gets an overlapping export
            for b in sorted(
                (b for b in site_batches if eq in _equipment_of(b)), key=lambda b: b.start
            ):
                run = simulate_batch(b, titers)
                for use in equipment_uses(run):
                    if use.equipment_id != eq:
                        continue
                    rows = use_rows(site, use, epoch_minute(b.start), extract_minute)
                    if rows.empty:
                        continue
                    first_day = None
                    for key, frame in split_days(site, eq, rows):
                        first_day = first_day or key.day
                        pending.setdefault(key.day, []).append(frame)
                    for day in sorted(d for d in pending if d < first_day):
                        n, carry = _flush_day(
                            site,
                            eq,
                            day,
                            pending.pop(day),
                            folder,
                            targets,
                            rng,
                            manifest,
                            truths,
                            carry,
                        )
                        total_rows += n
            for day in sorted(pending):
                n, carry = _flush_day(
                    site, eq, day, pending.pop(day), folder, targets, rng, manifest, truths, carry
                )
                total_rows += n
            if eq.startswith("BR-"):
                unmapped_seen |= {format_tag(site, t, eq) for t, _, _ in site.unmapped_tags}
        manifest.add(
            "historian_unmapped_tag", "historian", site.site_id, None, tags=sorted(unmapped_seen)
        )
    truth = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()
    return hourly_means(truth), total_rows


def hourly_means(truth: pd.DataFrame) -> pd.DataFrame:
    """Sums and counts per export file -> the mean per batch, parameter and elapsed hour (an
    hour can straddle two files: add up sums and counts, then divide)."""
    if truth.empty:
        return truth
    truth = truth.groupby(["batch_id", "parameter_id", "hour"], sort=True)[["sum", "count"]].sum()
    truth = truth.assign(mean=truth["sum"] / truth["count"]).reset_index()
    return truth[["batch_id", "parameter_id", "hour", "mean", "count"]]


def _equipment_of(b: BatchPlan) -> set[str]:
    return {p.equipment_id for p in b.phases if p.equipment_id.startswith(("BR-", "INC-"))}


def _flush_day(
    site: Site,
    eq: str,
    day: date,
    frames: list[pd.DataFrame],
    folder: Path,
    targets: dict,
    rng: np.random.Generator,
    manifest: Manifest,
    truths: list[pd.DataFrame],
    carry: pd.DataFrame | None,
) -> tuple[int, pd.DataFrame | None]:
    """Write one export file (plus any planted copies); return rows written and the carry."""
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.sort_values(["minute", "tag"], kind="stable").reset_index(drop=True)
    key = ExportKey(site.site_id, eq, day)
    path = folder / key.file_name(site)
    kinds = targets.get((eq, day), [])
    details: list[tuple[str, dict]] = []
    for kind in kinds:
        name, _, arg = kind.partition(":")
        if name == "digital_state":
            details.append(("historian_digital_state", digital_state(frame, rng, arg)))
        elif name == "quality":
            details.append((f"historian_quality_{arg.lower()}", quality_flag(frame, rng, arg)))
        elif name == "spike":
            details.append(("historian_spike", spike(frame, rng, arg)))
    written = frame
    if "shuffle" in kinds:
        written, detail = shuffle_block(frame, rng)
        details.append(("historian_out_of_order", detail))
    write_export(path, site, written)
    rows = len(frame)
    truths.append(hourly_truth(frame))
    for kind, detail in details:
        manifest.add(kind, "historian", site.site_id, path, equipment_id=eq, **detail)
    if site.historian_format == "csv":
        ambiguous = ambiguous_local_rows(site, frame)
        if ambiguous:
            manifest.add(
                "historian_dst_ambiguous",
                "historian",
                site.site_id,
                path,
                equipment_id=eq,
                rows=ambiguous,
                timezone=site.timezone,
            )
    new_carry = None
    if carry is not None:
        head = frame[frame["minute"] < frame["minute"].min() + 240]
        both = pd.concat([carry, head], ignore_index=True)
        late = folder / (path.stem + "_late" + path.suffix)
        write_export(late, site, both)
        rows += len(both)
        manifest.add(
            "historian_overlap",
            "historian",
            site.site_id,
            late,
            equipment_id=eq,
            rows=len(both),
            repeats_rows_of=[manifest.rel(path)],
        )
    if "overlap" in kinds:
        new_carry = frame[frame["minute"] >= frame["minute"].max() - 239]
    if "repeat" in kinds:
        copy = folder / (
            f"{path.stem} (1){path.suffix}"
            if site.historian_format == "csv"
            else f"{path.stem}-resent{path.suffix}"
        )
        data = path.read_bytes()
        copy.write_bytes(data)
        rows += len(frame)
        manifest.add(
            "historian_repeated_file",
            "historian",
            site.site_id,
            copy,
            equipment_id=eq,
            same_bytes_as=manifest.rel(path),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    if "truncate" in kinds:
        bad = folder / f"{path.stem}_attempt1{path.suffix}"
        bad.write_bytes(mess.truncate(path.read_bytes()))
        manifest.add(
            "malformed_file",
            "historian",
            site.site_id,
            bad,
            problem="truncated CSV (export stopped mid-row)",
            retried_as=manifest.rel(path),
        )
    return rows, new_carry
