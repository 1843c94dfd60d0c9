"""Chain-of-identity / chain-of-custody event contract."""

from __future__ import annotations

from assets.contracts.rules import NON_EMPTY, Contract, matches, required, time_field

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

CONTRACT = Contract(
    name="custody",
    version="1.0",
    header=HEADER,
    # checked after a site's decimal comma became a point
    numbers=("TEMPERATURE_C",),
    records={
        "event": (
            required("COI_ID", matches(r"^[A-Z0-9-]{4,}$")),
            # any event type loads: one outside EVENT_TYPES is an unknown_event_type dq issue
            required("EVENT_TYPE", NON_EMPTY),
            time_field("EVENT_TIME"),
            required("TEMPERATURE_C", matches(r"^$|^-?\d+(\.\d+)?$")),
        )
    },
)
