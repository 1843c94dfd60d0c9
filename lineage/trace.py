"""`biotwin trace`: the path of one conformed row back to its source, from records only.

For a mart row: the dbt models it passed through (with the code version of the build that
wrote it, from the audit log), the raw record(s) it came from (`_record_id`, file path, sha256,
row, ingest run, and whether the landing file still has that sha256), and the reference rows
that shaped it (tag mapping, unit conversion, specification, lab test mapping). A lab result
shows every version of the result, so an amendment shows old and new value side by side.

Reads the warehouse (read-only connection) and the dbt manifest; writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

# Besides `_record_id` and a mart's single-column unique key: a key that names several rows.
LOGICAL_KEYS = {"fct_lab_result": "result_id"}  # every version of one result
MAX_ROWS = 20


class TraceError(ValueError):
    """The table or key does not name a conformed row; the message says what would."""


def plain_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def rows_as_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [
        {n: plain_value(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()
    ]


def _node(manifest: Mapping[str, Any], table: str) -> Mapping[str, Any]:
    schema, _, name = table.rpartition(".")
    schema = schema or "marts"
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name and node["schema"] == schema:
            return node
    marts = sorted(n["name"] for n in manifest["nodes"].values() if n.get("schema") == "marts")
    raise TraceError(f"no conformed table {schema}.{name}; the marts are: {', '.join(marts)}")


def key_columns(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
    """Columns a key may be matched against: `_record_id`, the single-column unique keys
    that dbt tests, and the table's logical key (LOGICAL_KEYS)."""
    unique = [
        test["column_name"]
        for test in manifest["nodes"].values()
        if test["resource_type"] == "test"
        and test.get("attached_node") == node["unique_id"]
        and (test.get("test_metadata") or {}).get("name") == "unique"
        and test.get("column_name")
    ]
    logical = [LOGICAL_KEYS[node["name"]]] if node["name"] in LOGICAL_KEYS else []
    return list(dict.fromkeys(["_record_id", *unique, *logical]))


def _ancestors(manifest: Mapping[str, Any], uid: str) -> dict[str, int]:
    """Every upstream node and source of `uid`, with its distance from it."""
    found: dict[str, int] = {}
    todo = [(uid, 0)]
    while todo:
        current, depth = todo.pop()
        node = manifest["nodes"].get(current) or manifest["sources"].get(current) or {}
        for parent in node.get("depends_on", {}).get("nodes", []):
            if found.get(parent, -1) < depth + 1:
                found[parent] = depth + 1
                todo.append((parent, depth + 1))
    return found


# raw tables about files, not source records: no `_record_id` to follow
BOOKKEEPING_TABLES = ("file_ledger", "quarantine")


