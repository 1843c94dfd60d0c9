"""How well monitoring works on batches it was not fitted to, against known fault onsets.

Normal reference batches are scored by the model fitted without them (leave one batch out);
every other batch by the full model, which never saw it. A faulted batch is detected when its
first alarm comes at or after the fault onset; an alarm before the onset counts as a false
alarm of that batch, not a detection. Delay = first alarm − onset (hours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from twin import monitoring as mon


@dataclass(frozen=True)
class DetectionRow:
    kind: str  # fault type, or "normal"
    n_batches: int
    n_alarmed: int  # normal: false alarms; faulted: detected after onset
    median_delay_h: float | None  # faulted only
    max_delay_h: float | None

    @property
    def rate(self) -> float:
        return self.n_alarmed / self.n_batches if self.n_batches else float("nan")


def first_alarm_hours(
    model: mon.MonitoringModel,
    reference_ids: list[str],
    other_ids: list[str],
    other_scores: mon.Scores,
    step_h: float,
) -> dict[str, float | None]:
    """Batch -> hour of first alarm (None: no alarm), held-out where the batch was reference."""
    out: dict[str, float | None] = {}
    for ids, scores in ((reference_ids, model.held_out), (other_ids, other_scores)):
        for batch, step in zip(ids, mon.first_alarms(model, scores), strict=True):
            out[batch] = None if step is None else step * step_h
    return out


def detection_table(
    alarms: Mapping[str, float | None], faults: Mapping[str, tuple[str, float]]
) -> list[DetectionRow]:
    """One row per fault type and one for normal batches. `faults`: batch -> (type, onset h)."""
    rows = []
    normal = [b for b in alarms if b not in faults]
    rows.append(
        DetectionRow("normal", len(normal), sum(alarms[b] is not None for b in normal), None, None)
    )
    for kind in sorted({k for k, _ in faults.values()}):
        batches = [b for b, (k, _) in faults.items() if k == kind and b in alarms]
        delays = [
            alarms[b] - faults[b][1]
            for b in batches
            if alarms[b] is not None and alarms[b] >= faults[b][1]
        ]
        rows.append(
            DetectionRow(
                kind,
                len(batches),
                len(delays),
                float(np.median(delays)) if delays else None,
                float(np.max(delays)) if delays else None,
            )
        )
    return rows
