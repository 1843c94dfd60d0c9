"""Instrument measurement contract (values as allotropy read them from the vendor file)."""

from __future__ import annotations

from assets.contracts.rules import NON_EMPTY, Contract, matches, optional, required

CONTRACT = Contract(
    name="instruments",
    version="1.1",
    records={
        "measurement": (
            required("sample_id", NON_EMPTY),
            # a dPCR plate export holds no time: the reading stays, with no time
            optional("measured_at_raw", matches(r"^\d{4}-\d{2}-\d{2}T")),
            required("field", NON_EMPTY),
        )
    },
)
