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
# Times are checked against ISO 8601 and the site's own formats (site_formats.csv) when the
# file is read (assets/ingest/text.py, check `<COLUMN>:datetime_format`); numbers after a
# site's decimal comma became a point.
TIME_COLUMNS = ("SAMPLED_ON", "CHANGED_ON")
NUMBER_COLUMNS = ("NUMERIC_ENTRY", "SPEC_MIN", "SPEC_MAX")
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

    class Config:
        strict = False
