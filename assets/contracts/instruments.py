"""Instrument measurement contract (values as allotropy read them from the vendor file)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

CONTRACT = "instruments"
VERSION = "1.0"


class InstrumentMeasurement(pa.DataFrameModel):
    sample_id: Series[str] = pa.Field(str_length={"min_value": 1})
    measured_at_raw: Series[str] = pa.Field(str_matches=r"^\d{4}-\d{2}-\d{2}T")
    field: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = False
