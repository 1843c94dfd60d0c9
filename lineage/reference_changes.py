"""What changed in reference data between two loads: pure, one audit entry per changed row.

A row is identified by its table's key columns; an entry says whether it was added, removed
or changed, and gives the old and the new values of the columns that differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]


def _value(v: Any) -> Any:
    """Comparable and JSON-safe: NaN/None are null, whole floats stay floats."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _key(key: Sequence[str], row: Row) -> str:
    # a key column a table written before it existed does not hold is empty
    return "|".join(str(_value(row.get(c))) for c in key)


def reference_changes(
    table: str, key: Sequence[str], old: Sequence[Row], new: Sequence[Row], source: str
) -> list[dict[str, Any]]:
    """Audit entries (kind reference_added / _removed / _changed) for one table, its rows
    identified by the `key` columns (assets/contracts/reference.py: KEYS)."""
    before = {_key(key, r): {k: _value(v) for k, v in r.items()} for r in old}
    after = {_key(key, r): {k: _value(v) for k, v in r.items()} for r in new}
    entries = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None:
            kind, detail = "reference_added", {"new": now}
        elif now is None:
            kind, detail = "reference_removed", {"old": was}
        else:
            changed = sorted(c for c in was.keys() | now.keys() if was.get(c) != now.get(c))
            kind = "reference_changed"
            detail = {
                "old": {c: was.get(c) for c in changed},
                "new": {c: now.get(c) for c in changed},
            }
        entries.append(
            {"kind": kind, "subject": f"ref.{table}[{key}]", "detail": {**detail, "source": source}}
        )
    return entries
