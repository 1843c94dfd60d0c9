"""The growing marts are incremental by batch: loading late files and building incrementally
gives exactly what a full refresh gives, and a build with nothing new changes nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from synthetic.generate import DEFAULT_START, generate
from tests.conftest import PLANT_SEED, run_assets, run_dbt
from tests.helpers import query

GROWING = ("fct_process_timeseries", "fct_batch_trajectory")
LATE_DAYS = 3


def _held_back(landing: Path) -> list[Path]:
    """Late arrivals: the last days of historian exports, QA re-exports of batch records and
    each site's newest LIMS extract."""
    exports = {
        p: m.group(1)
        for p in (landing / "historian").rglob("*")
        if p.is_file() and (m := re.search(r"_(\d{8})", p.name))
    }
    first_late_day = sorted(set(exports.values()))[-LATE_DAYS]
    late = [p for p, day in exports.items() if day >= first_late_day]
    late += sorted((landing / "mes").rglob("*_v2.json"))
    for site in sorted((landing / "lims").iterdir()):
        late.append(max(site.glob("*.csv")))
    return late


def _fingerprint(warehouse: Path, table: str) -> tuple:
    """Order-independent hash of every column of every row."""
    columns = query(
        warehouse,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    )["column_name"].tolist()
    listed = ", ".join(f'"{c}"' for c in columns)
    row = query(
        warehouse,
        f"SELECT count(*) AS n, sum(hash({listed}))::VARCHAR AS h FROM marts.{table}",
    ).iloc[0]
    return int(row["n"]), row["h"]


def test_incremental_build_equals_full_refresh(tmp_path: Path) -> None:
    # a plant of its own, small (4 cell-therapy and 3 fed-batch batches, every site): the
    # property is per batch and per file, and four dbt builds of the session plant cost 2 min
    plant_dir = tmp_path / "plant"
    generate(plant_dir, 4, PLANT_SEED, DEFAULT_START, fedbatch_batches=3)
    landing = tmp_path / "landing"
    shutil.copytree(plant_dir / "landing", landing)
    parked = tmp_path / "parked"
    late = _held_back(landing)
    # late files of every site's historian and LIMS
    held = {(p.relative_to(landing).parts[0], p.relative_to(landing).parts[1]) for p in late}
    assert {(s, site) for s in ("historian", "lims") for site in ("BOS", "BSL", "CRK")} <= held
    for path in late:
        target = parked / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)

    warehouse = tmp_path / "warehouse.duckdb"
    reference = plant_dir / "reference"
    run_assets(landing, warehouse, reference)
    assert run_dbt(warehouse).success
    before = {t: _fingerprint(warehouse, t) for t in GROWING}

    for path in late:
        (parked / path.relative_to(landing)).rename(path)
    run_assets(landing, warehouse, reference)
    assert run_dbt(warehouse).success
    incremental = {t: _fingerprint(warehouse, t) for t in GROWING}
    assert all(incremental[t][0] > before[t][0] for t in GROWING)  # the late data arrived

    # nothing new: nothing changes
    assert run_dbt(warehouse).success
    assert {t: _fingerprint(warehouse, t) for t in GROWING} == incremental

    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse, full)
    assert run_dbt(full, full_refresh=True).success
    assert {t: _fingerprint(full, t) for t in GROWING} == incremental
