"""NaN handling shared by the twin's models."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_empty_slices() -> Iterator[None]:
    """Means and SDs of all-NaN slices are NaN by design here (no data yet), not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield
