"""The audit trail's hash chain: pure functions, no I/O.

Each entry's hash is sha256(previous hash || canonical(entry)), where the entry includes its
sequence number. Editing an entry changes its hash; deleting or reordering entries breaks the
sequence or the link to the previous hash. `verify` names the first entry where the chain
breaks, so QA knows where to look.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "recorded_at", "kind", "subject", "actor", "detail")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not canonicalisable: {type(value).__name__}")


def canonical(entry: Mapping[str, Any]) -> bytes:
    """One byte string per entry, independent of key order and platform: sorted keys, no
    whitespace, UTF-8, timestamps as ISO 8601."""
    picked = {field: entry[field] for field in ENTRY_FIELDS}
    return json.dumps(
        picked, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    ).encode("utf-8")


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(entry)).hexdigest()


def chain(
    entries: Iterable[Mapping[str, Any]], last_seq: int, last_hash: str
) -> list[dict[str, Any]]:
    """Number and link new entries after (last_seq, last_hash): rows ready to append."""
    rows, prev, seq = [], last_hash, last_seq
    for entry in entries:
        seq += 1
        row = {**{f: entry.get(f) for f in ENTRY_FIELDS if f != "seq"}, "seq": seq}
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(prev, row)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None

    def message(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} entries verified"
        where = f" at entry {self.first_broken_seq}" if self.first_broken_seq else ""
        return f"audit chain BROKEN{where}: {self.reason}"


def verify(rows: Iterable[Mapping[str, Any]]) -> Verdict:
    """Walk the log in stored order: sequence contiguous from 1, each prev_hash the hash before
    it, each hash recomputed from its entry."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return Verdict(
                False,
                checked,
                expected_seq if seq > expected_seq else seq,
                f"expected entry {expected_seq} here, found entry {seq} "
                "(an entry was deleted or the log reordered)",
            )
        if row["prev_hash"] != prev:
            return Verdict(False, checked, seq, "does not link to the entry before it")
        if entry_hash(prev, row) != row["hash"]:
            return Verdict(False, checked, seq, "content does not match its hash (edited)")
        prev, expected_seq, checked = row["hash"], expected_seq + 1, checked + 1
    return Verdict(True, checked)
