"""Unit conversion used by the generator agrees with the shipped units table."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from biotwin.settings import PROJECT_ROOT
from synthetic.catalogue import PARAMETER_BY_ID, SITES, UNIT_CONVERSIONS
from synthetic.units import to_canonical, to_source


def test_known_conversions() -> None:
    assert to_source(37.0, "degF", "degC") == pytest.approx(98.6)
    assert to_canonical(98.6, "degF", "degC") == pytest.approx(37.0)
    assert to_source(40.0, "fraction", "%") == pytest.approx(0.40)
    assert to_source(2.5, "cells/mL", "1e6 cells/mL") == pytest.approx(2.5e6)
    assert to_source(120.0, "mL/min", "mL/h") == pytest.approx(2.0)
    assert to_source(12.0, "L/min", "mL/min") == pytest.approx(0.012)


@pytest.mark.parametrize("site", SITES, ids=lambda s: s.site_id)
def test_every_site_unit_round_trips(site) -> None:
    values = np.array([0.0, 1.5, 37.0, 250.0])
    for pid, (_tag, unit) in site.tags.items():
        canonical = PARAMETER_BY_ID[pid].canonical_unit
        back = to_canonical(to_source(values, unit, canonical), unit, canonical)
        np.testing.assert_allclose(back, values, atol=1e-9)


def test_shipped_units_csv_matches_catalogue() -> None:
    with (PROJECT_ROOT / "reference" / "units.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [
        (r["from_unit"], r["to_unit"], float(r["factor"]), float(r["offset"])) for r in rows
    ] == [tuple(c) for c in UNIT_CONVERSIONS]
