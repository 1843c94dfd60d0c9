"""Chain-of-custody extracts -> raw.custody_event."""

from __future__ import annotations

import duckdb
import pandas as pd

from assets.contracts import custody as contract
from assets.ingest.core import FileContext, FileOutcome, Loader, append_rows
from assets.ingest.text import read_contract

CONTRACT = contract.CONTRACT


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    table = read_contract(ctx, CONTRACT, "event")
    good = table.good
    out = pd.DataFrame(
        {
            "_row_number": good["_row_number"].to_numpy(),
            "site_id": ctx.site_id,
            "coi_id": good["COI_ID"].to_numpy(),
            "event_type": good["EVENT_TYPE"].to_numpy(),
            "event_time_raw": good["EVENT_TIME"].to_numpy(),
            # the instant when written with an offset; else the site's wall clock, which dbt
            # resolves with the site's zone (int_custody__events_ordered)
            "event_time_utc": good["EVENT_TIME__utc"],
            "event_time_local": good["EVENT_TIME__local"],
            "location": good["LOCATION"].to_numpy(),
            "custodian": good["CUSTODIAN"].to_numpy(),
            "signed_by": good["SIGNED_BY"].to_numpy(),
            "container_id": good["CONTAINER_ID"].to_numpy(),
            "temperature_c_raw": good["TEMPERATURE_C"].to_numpy(),
            "temperature_c": pd.to_numeric(good["TEMPERATURE_C"], errors="coerce").to_numpy(),
            "notes": good["NOTES"].to_numpy(),
        }
    )
    loaded = append_rows(con, "custody_event", out, ctx)
    return FileOutcome(table.rows_read, loaded, table.rejected, table.checks)


LOADER = Loader("custody", CONTRACT, load)
