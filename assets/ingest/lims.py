"""LIMS extracts -> raw.lims_result (every version of every result kept)."""

from __future__ import annotations

import duckdb
import pandas as pd

from assets.contracts import lims as contract
from assets.contracts.base import group_reasons, row_failures
from assets.ingest.core import FileContext, FileOutcome, Rejected, append_rows
from assets.ingest.text import read_table

CONTRACT = contract


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    rows, rejected = read_table(ctx.path, contract.HEADER, ctx.relative_path)
    frame = pd.DataFrame([f for _, f, _ in rows], columns=list(contract.HEADER), dtype=str)
    numbers = [n for n, _, _ in rows]
    raws = [r for _, _, r in rows]
    failed = group_reasons(row_failures(contract.LimsResult, frame)) if len(frame) else {}
    for i, (check, reason) in sorted(failed.items()):
        rejected.append(
            Rejected(numbers[i], raws[i], check, f"{ctx.relative_path} row {numbers[i]}: {reason}")
        )
    keep = [i for i in range(len(frame)) if i not in failed]
    good = frame.iloc[keep]
    out = pd.DataFrame(
        {
            "_row_number": [numbers[i] for i in keep],
            "site_id": ctx.site_id,
            "sample_number": good["SAMPLE_NUMBER"].to_numpy(),
            "text_id": good["TEXT_ID"].to_numpy(),
            "batch_ref": good["BATCH_REF"].to_numpy(),
            "sample_point": good["SAMPLE_POINT"].to_numpy(),
            "sampled_on_raw": good["SAMPLED_ON"].to_numpy(),
            "analysis": good["ANALYSIS"].to_numpy(),
            "component": good["COMPONENT"].to_numpy(),
            "replicate": good["REPLICATE"].to_numpy(),
            "result_status": good["RESULT_STATUS"].to_numpy(),
            "entry": good["ENTRY"].to_numpy(),
            "numeric_entry_raw": good["NUMERIC_ENTRY"].to_numpy(),
            "numeric_entry": pd.to_numeric(good["NUMERIC_ENTRY"], errors="coerce").to_numpy(),
            "units": good["UNITS"].to_numpy(),
            "spec_min_raw": good["SPEC_MIN"].to_numpy(),
            "spec_max_raw": good["SPEC_MAX"].to_numpy(),
            "entered_by": good["ENTERED_BY"].to_numpy(),
            "entered_on_raw": good["ENTERED_ON"].to_numpy(),
            "reviewed_by": good["REVIEWED_BY"].to_numpy(),
            "reviewed_on_raw": good["REVIEWED_ON"].to_numpy(),
            "changed_on_raw": good["CHANGED_ON"].to_numpy(),
            "change_reason": good["CHANGE_REASON"].to_numpy(),
        }
    )
    loaded = append_rows(con, "lims_result", out, ctx)
    return FileOutcome(
        len(rows) + sum(1 for r in rejected if r.check.startswith("csv:")), loaded, rejected
    )
