"""Column-level lineage of one SQL statement (a compiled dbt model), with sqlglot.

The statement is qualified against the warehouse's columns, so `select *` and unqualified
columns resolve to the table they come from; each output column is then walked back to the
table columns it is computed from. Pure: SQL and a column catalogue in, a mapping out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, MutableMapping

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import MappingSchema

# {schema: {table: {column: type}}}
Catalogue = Mapping[str, Mapping[str, Mapping[str, str]]]


def column_sources(
    sql: str, catalogue: Catalogue, dialect: str = "duckdb"
) -> dict[str, list[tuple[str, str]]]:
    """Output column -> sorted (`schema.table`, column) it is computed from.

    Catalog (database) names are dropped: the compiled SQL names the database file, which is
    not part of a dataset's name. A column sqlglot cannot resolve is left out rather than
    guessed; a statement it cannot parse gives {}."""
    try:
        tree = parse_one(sql, dialect=dialect)
        for table in tree.find_all(exp.Table):
            table.set("catalog", None)
        # one schema object for the statement: given a plain mapping, sqlglot normalises the
        # whole catalogue again on every call (per column: two thirds of a build's lineage time)
        schema = MappingSchema(
            {s: {t: dict(c) for t, c in ts.items()} for s, ts in catalogue.items()},
            dialect=dialect,
        )
        tree = qualify(tree, schema=schema, dialect=dialect, validate_qualify_columns=False)
        scope = build_scope(tree)
    except SqlglotError:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for column in tree.named_selects:
        try:
            node = lineage(column, tree, schema, dialect=dialect, scope=scope)
        except SqlglotError:
            continue
        sources = set()
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.source, exp.Table):
                continue
            field = leaf.name.split(".")[-1].strip('"')
            if field != "*":
                sources.add((f"{leaf.source.db}.{leaf.source.name}", field))
        if sources:
            out[column] = sorted(sources)
    return out


# the schemas a model can read: the part of the catalogue its lineage depends on
MODEL_SCHEMAS = ("raw", "ref", "staging", "intermediate", "marts")


def catalogue_digest(catalogue: Catalogue) -> str:
    """sha256 of the tables a model can read, with their columns and types."""
    readable = {s: catalogue[s] for s in sorted(catalogue) if s in MODEL_SCHEMAS}
    return hashlib.sha256(json.dumps(readable, sort_keys=True).encode()).hexdigest()


def cached_column_sources(
    sql: str,
    database: str | None,
    catalogue: Catalogue,
    digest: str,
    cache: MutableMapping[str, dict],
) -> dict[str, list]:
    """`column_sources`, remembered in `cache` by the statement (without the database file's
    name, which differs between copies of a warehouse) and the catalogue `digest`. sqlglot
    takes about 0.3 s a model; a model's column lineage changes only with its SQL or the
    schema of what it reads, so a build with neither changed reuses the previous answer."""
    text = sql.replace(f'"{database}".', "") if database else sql
    key = hashlib.sha256(f"{digest}\n{text}".encode()).hexdigest()
    if key not in cache:
        cache[key] = column_sources(sql, catalogue)
    return cache[key]
