"""Property tests on the generator's historian rows, before any mess is planted."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic import historian
from synthetic.catalogue import PARAMETER_BY_ID, SITE_BY_ID
from synthetic.plan import plan_plant
from synthetic.series import epoch_minute, equipment_uses, simulate_batch
from synthetic.units import to_canonical

PLANS = st.builds(
    lambda seed, n, offset: plan_plant(n, seed, date(2026, 1, 5) + timedelta(days=offset), 0.3),
    seed=st.integers(0, 10_000),
    n=st.integers(3, 8),
    offset=st.integers(0, 330),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant=PLANS, pick=st.integers(0, 100))
def test_exports_are_time_ordered_and_in_the_sites_units(plant, pick) -> None:
    batch = plant.batches[pick % len(plant.batches)]
    run = simulate_batch(batch, {})
    site = batch.site
    declared = {pid: unit for pid, (_template, unit) in site.tags.items()}
    for use in equipment_uses(run):
        rows = historian.use_rows(site, use, epoch_minute(batch.start), 10**12)
        for _key, frame in historian.split_days(site, use.equipment_id, rows):
            minutes = frame["minute"].to_numpy()
            assert np.all(np.diff(minutes) >= 0), "an export is in time order before shuffling"
            # one reading per tag and minute
            assert not frame.duplicated(["tag", "minute"]).any()
            mapped = frame[frame["parameter_id"] != ""]
            for pid, unit in mapped.groupby("parameter_id")["units"].unique().items():
                assert list(unit) == [declared[pid]], f"{site.site_id} writes {pid} in {unit}"
            # what the file says converts back to what the process was
            for pid, sub in mapped.groupby("parameter_id"):
                back = to_canonical(
                    sub["value"].to_numpy(), declared[pid], PARAMETER_BY_ID[pid].canonical_unit
                )
                scale = max(1.0, float(np.abs(sub["canonical"]).max()))
                assert np.max(np.abs(back - sub["canonical"].to_numpy())) <= 1e-2 * scale


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_bos_export_days_are_local_days(seed) -> None:
    site = SITE_BY_ID["BOS"]
    start = plan_plant(3, seed, date(2026, 11, 1), 0).batches[0].start
    minutes = epoch_minute(start) + np.arange(0, 3 * 1440, 7, dtype=np.int64)
    days = historian.day_of(site, minutes)
    stamps = historian.local_naive_strings(site, minutes)
    assert all(s.startswith(d.isoformat()) for s, d in zip(stamps, days, strict=True))
