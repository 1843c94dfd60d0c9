"""What the Dagster catalog shows about every asset beyond its key: who owns it and what it is
made with. One place, so that the UI's owner and kind filters cover the whole graph.

Owners are the team a question about the asset goes to. A site replaces `OWNERS` with its own
team (`team:<name>` or an e-mail address, Dagster's two owner forms). A dbt model can name
other owners in its `meta: {dagster: {owners: [...]}}`; the translator uses these where a model
has none (orchestration/dbt.py).
"""

from __future__ import annotations

OWNERS = ["team:biotwin-data"]

# kinds: the tools an asset runs on, shown as icons and filterable (Dagster shows three)
REFERENCE_KINDS = {"python", "csv", "duckdb"}
INGESTION_KINDS = {"python", "pandera", "duckdb"}
TWIN_KINDS = {"python", "scikitlearn", "duckdb"}
