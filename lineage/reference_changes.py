"""What changed in reference data between two loads: pure, one audit entry per changed row.

A row is identified by its table's key columns; an entry says whether it was added, removed
or changed, and gives the old and the new values of the columns that differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

KEYS: Mapping[str, tuple[str, ...]] = {
    "sites": ("site_id",),
    "parameters": ("parameter_id",),
    "units": ("from_unit", "to_unit"),
    "tags": ("site_id", "tag"),
    "lab_tests": ("site_id", "analysis", "component"),
    "instrument_fields": ("vendor", "field"),
    "specifications": ("product_id", "parameter_id", "sample_point"),
    "processes": ("product_id",),
    "site_formats": ("site_id", "system"),
}

Row = Mapping[str, Any]


def _value(v: Any) -> Any:
    """Comparable and JSON-safe: NaN/None are null, whole floats stay floats."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _key(table: str, row: Row) -> str:
    return "|".join(str(_value(row[c])) for c in KEYS[table])


def reference_changes(
    table: str, old: Sequence[Row], new: Sequence[Row], source: str
) -> list[dict[str, Any]]:
    """Audit entries (kind reference_added / _removed / _changed) for one table."""
    before = {_key(table, r): {k: _value(v) for k, v in r.items()} for r in old}
    after = {_key(table, r): {k: _value(v) for k, v in r.items()} for r in new}
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
