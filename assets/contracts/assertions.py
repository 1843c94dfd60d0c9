"""A contract's checks as data-quality assertions (OpenLineage `dataQualityAssertions`).

The assertions are every check the pandera models of a contract declare, named as quarantine
records them (`COLUMN:check`), plus any other rule that quarantined a row or file in the run
(`csv:header`, `json:parse`, ...). A check failed when the run quarantined a row for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType

import pandera.pandas as pa

Assertion = tuple[str, bool, str | None]


def models_of(contract: ModuleType) -> list[type[pa.DataFrameModel]]:
    return [
        obj
        for obj in vars(contract).values()
        if inspect.isclass(obj)
        and issubclass(obj, pa.DataFrameModel)
        and obj is not pa.DataFrameModel
    ]


def model_checks(model: type[pa.DataFrameModel]) -> list[tuple[str, str]]:
    """(check name as quarantine records it, column) for every check one model declares."""
    out = []
    for column_name, column in model.to_schema().columns.items():
        if not column.nullable:
            out.append((f"{column_name}:not_nullable", column_name))
        out += [(f"{column_name}:{check.error}", column_name) for check in column.checks]
    return out


def declared_checks(contract: ModuleType) -> list[tuple[str, str]]:
    """Every check the contract's models declare, once."""
    return list(dict.fromkeys(c for model in models_of(contract) for c in model_checks(model)))


def contract_assertions(contract: ModuleType, failed: Iterable[str]) -> list[Assertion]:
    """Every declared check (passed unless in `failed`), then the failed rules not declared.
    `failed` holds quarantine check names; one row's several checks come joined by '; '."""
    failed_names = {name for joined in failed for name in joined.split("; ") if name}
    declared = declared_checks(contract)
    names = {name for name, _ in declared}
    out: list[Assertion] = [(name, name not in failed_names, column) for name, column in declared]
    out += [(name, False, None) for name in sorted(failed_names - names)]
    return out
