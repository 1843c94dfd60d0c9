"""Chain-of-custody extracts -> raw.custody_event."""

from __future__ import annotations

import duckdb
import pandas as pd

from assets.contracts import custody as contract
from assets.contracts.base import group_reasons, row_failures
from assets.ingest.core import FileContext, FileOutcome, Rejected, append_rows
from assets.ingest.text import read_table

CONTRACT = contract


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    rows, rejected = read_table(ctx.path, contract.HEADER, ctx.relative_path)
    frame = pd.DataFrame([f for _, f, _ in rows], columns=list(contract.HEADER), dtype=str)
    numbers = [n for n, _, _ in rows]
    raws = [r for _, _, r in rows]
    failed = group_reasons(row_failures(contract.CustodyEvent, frame)) if len(frame) else {}
    for i, (check, reason) in sorted(failed.items()):
        rejected.append(
            Rejected(numbers[i], raws[i], check, f"{ctx.relative_path} row {numbers[i]}: {reason}")
        )
    keep = [i for i in range(len(frame)) if i not in failed]
    good = frame.iloc[keep]
    event_time = pd.to_datetime(good["EVENT_TIME"], utc=True, errors="coerce", format="ISO8601")
    out = pd.DataFrame(
        {
            "_row_number": [numbers[i] for i in keep],
            "site_id": ctx.site_id,
            "coi_id": good["COI_ID"].to_numpy(),
            "event_type": good["EVENT_TYPE"].to_numpy(),
            "event_time_raw": good["EVENT_TIME"].to_numpy(),
            # a time without offset stays NULL here; dbt resolves it with the site's zone
            "event_time_utc": event_time.where(
                good["EVENT_TIME"].str.contains(r"(?:Z|[+-]\d{2}:\d{2})$", regex=True)
            ).to_numpy()
            if len(good)
            else [],
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
    return FileOutcome(
        len(rows) + sum(1 for r in rejected if r.check.startswith("csv:")), loaded, rejected
    )
