"""LIMS result contract (LabWare-style CSV extract)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

CONTRACT = "lims"
VERSION = "1.0"

HEADER = (
    "SAMPLE_NUMBER",
    "TEXT_ID",
    "BATCH_REF",
    "SAMPLE_POINT",
    "SAMPLED_ON",
    "ANALYSIS",
    "COMPONENT",
    "REPLICATE",
    "RESULT_STATUS",
    "ENTRY",
    "NUMERIC_ENTRY",
    "UNITS",
    "SPEC_MIN",
    "SPEC_MAX",
    "ENTERED_BY",
    "ENTERED_ON",
    "REVIEWED_BY",
    "REVIEWED_ON",
    "CHANGED_ON",
    "CHANGE_REASON",
)
STATUSES = ("ENTERED", "REVIEWED", "APPROVED", "REJECTED", "CANCELLED")
DATETIME = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$"
NUMBER_OR_EMPTY = r"^$|^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


class LimsResult(pa.DataFrameModel):
    SAMPLE_NUMBER: Series[str] = pa.Field(str_matches=r"^\d+$")
    TEXT_ID: Series[str] = pa.Field(str_length={"min_value": 1})
    ANALYSIS: Series[str] = pa.Field(str_length={"min_value": 1})
    COMPONENT: Series[str] = pa.Field(str_length={"min_value": 1})
    REPLICATE: Series[str] = pa.Field(str_matches=r"^\d+$")
    # any status code loads: one outside STATUSES is an unknown_result_status dq issue (dbt)
    RESULT_STATUS: Series[str] = pa.Field(str_length={"min_value": 1})
    NUMERIC_ENTRY: Series[str] = pa.Field(str_matches=NUMBER_OR_EMPTY)
    SAMPLED_ON: Series[str] = pa.Field(str_matches=DATETIME)
    CHANGED_ON: Series[str] = pa.Field(str_matches=DATETIME)

    class Config:
        strict = False
