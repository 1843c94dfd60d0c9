"""Historian exports: one file per equipment and day, as each site's historian writes them.

BOS exports CSV (`tag,timestamp,value,quality,units`) in naive local time; BSL answers the PI Web
API `streamsets/recorded` call with JSON in UTC. Rows are built per equipment, converted to the
site's engineering units, cut into days, and then the planted mess is applied to chosen files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from synthetic.catalogue import PARAMETER_BY_ID, Site, equipment_parameters, format_tag
from synthetic.series import EquipmentUse
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
