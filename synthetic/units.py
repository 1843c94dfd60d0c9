"""Canonical <-> source unit conversion for the generator, from the same table as `units.csv`."""

from __future__ import annotations

import numpy as np

from synthetic.catalogue import UNIT_CONVERSIONS

_DIRECT = {(f, t): (factor, offset) for f, t, factor, offset in UNIT_CONVERSIONS}


def _chain(source_unit: str, canonical_unit: str) -> tuple[float, float]:
    """(factor, offset) with canonical = source * factor + offset, following up to two rows."""
    if source_unit == canonical_unit:
        return 1.0, 0.0
    if (source_unit, canonical_unit) in _DIRECT:
        return _DIRECT[(source_unit, canonical_unit)]
    for (f, mid), (f1, o1) in _DIRECT.items():
        if f == source_unit and (mid, canonical_unit) in _DIRECT:
            f2, o2 = _DIRECT[(mid, canonical_unit)]
            return f1 * f2, o1 * f2 + o2
    msg = f"no conversion from {source_unit!r} to {canonical_unit!r} in UNIT_CONVERSIONS"
    raise KeyError(msg)


def to_source(values: np.ndarray | float, source_unit: str, canonical_unit: str):
    """What a site writes for a canonical value (the inverse of the reference conversion)."""
    factor, offset = _chain(source_unit, canonical_unit)
    return (np.asarray(values) - offset) / factor


def to_canonical(values: np.ndarray | float, source_unit: str, canonical_unit: str):
    factor, offset = _chain(source_unit, canonical_unit)
    return np.asarray(values) * factor + offset


# decimals a site's system keeps, by the unit it writes
DECIMALS = {
    "degC": 2,
    "degF": 2,
    "pH": 3,
    "%": 2,
    "fraction": 4,
    "rpm": 1,
    "sccm": 2,
    "L/min": 5,
    "mL/h": 2,
    "mL/min": 4,
    "L": 5,
    "kg": 3,
    "10^6 cells/mL": 3,
    "cells/mL": -3,
    "mbar": 1,
    "K": 2,
    "L/h": 4,
    "1e5 cells/mL": 2,
}


def round_for_unit(values: np.ndarray, unit: str) -> np.ndarray:
    return np.round(values, DECIMALS.get(unit, 4))
