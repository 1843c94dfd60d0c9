"""Historian contract: tag, timestamp, value (number or digital state), quality, units."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

CONTRACT = "historian"
VERSION = "1.0"

CSV_HEADERS = (
    ("tag", "timestamp", "value", "quality"),
    ("tag", "timestamp", "value", "quality", "units"),
)
QUALITIES = ("Good", "Questionable", "Substituted", "Bad")

# The same structural rules, as SQL over the typed projection of a CSV export (the DuckDB-native
# path for big files, see assets/ingest/historian.py: columns tag, ts_raw, ts_local, ts_utc,
# value_raw, quality_raw). Each entry: (check name, SQL condition that FAILS, reason shown in
# quarantine).
SQL_CHECKS = (
    ("tag:not_empty", "coalesce(trim(tag), '') = ''", "tag is empty"),
    (
        "timestamp:datetime_format",
        "ts_local IS NULL AND ts_utc IS NULL",
        "timestamp matches none of the site's formats (ISO 8601, then site_formats.csv)",
    ),
    (
        "value:not_empty",
        "number IS NULL AND coalesce(trim(value_raw), '') = ''",
        "value is empty (a number or a PI digital state name is required)",
    ),
    # a quality code outside Good, Questionable, Substituted, Bad is a rule about values: the
    # reading loads as written, is not usable (only Good is), and dbt warns about the code
)


class HistorianPoint(pa.DataFrameModel):
    """A parsed historian reading (PI Web API JSON path)."""

    tag: Series[str] = pa.Field(str_length={"min_value": 1})
    ts_raw: Series[str] = pa.Field(str_matches=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
    value_raw: Series[str] = pa.Field(str_length={"min_value": 1})
    quality: Series[str] = pa.Field(isin=list(QUALITIES))

    class Config:
        strict = False
