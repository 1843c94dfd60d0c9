"""Historian contract: tag, timestamp, value (number or digital state), quality, units.

One record type, `point`, whichever format carried it: a CSV export and a PI Web API JSON
response are both typed into the same columns and checked by the same SQL
(assets/ingest/historian.py), so both report the same checks.
"""

from __future__ import annotations

from assets.contracts.rules import NOT_BLANK, Contract, Field, optional, time_field

CSV_HEADERS = (
    ("tag", "timestamp", "value", "quality"),
    ("tag", "timestamp", "value", "quality", "units"),
)
QUALITIES = ("Good", "Questionable", "Substituted", "Bad")

CONTRACT = Contract(
    name="historian",
    version="1.0",
    records={
        "point": (
            Field("tag", (NOT_BLANK,)),
            # ISO 8601 or the site's format; without an offset, the site's wall clock
            time_field("timestamp"),
            # a number, or a PI digital state name (I/O Timeout, Shutdown, …)
            Field("value", (NOT_BLANK,)),
            # a quality code outside QUALITIES is a rule about values: the reading loads as
            # written, is not usable (only Good is), and dbt warns about the code
            optional("quality"),
            optional("units"),
        )
    },
)