def _raw_sources(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
    sources = manifest["sources"]
    return [
        uid
        for uid in _ancestors(manifest, node["unique_id"])
        if uid in sources
        and sources[uid]["schema"] == "raw"
        and sources[uid]["name"] not in BOOKKEEPING_TABLES
    ]


def _models_between(
    manifest: Mapping[str, Any], node: Mapping[str, Any], source_uid: str
) -> list[dict]:
    """The models on a path from the raw source to the mart, source side first."""
    path = []
    for uid, depth in _ancestors(manifest, node["unique_id"]).items():
        model = manifest["nodes"].get(uid)
        if model and model["resource_type"] == "model" and source_uid in _ancestors(manifest, uid):
            path.append((depth, model))
    path.append((0, node))
    return [
        {
            "model": f"{m['schema']}.{m['name']}",
            "file": f"dbt_project/{m['original_file_path']}",
            "checksum": m["checksum"]["checksum"],
            "materialized": m["config"]["materialized"],
        }
        for _, m in sorted(path, key=lambda item: -item[0])
    ]


def _file_state(landing: Path | None, source_path: str, sha256: str) -> str:
    if landing is None:
        return "not checked"
    path = landing / source_path
    if not path.is_file():
        return "no longer in the landing zone"
    with path.open("rb") as handle:  # streamed: an export can be large
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return "unchanged (sha256 matches)" if digest == sha256 else f"CHANGED: now sha256 {digest}"


def _superseded_by(con: duckdb.DuckDBPyConnection, sha256: str) -> dict | None:
    """The later version of the file's path, as the marts' file lineage (dim_source_file,
    the one place the rule lives) records it; None if current or never built."""
    try:
        found = rows_as_dicts(
            con,
            "SELECT superseded_by_sha256 AS sha256, superseded_at_utc AS ingested_at "
            "FROM marts.dim_source_file WHERE file_sha256 = ? AND is_superseded",
            [sha256],
        )
    except duckdb.CatalogException:  # marts not built yet
        return None
    return found[0] if found else None


def _raw_record(
    con: duckdb.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    sources: list[str],
    row: Mapping[str, Any],
    landing: Path | None,
) -> dict | None:
    record_id = row.get("_record_id")
    if not record_id:
        return None
    for uid in sources:
        table = f"raw.{manifest['sources'][uid]['identifier'] or manifest['sources'][uid]['name']}"
        sql = f"SELECT * FROM {table} WHERE _record_id = ?"  # noqa: S608 - names from manifest
        params = [record_id]
        if row.get("_file_sha256"):  # narrows the view to one file before hashing row ids
            sql += " AND _file_sha256 = ?"
            params.append(row["_file_sha256"])
        found = rows_as_dicts(con, sql, params)
        if found:
            record = found[0]
            ledger = rows_as_dicts(
                con,
                "SELECT status, contract, contract_version, rows_read, rows_loaded, "
                "rows_quarantined, run_id, processed_at FROM raw.file_ledger "
                "WHERE file_sha256 = ? AND source_path = ? ORDER BY processed_at LIMIT 1",
                [record["_file_sha256"], record["_source_path"]],
            )
            return {
                "source": uid,
                "table": table,
                "record_id": record_id,
                "file": record["_source_path"],
                "file_in_landing": str(landing / record["_source_path"]) if landing else None,
                "sha256": record["_file_sha256"],
                "row_number": record["_row_number"],
                "position": record["_position"],
                "ingest_run": record["_run_id"],
                "ingested_at": record["_ingested_at"],
                "file_now": _file_state(landing, record["_source_path"], record["_file_sha256"]),
                "ledger": ledger[0] if ledger else None,
                "superseded_by": _superseded_by(con, record["_file_sha256"]),
                "values": {k: v for k, v in record.items() if not k.startswith("_")},
            }
    return None


def _reference_rows(
    con: duckdb.DuckDBPyConnection, row: Mapping[str, Any], raw: Mapping[str, Any] | None
) -> list[dict]:
    """The reference rows that shaped this row, by the columns it carries."""
    values = raw["values"] if raw else {}
    site = row.get("site_id") or values.get("site_id")
    out = []

    def add(purpose: str, table: str, where: dict[str, Any]) -> None:
        if any(v is None for v in where.values()):
            return
        condition = " AND ".join(f'"{c}" = ?' for c in where)
        sql = f"SELECT * FROM {table} WHERE {condition}"  # noqa: S608
        for found in rows_as_dicts(con, sql, list(where.values())):
            out.append({"purpose": purpose, "table": table, "row": found})

    if row.get("source_tag"):
        add("tag mapping", "ref.tags", {"site_id": site, "tag": row["source_tag"]})
    if row.get("source_unit") and row.get("unit"):
        if row["source_unit"] == row["unit"]:
            out.append({"purpose": "unit conversion", "table": None, "row": "same unit: none"})
        else:
            add(
                "unit conversion",
                "ref.units",
                {"from_unit": row["source_unit"], "to_unit": row["unit"]},
            )
    if values.get("analysis") and values.get("component"):
        add(
            "lab test mapping",
            "ref.lab_tests",
            {"site_id": site, "analysis": values["analysis"], "component": values["component"]},
        )
    product = row.get("product_id")
    if not product and row.get("batch_id"):
        batch = rows_as_dicts(
            con, "SELECT product_id FROM marts.dim_batch WHERE batch_id = ?", [row["batch_id"]]
        )
        product = batch[0]["product_id"] if batch else None
    if product and row.get("parameter_id"):
        where = {"product_id": product, "parameter_id": row["parameter_id"]}
        if row.get("sample_point"):
            where["sample_point"] = row["sample_point"]
        add("specification", "ref.specifications", where)
    return out


def _built_by(con: duckdb.DuckDBPyConnection, written_at: str | None) -> dict | None:
    """The dbt build that wrote the row, from the audit log: the first build recorded after
    the row's load time when the mart keeps one (incremental marts), else the last build."""
    after = "AND recorded_at >= CAST(? AS TIMESTAMPTZ) ORDER BY seq" if written_at else ""
    found = rows_as_dicts(
        con,
        "SELECT seq, recorded_at, subject, detail FROM audit.audit_log "  # noqa: S608
        f"WHERE kind = 'asset_run' AND subject LIKE 'dbt_models@%' {after or 'ORDER BY seq DESC'} "
        "LIMIT 1",
        [written_at] if written_at else [],
    )
    if not found:
        return None
    detail = json.loads(found[0]["detail"])
    return {
        "dagster_run": found[0]["subject"].split("@", 1)[1],
        "recorded_at": found[0]["recorded_at"],
        "audit_seq": found[0]["seq"],
        "code_version": detail.get("code_version"),
        "command": detail.get("command"),
    }


def trace(
    con: duckdb.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    table: str,
    key: str,
    landing: Path | None = None,
) -> dict[str, Any]:
    """The trace of the mart rows `key` names (see the module docstring), as plain data."""
    node = _node(manifest, table)
    relation = f"{node['schema']}.{node['name']}"
    described = con.execute(f"DESCRIBE {relation}").fetchall()
    columns = {c[0] for c in described}
    keys = [c for c in key_columns(manifest, node) if c in columns]
    condition = " OR ".join(f'"{c}" = ?' for c in keys)
    query = f"SELECT * FROM {relation} WHERE {condition} LIMIT {MAX_ROWS}"  # noqa: S608
    rows = rows_as_dicts(con, query, [key] * len(keys))
    if not rows:
        raise TraceError(f"no row of {relation} has {key!r} in {', '.join(keys)}")
    logical = LOGICAL_KEYS.get(node["name"])
    if logical:  # every version of the result(s), oldest first
        ids = sorted({r[logical] for r in rows})
        rows = rows_as_dicts(
            con,
            f"SELECT * FROM {relation} WHERE {logical} IN ({', '.join('?' * len(ids))}) "  # noqa: S608
            "ORDER BY " + logical + (", version" if "version" in columns else ""),
            ids,
        )
    sources = _raw_sources(manifest, node)
    traced = []
    for row in rows:
        raw = _raw_record(con, manifest, sources, row, landing)
        traced.append(
            {
                "row": row,
                "built_by": _built_by(con, row.get("_batch_loaded_at")),
                "matched_key": any(row.get(c) == key for c in keys),
                "models": _models_between(manifest, node, raw["source"]) if raw else [],
                "raw_record": raw,
                "reference": _reference_rows(con, row, raw),
            }
        )
    return {
        "table": relation,
        "key": key,
        "key_columns": keys,
        "rows": traced,
    }


def _pairs(values: Mapping[str, Any], indent: str) -> list[str]:
    return [f"{indent}{k}: {v}" for k, v in values.items() if v is not None]


def format_trace(doc: Mapping[str, Any]) -> str:
    """The trace as text for a person: one block per row, source side last."""
    lines = [f"trace of {doc['table']} key {doc['key']} ({len(doc['rows'])} row(s))"]
    for number, item in enumerate(doc["rows"], 1):
        marker = " (the key)" if item["matched_key"] and len(doc["rows"]) > 1 else ""
        lines += ["", f"[{number}] mart row{marker}:", *_pairs(item["row"], "    ")]
        built = item["built_by"]
        if built:
            lines.append(
                f"  written by the dbt build of dagster run {built['dagster_run']} at "
                f"{built['recorded_at']}, code {built['code_version']} "
                f"(audit entry {built['audit_seq']})"
            )
        if item["models"]:
            lines.append("  through dbt models (source side first):")
            lines += [
                f"    {m['model']} ({m['materialized']}) {m['file']} checksum {m['checksum'][:12]}"
                for m in item["models"]
            ]
        raw = item["raw_record"]
        if raw:
            lines += [
                f"  raw record {raw['table']} _record_id {raw['record_id']}",
                f"    file {raw['file_in_landing'] or raw['file']}  row {raw['row_number']}"
                + (f"  position {raw['position']}" if raw["position"] else ""),
                f"    sha256 {raw['sha256']}  file now: {raw['file_now']}",
                f"    ingested {raw['ingested_at']} by run {raw['ingest_run']}",
                *(
                    [
                        f"    SUPERSEDED by a later version of this path: sha256 "
                        f"{raw['superseded_by']['sha256']} (ingested "
                        f"{raw['superseded_by']['ingested_at']})"
                    ]
                    if raw.get("superseded_by")
                    else []
                ),
                "    values as the source wrote them:",
                *_pairs(raw["values"], "      "),
            ]
        else:
            lines.append("  raw record: none (this row is derived, not one source record)")
        if item["reference"]:
            lines.append("  reference rows:")
            for ref in item["reference"]:
                lines.append(f"    {ref['purpose']}: {ref['table'] or ''} {ref['row']}")
    return "\n".join(lines)
