"""Data contracts (pandera), one module per source system, each with a CONTRACT name and VERSION.

Two kinds of failure: *structural* (the record cannot be parsed or breaks the format: it goes to
raw.quarantine with a reason) and *plausibility* (the record is kept and flagged for dq_issues).
"""
