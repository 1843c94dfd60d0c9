"""The twin's own quality checks, as Dagster shows them on its assets (pure functions).

A model that is worse than doing nothing must be visible where people look, never silent:
- a forecast must beat the naive forecast (the training mean) at every checkpoint;
- its 90 % intervals must cover about 90 % of held-out outcomes: not fewer than the binomial
  allowance below 0.90 for the number of batches scored;
- monitoring must stay quiet on normal batches: the share of held-out reference batches with
  an alarm may exceed the 5 % target only by the binomial allowance.
Each check is a rule about values: it warns (asset check severity WARN) and never blocks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

COVERAGE_LEVEL = 0.90
FALSE_ALARM_TARGET = 0.05


@dataclass(frozen=True)
class Verdict:
    passed: bool
    summary: str
    rows: list[dict] = field(default_factory=list)  # per model and checkpoint, for metadata
    failing: int = 0  # rows that break the rule: a number Dagster plots over runs


def allowance(rate: float, n: int) -> float:
    """Two binomial standard deviations of a share measured on `n` batches."""
    return 2.0 * math.sqrt(rate * (1.0 - rate) / max(n, 1))


def _checkpoints(metrics: Sequence[Mapping]) -> list[dict]:
    return sorted(
        (dict(m) for m in metrics), key=lambda m: (str(m.get("model")), m["checkpoint_h"])
    )


def forecast_beats_naive(metrics: Sequence[Mapping]) -> Verdict:
    """Every model and checkpoint: cross-validated MAPE below the naive forecast's."""
    rows = [
        {
            "model": m.get("model"),
            "checkpoint_h": m["checkpoint_h"],
            "mape": round(m["mape"], 2),
            "naive_mape": round(m["naive_mape"], 2),
            "beats_naive": bool(m["mape"] < m["naive_mape"]),
        }
        for m in _checkpoints(metrics)
    ]
    worse = [r for r in rows if not r["beats_naive"]]
    summary = f"{len(rows) - len(worse)} of {len(rows)} checkpoints beat the naive forecast" + (
        "; worse than naive: "
        + ", ".join(f"{r['model']} at {r['checkpoint_h']:g} h" for r in worse)
        if worse
        else ""
    )
    return Verdict(not worse, summary, rows, len(worse))


def forecast_coverage(metrics: Sequence[Mapping]) -> Verdict:
    """Every model and checkpoint: 90 % interval coverage not below 0.90 - allowance(n)."""
    rows = []
    for m in _checkpoints(metrics):
        n = int(m.get("n_batches") or 0)
        floor = COVERAGE_LEVEL - allowance(COVERAGE_LEVEL, n)
        rows.append(
            {
                "model": m.get("model"),
                "checkpoint_h": m["checkpoint_h"],
                "coverage_90": round(m["coverage_90"], 3),
                "lowest_allowed": round(floor, 3),
                "n_batches": n,
                "in_range": bool(m["coverage_90"] >= floor),
            }
        )
    short = [r for r in rows if not r["in_range"]]
    summary = f"{len(rows) - len(short)} of {len(rows)} checkpoints cover enough" + (
        "; too narrow: " + ", ".join(f"{r['model']} at {r['checkpoint_h']:g} h" for r in short)
        if short
        else ""
    )
    return Verdict(not short, summary, rows, len(short))


def monitoring_false_alarms(monitoring: pd.DataFrame) -> Verdict:
    """Per process: held-out reference (normal) batches with an alarm, against the target."""
    held = monitoring[monitoring["scored_held_out"].astype(bool)]
    rows = []
    for product, frame in held.groupby("product_id", sort=True):
        n = frame["batch_id"].nunique()
        alarmed = frame.loc[frame["is_first_alarm"].astype(bool), "batch_id"].nunique()
        ceiling = FALSE_ALARM_TARGET + allowance(FALSE_ALARM_TARGET, n)
        rows.append(
            {
                "product_id": product,
                "normal_batches": n,
                "alarmed": alarmed,
                "rate": round(alarmed / n, 3) if n else 0.0,
                "highest_allowed": round(ceiling, 3),
                "in_range": bool(n == 0 or alarmed / n <= ceiling),
            }
        )
    loud = [r for r in rows if not r["in_range"]]
    summary = (
        ", ".join(f"{r['product_id']} {r['alarmed']}/{r['normal_batches']}" for r in rows)
        or "no held-out batches"
    ) + " normal batches alarmed"
    return Verdict(not loud, summary, rows, len(loud))
