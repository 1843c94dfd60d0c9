"""Planted mess: the ways real extracts go wrong, each recorded in the manifest with its place.

Functions here change a day's historian rows in place (and say what they did), or derive a
damaged copy of a file's bytes. Damaged copies are always *extra* files (a failed export that
was retried), so the ground truth never depends on what a malformed file would have held.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.historian import DIGITAL_STATES


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


def truncate(data: bytes, fraction: float = 0.55) -> bytes:
    """The first part of a file, cut in the middle of a line (an export that died)."""
    cut = int(len(data) * fraction)
    while cut < len(data) and data[cut - 1 : cut] in (b"\n", b"\r", b'"', b","):
        cut += 1
    return data[:cut]


def _span(frame: pd.DataFrame, pos: np.ndarray) -> dict:
    minutes = frame["minute"].to_numpy()[pos]
    return {
        "first_minute_utc": _iso(int(minutes.min())),
        "last_minute_utc": _iso(int(minutes.max())),
    }


def _iso(minute: int) -> str:
    return str(np.datetime64(minute * 60, "s")) + "Z"
