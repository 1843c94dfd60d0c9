"""Chain-of-identity / chain-of-custody event contract."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

CONTRACT = "custody"
VERSION = "1.0"

HEADER = (
    "COI_ID",
    "EVENT_TYPE",
    "EVENT_TIME",
    "LOCATION",
    "CUSTODIAN",
    "SIGNED_BY",
    "CONTAINER_ID",
    "TEMPERATURE_C",
    "NOTES",
)
EVENT_TYPES = (
    "APHERESIS_COLLECTED",
    "SHIPPED_TO_MANUFACTURING",
    "RECEIVED_AT_MANUFACTURING",
    "MANUFACTURING_STARTED",
    "CRYOPRESERVED",
    "RELEASED",
    "SHIPPED_TO_SITE",
    "RECEIVED_AT_SITE",
    "THAWED",
    "INFUSED",
)
# EVENT_TIME is checked against ISO 8601 and the site's formats when the file is read
# (assets/ingest/text.py, check `EVENT_TIME:datetime_format`); TEMPERATURE_C after a site's
# decimal comma became a point.
TIME_COLUMNS = ("EVENT_TIME",)
NUMBER_COLUMNS = ("TEMPERATURE_C",)


class CustodyEvent(pa.DataFrameModel):
    COI_ID: Series[str] = pa.Field(str_matches=r"^[A-Z0-9-]{4,}$")
    # any event type loads: one outside EVENT_TYPES is an unknown_event_type dq issue (dbt)
    EVENT_TYPE: Series[str] = pa.Field(str_length={"min_value": 1})
    TEMPERATURE_C: Series[str] = pa.Field(str_matches=r"^$|^-?\d+(\.\d+)?$")

    class Config:
        strict = False
