"""The fingerprint two builds compare: blind to row order and to when/which run built a
table, sensitive to any kept value."""

from __future__ import annotations

import duckdb

from biotwin.fingerprint import table_fingerprints


def _warehouse(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.fct (batch_id VARCHAR, value DOUBLE, run_id VARCHAR, note VARCHAR)"
    )
    con.executemany("INSERT INTO marts.fct VALUES (?, ?, ?, ?)", rows)
    return con


def test_same_rows_in_another_order_from_another_run_are_the_same_table() -> None:
    first = _warehouse([("B1", 1.5, "run-1", None), ("B2", 2.0, "run-1", "x")])
    again = _warehouse([("B2", 2.0, "run-2", "x"), ("B1", 1.5, "run-2", None)])
    assert table_fingerprints(first) == table_fingerprints(again)
    assert table_fingerprints(first)["marts.fct"][0] == 2


def test_a_changed_value_or_a_lost_row_changes_the_fingerprint() -> None:
    base = table_fingerprints(_warehouse([("B1", 1.5, "r", None), ("B2", 2.0, "r", "x")]))
    changed = table_fingerprints(_warehouse([("B1", 1.5, "r", None), ("B2", 2.5, "r", "x")]))
    lost = table_fingerprints(_warehouse([("B1", 1.5, "r", None)]))
    null_moved = table_fingerprints(_warehouse([("B1", 1.5, "r", "x"), ("B2", 2.0, "r", None)]))
    assert (
        len({base["marts.fct"], changed["marts.fct"], lost["marts.fct"], null_moved["marts.fct"]})
        == 4
    )
