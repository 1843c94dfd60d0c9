"""NaN handling shared by the twin's models."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def quiet_empty_slices() -> Iterator[None]:
    """Means and SDs of all-NaN slices are NaN by design here (no data yet), not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


def nanmedian_last(a: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where all are NaN), by one sort: numpy's
    nanmedian takes a slow masked-array path per small slice, and the envelope of a leave-one-out
    fit asks for hundreds of them."""
    ordered = np.sort(a, axis=-1)  # NaN sort last
    n = np.sum(~np.isnan(a), axis=-1)
    low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(ordered, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    return np.where(n > 0, (low + high) / 2.0, np.nan)
