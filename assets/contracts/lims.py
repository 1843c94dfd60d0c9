"""LIMS result contract (LabWare-style CSV extract)."""

from __future__ import annotations

from assets.contracts.rules import NON_EMPTY, Contract, matches, required, time_field

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
NUMBER_OR_EMPTY = r"^$|^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"

CONTRACT = Contract(
    name="lims",
    version="1.0",
    header=HEADER,
    # checked after a site's decimal comma became a point
    numbers=("NUMERIC_ENTRY", "SPEC_MIN", "SPEC_MAX"),
    records={
        "result": (
            required("SAMPLE_NUMBER", matches(r"^\d+$")),
            required("TEXT_ID", NON_EMPTY),
            time_field("SAMPLED_ON"),
            required("ANALYSIS", NON_EMPTY),
            required("COMPONENT", NON_EMPTY),
            required("REPLICATE", matches(r"^\d+$")),
            # any status code loads: one outside STATUSES is an unknown_result_status dq issue
            required("RESULT_STATUS", NON_EMPTY),
            required("NUMERIC_ENTRY", matches(NUMBER_OR_EMPTY)),
            time_field("CHANGED_ON"),
        )
    },
)
