"""Golden batch: which batches are the reference, and their envelope per parameter and step.

Reference rule (docs/twin.md): a batch of the process that was released, had no major
deviation, no out-of-specification result, and a recorded outcome. A site can override the
list. The envelope at each grid step is the reference median and a ±3 SD band, the SD estimated
robustly (1.4826 × the median absolute deviation) over a window of neighbouring steps. The rule
cannot see a fault the batch record did not call a deviation (a feed pump that stopped, a DO
loop that failed); with 7 to 11 reference batches a mean and SD would take one such batch in
and widen the band to its size. The median and MAD ignore it, so it stands out instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from twin.nan import nanmedian_last, quiet_empty_slices

WINDOW_STEPS = 2  # SD pooled over ±2 grid steps
BAND_SD = 3.0
MAD_TO_SD = 1.4826  # SD of a normal distribution per unit of median absolute deviation
MIN_COVERAGE = 0.8  # a step is monitored where 80 % of the reference batches have a value


def reference_batches(
    features: pd.DataFrame, product_id: str, override: list[str] | None = None
) -> list[str]:
    """The reference batches of a product by the documented rule, or the override list."""
    rows = features[features["product_id"] == product_id]
    if override is not None:
        unknown = sorted(set(override) - set(rows["batch_id"]))
        if unknown:
            raise ValueError(f"reference override names batches not of {product_id}: {unknown}")
        return sorted(override)
    good = rows[
        (rows["status"] == "released")
        & (rows["n_major_deviations"].fillna(0) == 0)
        & (rows["n_out_of_spec"].fillna(0) == 0)
        & rows["outcome_value"].notna()
    ]
    return sorted(good["batch_id"])


@dataclass(frozen=True)
class Envelope:
    centre: np.ndarray  # [step, parameter] median of the reference batches
    sd: np.ndarray  # [step, parameter] robust SD over the window; NaN where not monitored
    n_batches: np.ndarray  # [step, parameter] reference batches with a value

    def limits(self) -> tuple[np.ndarray, np.ndarray]:
        return self.centre - BAND_SD * self.sd, self.centre + BAND_SD * self.sd


def envelope(cube: np.ndarray, min_coverage: float = MIN_COVERAGE) -> Envelope:
    """Envelope of reference batches `cube` [batch, step, parameter]. A step where fewer than
    `min_coverage` of the batches have a value is not monitored (NaN)."""
    n_batches = np.sum(~np.isnan(cube), axis=0)
    covered = n_batches >= max(2, int(np.ceil(min_coverage * cube.shape[0])))
    with np.errstate(invalid="ignore"), quiet_empty_slices():
        centre = nanmedian_last(np.moveaxis(cube, 0, -1))
        deviations = np.abs(cube - centre[None])
        # every step's window of ±WINDOW_STEPS at once: [step, parameter, batch x window]
        padded = np.pad(
            deviations, ((0, 0), (WINDOW_STEPS, WINDOW_STEPS), (0, 0)), constant_values=np.nan
        )
        windows = sliding_window_view(padded, 2 * WINDOW_STEPS + 1, axis=1)
        pooled = windows.transpose(1, 2, 0, 3).reshape(cube.shape[1], cube.shape[2], -1)
        sd = MAD_TO_SD * nanmedian_last(pooled)
    centre[~covered] = np.nan
    sd[~covered] = np.nan
    return Envelope(centre=centre, sd=sd, n_batches=n_batches)
