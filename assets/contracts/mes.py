"""MES batch-record contract (BatchProductionRecord JSON, schema 1.x)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

CONTRACT = "mes"
VERSION = "1.0"

PROCESS_TYPES = ("autologous", "allogeneic", "vector", "other")
REQUIRED_KEYS = (
    "record_type",
    "schema_version",
    "batch_id",
    "record_version",
    "last_changed_at",
    "site_id",
    "product_id",
    "process_type",
    "status",
    "phases",
)
# Times are checked when the document is read (assets/ingest/mes.py): ISO 8601 or one of the
# site's formats (check `<key>:datetime_format`); a time without offset is the site's wall
# clock, and a phase boundary that cannot be placed (`<key>:dst_ambiguous`, …) is refused.


class BatchRecord(pa.DataFrameModel):
    batch_id: Series[str] = pa.Field(str_length={"min_value": 1})
    record_version: Series[int] = pa.Field(ge=1)
    # a value rule, not a structural one: any process type loads; one outside PROCESS_TYPES is
    # an unknown_process_type row in marts.dq_issues (dbt), never a quarantined record
    process_type: Series[str] = pa.Field(nullable=True)
    last_changed_at_raw: Series[str] = pa.Field(str_length={"min_value": 1})


class Phase(pa.DataFrameModel):
    phase: Series[str] = pa.Field(str_length={"min_value": 1})
    equipment_id: Series[str] = pa.Field(nullable=True)
    start_raw: Series[str] = pa.Field(str_length={"min_value": 1})
    end_raw: Series[str] = pa.Field(nullable=True)
