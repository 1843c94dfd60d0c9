"""The audit log's length and head, anchored outside the warehouse.

A hash chain shows an edited entry, but not a log cut short, emptied, dropped or re-hashed from
some entry on: the shorter or rewritten chain is still a valid chain. So after every commit that
grows the log, its head (last seq and hash) is appended to an anchor file outside the DuckDB
file: `<warehouse>.audit-anchor.jsonl` beside it, or `BIOTWIN_AUDIT_ANCHOR` (a WORM mount, a
share the pipeline can only append to). `audit verify` then holds the log to every anchor:
each anchored entry must still be there with the same hash.

Each anchor also says from which entry on the process that wrote it appended (`since`): the
entries it vouches for. An entry no anchor vouches for was not written by the pipeline's own
commit, or was written by a process that died between its commit and its anchor; either way a
person must look at it, so `verify` names it until it is acknowledged (`biotwin audit
acknowledge`, itself an audit entry). That is what catches an entry forged with a correct hash
after the last anchor, which the next run would otherwise vouch for.

The anchor is append-only by convention (`O_APPEND`, one JSON line per head, fsync'd); a site
that needs it tamper-proof puts it where the pipeline's account cannot rewrite it
(docs/gmp.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def anchor_path(warehouse: Path, env: Mapping[str, str] | None = None) -> Path:
    value = (os.environ if env is None else env).get("BIOTWIN_AUDIT_ANCHOR")
    return Path(value) if value else warehouse.with_name(warehouse.name + ".audit-anchor.jsonl")


@dataclass(frozen=True)
class Anchor:
    at: str
    seq: int
    hash: str
    since: int | None = None  # first entry the writer appended; None in anchors before it


class AnchorDamaged(ValueError):
    """A line of the anchor file is not an anchor; the message names the line."""


def write_anchor(path: Path, seq: int, head: str, since: int) -> None:
    """Append one head, vouching for entries `since`..`seq`; a no-op when the last anchor
    already says it. A damaged anchor file does not stop the pipeline: the new head is
    appended, and `verify` reports the damage."""
    try:
        anchors = read_anchors(path)
    except AnchorDamaged:
        anchors = []
    if anchors and anchors[-1].seq == seq and anchors[-1].hash == head:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"at": datetime.now(UTC).isoformat(), "seq": seq, "hash": head, "since": since}
    line = json.dumps(doc) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file, in written order; AnchorDamaged naming the first line that
    is not one (an anchor file edited by hand is itself evidence)."""
    if not path.is_file():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            since = doc.get("since")
            out.append(
                Anchor(
                    str(doc["at"]),
                    int(doc["seq"]),
                    str(doc["hash"]),
                    None if since is None else int(since),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorDamaged(
                f"line {number} of the anchor file {path} is not an anchor ({exc})"
            ) from None
    return out


def check_against_anchors(
    rows: Sequence[Mapping[str, Any]], anchors: Sequence[Anchor]
) -> str | None:
    """What is wrong with the stored log (in stored order) against the anchors, or None."""
    by_seq = {row["seq"]: row["hash"] for row in rows}
    longest = max(anchors, key=lambda a: a.seq, default=None)
    if longest is not None and longest.seq > len(rows):
        return (
            f"the log has {len(rows)} entries, but the anchor of {longest.at} recorded "
            f"{longest.seq}: entries were deleted (the log was cut short or emptied)"
        )
    for anchor in anchors:
        if by_seq.get(anchor.seq) != anchor.hash:
            return (
                f"entry {anchor.seq} is not the one anchored at {anchor.at} (hash "
                f"{anchor.hash[:12]}…): the log was rewritten from entry {anchor.seq} or earlier"
            )
    gaps = unvouched(len(rows), anchors)
    if gaps:
        first, last = gaps[0]
        span = f"entry {first}" if first == last else f"entries {first}-{last}"
        return (
            f"{span} {'is' if first == last else 'are'} vouched for by no anchor: added by "
            "hand (forged with a correct hash), or committed by a process that died before it "
            f"anchored them; review, then `biotwin audit acknowledge {last} --reason …`"
        )
    return None


def unvouched(n_entries: int, anchors: Sequence[Anchor]) -> list[tuple[int, int]]:
    """Runs (first, last) of entries 1..n_entries that no anchor vouches for. An anchor
    written before `since` existed vouches for everything after the anchor before it."""
    covered = []
    previous = 0
    for anchor in anchors:
        start = anchor.since if anchor.since is not None else previous + 1
        covered.append((start, anchor.seq))
        previous = max(previous, anchor.seq)
    covered.sort()
    gaps, next_needed = [], 1
    for start, end in covered:
        if start > next_needed:
            gaps.append((next_needed, min(start - 1, n_entries)))
        next_needed = max(next_needed, end + 1)
    if next_needed <= n_entries:
        gaps.append((next_needed, n_entries))
    return [(a, b) for a, b in gaps if a <= b]
