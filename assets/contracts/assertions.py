"""A contract's checks as data-quality assertions (OpenLineage `dataQualityAssertions`).

The assertions are the checks that ran, named as quarantine records them (`COLUMN:check`),
plus any other rule that quarantined a row or file in the run (`csv:header`, `json:parse`,
...). A check failed when the run quarantined a row for it. A check that did not run (no
file of the run reached it) is not reported: the facet says what was checked, not what
could have been.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandera.pandas as pa

from assets.contracts.rules import Contract

Assertion = tuple[str, bool, str | None]


def model_checks(model: type[pa.DataFrameModel]) -> list[tuple[str, str]]:
    """(check name, column) for every check a pandera model declares: the reference data's
    contracts, which a load either passes whole or refuses (assets/contracts/reference.py)."""
    out = []
    for column_name, column in model.to_schema().columns.items():
        if not column.nullable:
            out.append((f"{column_name}:not_nullable", column_name))
        out += [(f"{column_name}:{check.error}", column_name) for check in column.checks]
    return out


def contract_assertions(
    contract: Contract, failed: Iterable[str], ran: Iterable[str] | None = None
) -> list[Assertion]:
    """Every declared check that ran (all of them when `ran` is None), passed unless in
    `failed`, then the failed rules not declared. `failed` holds quarantine check names; one
    row's several checks come joined by '; '."""
    failed_names = {name for joined in failed for name in joined.split("; ") if name}
    declared = contract.checks()
    names = {name for name, _ in declared}
    ran_names = names if ran is None else set(ran) | (failed_names & names)
    out: list[Assertion] = [
        (name, name not in failed_names, column) for name, column in declared if name in ran_names
    ]
    out += [(name, False, None) for name in sorted(failed_names - names)]
    return out
