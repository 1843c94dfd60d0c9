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

from twin.process import NAIVE_FORECAST

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


def coverage_bounds(n: int) -> tuple[float, float]:
    """The 90 % interval coverage a calibrated model shows on `n` batches: 0.90 ± allowance."""
    return COVERAGE_LEVEL - allowance(COVERAGE_LEVEL, n), COVERAGE_LEVEL + allowance(
        COVERAGE_LEVEL, n
    )


def _checkpoints(metrics: Sequence[Mapping]) -> list[dict]:
    return sorted(
        (dict(m) for m in metrics), key=lambda m: (str(m.get("model")), m["checkpoint_h"])
    )


def forecast_beats_naive(metrics: Sequence[Mapping]) -> Verdict:
    """Every model and checkpoint: cross-validated MAPE not above the naive forecast's. A
    checkpoint where the choice fell back to the training mean (nothing beat it) *is* the naive
    forecast: it passes, and the summary counts it, so "no better than nothing" is said too."""
    rows = [
        {
            "model": m.get("model"),
            "checkpoint_h": m["checkpoint_h"],
            "chosen": m.get("chosen"),
            "mape": round(m["mape"], 2),
            "naive_mape": round(m["naive_mape"], 2),
            "beats_naive": bool(m["mape"] <= m["naive_mape"] + 1e-9),
        }
        for m in _checkpoints(metrics)
    ]
    worse = [r for r in rows if not r["beats_naive"]]
    naive = [r for r in rows if r["chosen"] == NAIVE_FORECAST]
    summary = (
        f"{len(rows) - len(worse)} of {len(rows)} checkpoints not worse than the naive forecast"
        + (f" ({len(naive)} of them are the training mean: nothing beat it)" if naive else "")
        + (
            "; worse than naive: "
            + ", ".join(f"{r['model']} at {r['checkpoint_h']:g} h" for r in worse)
            if worse
            else ""
        )
    )
    return Verdict(not worse, summary, rows, len(worse))


def forecast_coverage(metrics: Sequence[Mapping]) -> Verdict:
    """Every model and checkpoint: 90 % interval coverage within 0.90 ± allowance(n): fewer
    covered means intervals too narrow to trust, more means intervals wider than they need be."""
    rows = []
    for m in _checkpoints(metrics):
        n = int(m.get("n_batches") or 0)
        floor, ceiling = coverage_bounds(n)
        coverage = m["coverage_90"]
        rows.append(
            {
                "model": m.get("model"),
                "checkpoint_h": m["checkpoint_h"],
                "coverage_90": round(coverage, 3),
                "lowest_allowed": round(floor, 3),
                "highest_allowed": round(ceiling, 3),
                "n_batches": n,
                "in_range": bool(floor <= coverage <= ceiling),
            }
        )
    out = [r for r in rows if not r["in_range"]]
    summary = f"{len(rows) - len(out)} of {len(rows)} checkpoints cover about 90 %" + (
        "; out of range: "
        + ", ".join(
            f"{r['model']} at {r['checkpoint_h']:g} h "
            f"({'too narrow' if r['coverage_90'] < r['lowest_allowed'] else 'too wide'})"
            for r in out
        )
        if out
        else ""
    )
    return Verdict(not out, summary, rows, len(out))


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


def soft_sensor_quality(metrics: Sequence[Mapping]) -> Verdict:
    """Every soft sensor whose estimates are published (it beat the typical curve out of
    fold): 90 % interval coverage within 0.90 ± allowance(batches). The summary names the
    quantities the online data do not explain, which get no estimates."""
    rows = []
    for m in sorted(metrics, key=lambda m: (str(m.get("model")), m["parameter_id"])):
        low, high = coverage_bounds(int(m.get("n_batches") or 0))
        published = bool(m["explained_by_online_data"])
        rows.append(
            {
                "model": m.get("model"),
                "parameter_id": m["parameter_id"],
                "mae_reduction": round(m["mae_reduction"], 3),
                "coverage_90": round(m["coverage_90"], 3),
                "published": published,
                "in_range": (not published) or bool(low <= m["coverage_90"] <= high),
            }
        )
    out = [r for r in rows if not r["in_range"]]
    unexplained = sorted({r["parameter_id"] for r in rows if not r["published"]})
    summary = (
        f"{sum(r['published'] for r in rows)} of {len(rows)} sensors beat the typical curve"
        + (f"; not explained by online data: {', '.join(unexplained)}" if unexplained else "")
        + (
            "; coverage out of range: "
            + ", ".join(f"{r['parameter_id']} ({r['coverage_90']})" for r in out)
            if out
            else ""
        )
    )
    return Verdict(not out, summary, rows, len(out))
