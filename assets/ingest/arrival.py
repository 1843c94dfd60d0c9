"""Whether a landing file has finished arriving: a file still being copied is not data.

Two rules, both about the file's bytes on disk, never about its content:
- **settled**: its size and modification time did not change over the settle window
  (`BIOTWIN_SETTLE_SECONDS`, default 3 s). A file younger than the window is looked at again
  after the window; a file that changed meanwhile is held back for a later run, unrecorded
  (it is not data yet, so it is neither loaded nor quarantined).
- **complete**: a line-based text export (CSV) ends with a line break. One that does not was
  cut (an export that stopped, a copy that broke off): loading it would store a value cut
  after its first digits, so it is quarantined whole with that reason, and the complete file,
  when it arrives with other bytes, loads instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SETTLE_SECONDS = 3.0
LINE_SYSTEMS = ("historian", "lims", "custody")  # systems whose CSV files are line-based


@dataclass(frozen=True)
class Snapshot:
    size: int
    mtime_ns: int


def snapshot(path: Path) -> Snapshot | None:
    try:
        st = path.stat()
    except OSError:
        return None  # vanished since it was listed: not data
    return Snapshot(st.st_size, st.st_mtime_ns)


def settle_seconds(env: dict[str, str] | None = None) -> float:
    value = (os.environ if env is None else env).get("BIOTWIN_SETTLE_SECONDS", "")
    try:
        return max(0.0, float(value)) if value else DEFAULT_SETTLE_SECONDS
    except ValueError:
        return DEFAULT_SETTLE_SECONDS


def settled(
    paths: list[Path],
    window_s: float,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Path], list[Path]]:
    """(settled, still arriving), in the order given. Files modified within the window are
    looked at again once the youngest of them is `window_s` old; at most one wait per call."""
    if window_s <= 0 or not paths:
        return list(paths), []
    first = {p: snapshot(p) for p in paths}
    young = [p for p, s in first.items() if s is not None and now() - s.mtime_ns / 1e9 < window_s]
    if young:
        newest = max(first[p].mtime_ns for p in young) / 1e9
        sleep(max(0.0, newest + window_s - now()))
    arriving = {p for p in paths if first[p] is None}
    arriving |= {p for p in young if snapshot(p) != first[p]}
    return [p for p in paths if p not in arriving], [p for p in paths if p in arriving]


def cut_short(path: Path, system: str) -> str | None:
    """Why a line-based export looks cut (no final line break), or None."""
    if system not in LINE_SYSTEMS or path.suffix.lower() != ".csv":
        return None
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None  # vanished: the load finds it gone and holds it back
    with handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return None  # empty: the loaders say so
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
    if last in (b"\n", b"\r"):
        return None
    return (
        "the last line has no line break: the file looks cut (an export that stopped or a "
        "copy that broke off); re-deliver it complete"
    )
