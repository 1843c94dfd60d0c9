"""One declaration, two engines: every contract's rules give the same verdict per row whether
pandera runs them on a frame or DuckDB runs their SQL, and the check names agree."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.contracts.base import row_failures
from assets.contracts.rules import Contract, Rule
from assets.ingest.run import LOADERS
from biotwin.warehouse import plain_connection

# values chosen to sit on every rule's edges: empty, blank, null, short, signs, dates
TEXTS = ["", " ", "  x ", "a", "ab", "123", "12a", "-4.5", "4.", ".5", "1e9", "ABCD-1", "abc-1"]
TEXTS += ["2026-01-05T14:00", "2026-1-5", "x2026-01-05T", None]


def _sample(contract: Contract, record: str) -> pd.DataFrame:
    """Every combination of edge values would be large: each column cycles through them with
    a different stride, so rows mix failures."""
    fields = [f for f in contract.records[record] if any(r.kind != "parsed_time" for r in f.rules)]
    n = len(TEXTS) * 3
    data = {}
    for k, f in enumerate(fields):
        if f.dtype is int:
            data[f.name] = pd.Series([(i % 5) - 1 for i in range(n)], dtype="int64")
        else:
            data[f.name] = [TEXTS[(i * (k + 1)) % len(TEXTS)] for i in range(n)]
    return pd.DataFrame(data)


CASES = [
    (loader.contract, record)
    for loader in LOADERS.values()
    for record in loader.contract.records
    if any(r.kind != "parsed_time" for f in loader.contract.records[record] for r in f.rules)
]


@pytest.mark.parametrize(("contract", "record"), CASES, ids=[f"{c.name}.{r}" for c, r in CASES])
def test_pandera_and_sql_fail_the_same_rows_for_the_same_checks(
    contract: Contract, record: str
) -> None:
    frame = _sample(contract, record)
    by_pandera = {(f.index, f.check) for f in row_failures(contract.schema(record), frame)}
    con = plain_connection()
    con.register("sample", frame.assign(_i=range(len(frame))))
    by_sql = set()
    for name, condition, _reason in contract.sql_checks(record):
        if name.endswith(":datetime_format"):
            continue  # the time parser's rule (tests/unit/test_formats.py)
        rows = con.execute(f"SELECT _i FROM sample WHERE {condition}").fetchall()
        by_sql |= {(int(i), name) for (i,) in rows}
    con.close()
    assert by_pandera, "the sample breaks some rule"
    assert by_sql == by_pandera


def test_check_names_are_the_ones_quarantine_records() -> None:
    lims = LOADERS["lims"].contract
    assert ("SAMPLE_NUMBER:str_matches('^\\d+$')", "SAMPLE_NUMBER") in lims.checks()
    assert ("SAMPLED_ON:datetime_format", "SAMPLED_ON") in lims.checks()
    historian = LOADERS["historian"].contract
    assert [name for name, _ in historian.checks()] == [
        "tag:not_empty",
        "timestamp:datetime_format",
        "value:not_empty",
    ]


def test_a_field_name_that_is_not_an_identifier_is_refused() -> None:
    from assets.contracts.rules import Field

    with pytest.raises(ValueError, match="plain name"):
        Field('x" OR 1=1 --', (Rule("not_blank"),))
