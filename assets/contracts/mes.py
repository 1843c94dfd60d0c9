"""MES batch-record contract (BatchProductionRecord JSON, schema 1.x).

Times are checked when the document is read (assets/ingest/mes.py): ISO 8601 or one of the
site's formats (`<key>:datetime_format`); a time without offset is the site's wall clock, and
a phase boundary that cannot be placed (`<key>:dst_ambiguous`, …) is refused.
"""

from __future__ import annotations

from assets.contracts.rules import NON_EMPTY, Contract, at_least, optional, required, time_field

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

CONTRACT = Contract(
    name="mes",
    version="1.0",
    records={
        "batch_record": (
            required("batch_id", NON_EMPTY),
            required("record_version", at_least(1), dtype=int),
            # a value rule, not a structural one: any process type loads; one outside
            # PROCESS_TYPES is an unknown_process_type row in marts.dq_issues (dbt)
            optional("process_type"),
            required("last_changed_at_raw", NON_EMPTY),
            time_field("last_changed_at"),
        ),
        "phases": (
            required("phase", NON_EMPTY),
            optional("equipment_id"),
            required("start_raw", NON_EMPTY),
            optional("end_raw"),
            time_field("start"),
            time_field("end"),
        ),
        "parameters": (time_field("recorded_at"),),
        "materials": (time_field("consumed_at"),),
        "signatures": (time_field("signed_at"),),
        "deviations": (time_field("opened_at"),),
    },
)
