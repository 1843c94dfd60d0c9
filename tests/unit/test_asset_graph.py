"""The whole asset graph as a reviewed file: every asset's group, upstream keys and checks.

A change to the graph (a new asset, a renamed key, a dependency gained or lost, a check added)
is then a visible diff in tests/snapshots/asset_graph.json, reviewed like code. After an
intended change, rewrite the file: `BIOTWIN_UPDATE_SNAPSHOTS=1 .venv/bin/pytest
tests/unit/test_asset_graph.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "asset_graph.json"


def _graph() -> dict:
    from orchestration.definitions import defs

    checks: dict[str, list[str]] = {}
    for key in defs.resolve_asset_graph().asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), []).append(key.name)
    return {
        spec.key.to_user_string(): {
            "group": spec.group_name,
            "deps": sorted(d.asset_key.to_user_string() for d in spec.deps),
            "checks": sorted(checks.get(spec.key.to_user_string(), [])),
        }
        for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string())
    }


def test_the_asset_graph_is_the_reviewed_one() -> None:
    graph = json.dumps(_graph(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("BIOTWIN_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(graph, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: {__doc__}"
    assert graph == SNAPSHOT.read_text(encoding="utf-8"), (
        "the asset graph changed; if intended, rewrite the snapshot (see this module's "
        "docstring) and review the diff"
    )
