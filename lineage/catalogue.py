"""The warehouse's columns, read once per run for schema facets and column lineage."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from lineage.column_lineage import Catalogue


def read_catalogue(con: duckdb.DuckDBPyConnection) -> Catalogue:
    """{schema: {table or view: {column: type}}} in column order, for the open database."""
    rows = con.execute(
        """SELECT table_schema, table_name, column_name, data_type
           FROM information_schema.columns
           WHERE table_catalog = current_database()
           ORDER BY table_schema, table_name, ordinal_position"""
    ).fetchall()
    out: dict[str, dict[str, dict[str, str]]] = {}
    for schema, table, column, kind in rows:
        out.setdefault(schema, {}).setdefault(table, {})[column] = kind
    return out


def schema_columns(
    catalogue: Catalogue, schema: str, table: str
) -> Iterable[tuple[str, str, str | None]]:
    """(name, type, description) of one table, as the schema facet builder takes them."""
    return [(name, kind, None) for name, kind in catalogue.get(schema, {}).get(table, {}).items()]
