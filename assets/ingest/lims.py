"""LIMS extracts -> raw.lims_result (every version of every result kept)."""

from __future__ import annotations

import duckdb
import pandas as pd

from assets.contracts import lims as contract
from assets.ingest.core import FileContext, FileOutcome, Loader, append_rows
from assets.ingest.text import read_contract

CONTRACT = contract.CONTRACT


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    table = read_contract(ctx, CONTRACT, "result")
    good = table.good
    out = pd.DataFrame(
        {
            "_row_number": good["_row_number"].to_numpy(),
            "site_id": ctx.site_id,
            "sample_number": good["SAMPLE_NUMBER"].to_numpy(),
            "text_id": good["TEXT_ID"].to_numpy(),
            "batch_ref": good["BATCH_REF"].to_numpy(),
            "sample_point": good["SAMPLE_POINT"].to_numpy(),
            "sampled_on_raw": good["SAMPLED_ON"].to_numpy(),
            "sampled_on_utc": good["SAMPLED_ON__utc"],
            "sampled_on_local": good["SAMPLED_ON__local"],
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
            "changed_on_utc": good["CHANGED_ON__utc"],
            "changed_on_local": good["CHANGED_ON__local"],
            "change_reason": good["CHANGE_REASON"].to_numpy(),
        }
    )
    loaded = append_rows(con, "lims_result", out, ctx)
    return FileOutcome(table.rows_read, loaded, table.rejected, table.checks)


LOADER = Loader("lims", CONTRACT, load)
