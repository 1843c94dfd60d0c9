"""Ingestion: landing files -> raw.* with provenance, under contracts (no Dagster here)."""
