"""Two engines' marts compared (biotwin/engines.py): equal as multisets of rows whatever the
order, doubles to a relative tolerance; anything else that differs is found."""

from __future__ import annotations

import pytest

from biotwin.engines import FLOAT_TOLERANCE, compare_tables
from biotwin.warehouse import plain_connection

ROWS = [("A", 1, 2.0, "2026-01-01 00:00:00+00"), ("B", 2, 1.0 / 3.0, "2026-01-02 00:00:00+00")]


@pytest.fixture
def con():
    con = plain_connection()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("l", "r"):
        con.execute(f"CREATE TABLE {name} (k VARCHAR, n BIGINT, x DOUBLE, t TIMESTAMPTZ)")
    con.executemany("INSERT INTO l VALUES (?, ?, ?, ?)", ROWS)
    yield con
    con.close()


def _fill(con, rows) -> None:
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?)", rows)


def test_the_same_rows_in_another_order_with_last_bit_float_noise_are_equal(con) -> None:
    noisy = [(k, n, x * (1 + FLOAT_TOLERANCE / 10), t) for k, n, x, t in reversed(ROWS)]
    _fill(con, noisy)
    result = compare_tables(con, "l", "r", "t")
    assert result.equal and result.rows_left == result.rows_right == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda r: (r[0], r[1], r[2] * (1 + 100 * FLOAT_TOLERANCE), r[3]),  # a float beyond it
        lambda r: (r[0], r[1] + 1, r[2], r[3]),  # an integer
        lambda r: ("C", r[1], r[2], r[3]),  # a text
        lambda r: (r[0], r[1], r[2], "2026-01-01 00:00:01+00"),  # a time
        lambda r: (r[0], r[1], None, r[3]),  # a null
    ],
)
def test_one_changed_value_is_one_row_on_each_side(con, change) -> None:
    _fill(con, [change(ROWS[0]), ROWS[1]])
    result = compare_tables(con, "l", "r", "t")
    assert not result.equal and (result.only_left, result.only_right) == (1, 1)


def test_a_missing_row_and_a_missing_column_are_differences(con) -> None:
    _fill(con, ROWS[:1])
    result = compare_tables(con, "l", "r", "t")
    assert (result.only_left, result.only_right) == (1, 0)
    con.execute("CREATE TABLE r2 AS SELECT k, n, x FROM l")
    assert compare_tables(con, "l", "r2", "t").columns_missing == ("t",)


def test_compare_engines_without_the_spark_engine_says_how_to_install_it(
    tmp_path, monkeypatch, capsys
) -> None:
    """Not a DuckDB run first and a failure minutes later: the missing engine is named at once."""
    import importlib.util

    from orchestration import compare_engines

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    assert compare_engines.run_comparison(tmp_path / "home", 12, 7) == 2
    assert "make install-spark" in capsys.readouterr().out
    assert not (tmp_path / "home").exists()
