"""Published states on real DuckDB files: the copy, the swap, the newest N, `--as-of`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from biotwin.files import sha256_of
from biotwin.publication import (
    NotPublished,
    as_of,
    current,
    publications,
    publish,
)
from biotwin.warehouse import connect


def _warehouse(path: Path, batches: int) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE SCHEMA IF NOT EXISTS twin")
    con.execute(
        "CREATE OR REPLACE TABLE marts.dim_batch AS SELECT range AS b FROM range(?)", [batches]
    )
    con.execute("CREATE OR REPLACE TABLE twin.outcome_forecast AS SELECT 1 AS f")
    return con


def test_a_publication_is_a_read_only_copy_listed_with_its_hash_and_row_counts(
    tmp_path: Path,
) -> None:
    warehouse, folder = tmp_path / "warehouse.duckdb", tmp_path / "published"
    con = _warehouse(warehouse, 3)
    made = publish(con, warehouse, folder, "run-aaaa-1111", "abc123", keep=5)
    con.execute("INSERT INTO marts.dim_batch VALUES (99)")  # the warehouse moves on
    con.close()
    assert made.tables == {"marts.dim_batch": 3, "twin.outcome_forecast": 1}
    assert made.sha256 == sha256_of(made.path(folder))
    assert not made.path(folder).stat().st_mode & 0o222  # nobody writes it again
    assert current(folder) == made
    reader = connect(made.path(folder), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM marts.dim_batch").fetchall() == [(3,)]
    finally:
        reader.close()
    assert [p.seq for p in publications(folder)] == [1]


def test_only_the_newest_are_kept_and_as_of_finds_a_run_or_a_time(tmp_path: Path) -> None:
    warehouse, folder = tmp_path / "warehouse.duckdb", tmp_path / "published"
    made = []
    for n in range(4):
        con = _warehouse(warehouse, n + 1)
        made.append(publish(con, warehouse, folder, f"run{n}-0000-0000", "abc", keep=3))
        con.close()
    kept = publications(folder)
    assert [p.seq for p in kept] == [2, 3, 4]
    assert not made[0].path(folder).exists()  # the oldest file is gone with its entry
    assert sorted(f.name for f in folder.glob("*.duckdb")) == [p.file for p in kept]
    assert current(folder) == made[3]
    assert as_of(folder, "run2") == made[2]  # a run id's first characters
    between = datetime.fromisoformat(made[2].published_at) + timedelta(microseconds=1)
    assert as_of(folder, between.isoformat()) == made[2]
    with pytest.raises(NotPublished, match="run0"):  # pruned: says what is kept
        as_of(folder, "run0")
    with pytest.raises(NotPublished, match="no kept publication is as old as"):
        as_of(folder, "2000-01-01T00:00:00")
    index = json.loads((folder / "index.json").read_text())
    assert [entry["run_id"] for entry in index] == [
        "run1-0000-0000",
        "run2-0000-0000",
        "run3-0000-0000",
    ]


def test_nothing_published_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(NotPublished, match="make demo"):
        current(tmp_path / "published")
