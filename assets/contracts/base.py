"""Turn pandera's failure cases into quarantine decisions a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa


@dataclass(frozen=True)
class RowFailure:
    index: int  # position in the validated frame
    check: str
    reason: str


class FileRejected(Exception):
    """The whole file breaks the contract (wrong shape): nothing in it can be trusted."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason

    def __reduce__(self):  # raised in a parse worker, re-raised here whole
        return (type(self), (self.check, self.reason))


def row_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[RowFailure]:
    """Validate lazily; return one failure per (row, check). Schema-level errors reject the file."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        whole = cases[cases["index"].isna()]
        if not whole.empty:
            first = whole.iloc[0]
            raise FileRejected(
                str(first["check"]),
                f"{first['schema_context']} {first['column'] or ''}: {first['check']} "
                f"(found {first['failure_case']!r})",
            ) from exc
        out = []
        for case in cases.itertuples():
            value = "empty" if case.failure_case is None else repr(case.failure_case)
            out.append(
                RowFailure(
                    int(case.index),
                    f"{case.column}:{case.check}",
                    f"column {case.column!r} fails {case.check}: {value}",
                )
            )
        return out
    return []


def group_reasons(failures: list[RowFailure]) -> dict[int, tuple[str, str]]:
    """One (check, reason) per failing row: all its failed checks, joined."""
    by_row: dict[int, list[RowFailure]] = {}
    for f in failures:
        by_row.setdefault(f.index, []).append(f)
    return {
        i: ("; ".join(f.check for f in fs), "; ".join(f.reason for f in fs))
        for i, fs in by_row.items()
    }
