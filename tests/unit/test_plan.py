"""Batch planning: deterministic, feasible schedules and consistent genealogy."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np

from synthetic.catalogue import CART, LVV
from synthetic.plan import DRIFT_RATE_C_PER_H, TURNAROUND_H, plan_plant
from synthetic.series import culture_conditions, epoch_minute

START = date(2026, 10, 19)


def test_same_arguments_same_plan() -> None:
    assert plan_plant(20, 3, START, 0.15) == plan_plant(20, 3, START, 0.15)
    assert plan_plant(20, 3, START, 0.15) != plan_plant(20, 4, START, 0.15)


def test_no_bioreactor_runs_two_cultures_at_once() -> None:
    plant = plan_plant(60, 11, START, 0.15)
    by_reactor: dict[str, list] = {}
    for b in plant.batches:
        by_reactor.setdefault(b.culture.equipment_id, []).append((b.culture.start, b.culture_end))
    for windows in by_reactor.values():
        windows.sort()
        for (_, end), (nxt, _) in itertools.pairwise(windows):
            assert nxt >= end + timedelta(hours=TURNAROUND_H)


def test_vector_lots_are_released_before_car_t_transduction() -> None:
    plant = plan_plant(40, 5, START, 0.15)
    lots = {b.batch_id: b for b in plant.batches if b.process is LVV}
    carts = [b for b in plant.batches if b.process is CART]
    assert carts and lots
    for b in carts:
        assert b.vector_lot in lots
        transduction = next(p for p in b.phases if p.phase == "Transduction")
        assert lots[b.vector_lot].release_at <= transduction.start


def test_fault_fraction_and_onsets_inside_the_culture() -> None:
    plant = plan_plant(40, 5, START, 0.2)
    faulted = [b for b in plant.batches if b.fault]
    assert len(faulted) == 8
    assert {b.fault.fault_type for b in faulted} == {
        "do_control_loss",
        "temperature_excursion",
        "feed_failure",
        "temperature_drift",
    }
    for b in faulted:
        assert b.culture.start < b.fault.onset < b.culture_end
    assert not [b for b in plan_plant(40, 5, START, 0.0).batches if b.fault]


def test_two_sites_in_different_time_zones_one_a_cdmo() -> None:
    plant = plan_plant(12, 7, START, 0.15)
    sites = {b.site.site_id: b.site for b in plant.batches}
    assert len(sites) >= 2
    assert len({s.timezone for s in sites.values()}) >= 2
    assert any(s.is_cdmo for s in sites.values()) and not all(s.is_cdmo for s in sites.values())


def test_a_temperature_drift_cools_slowly_from_its_onset_to_harvest() -> None:
    plant = plan_plant(40, 5, START, 0.2)
    batch = next(b for b in plant.batches if b.fault and b.fault.fault_type == "temperature_drift")
    minutes = np.arange(epoch_minute(batch.culture.start), epoch_minute(batch.culture_end))
    temperature = culture_conditions(batch, minutes)["temperature"]
    onset = epoch_minute(batch.fault.onset) - minutes[0]
    before = temperature[onset - 60 : onset].mean()
    low, high = DRIFT_RATE_C_PER_H
    # 24 h after the onset it is 0.48-0.96 degC cooler (0.02-0.04 degC/h), not a step
    day_later = temperature[onset + 23 * 60 : onset + 24 * 60].mean()
    assert 24 * low - 0.2 <= before - day_later <= 24 * high + 0.2
    hour_later = temperature[onset + 50 : onset + 60].mean()
    assert before - hour_later < 0.15  # no single reading alarms
