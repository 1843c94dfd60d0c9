"""Reference CSVs -> ref.* (replaced as a whole, under contracts; a bad row stops the load)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pandas as pd

from assets.contracts import reference as contract
from assets.contracts.base import FileRejected, group_reasons, row_failures
from assets.ingest.formats import SiteFormat, site_format_from_row
from assets.ingest.sql import table as sql_table
from biotwin.files import sha256_of
from biotwin.warehouse import table_exists
from lineage import audit_log as audit
from lineage.reference_changes import reference_changes


def numeric_columns(model: type) -> set[str]:
    """The columns the contract types as numbers: read as floats (an empty cell is null), so
    a new numeric column of a new reference file needs no list kept here."""
    return {c for c, spec in model.to_schema().columns.items() if str(spec.dtype) == "float64"}


class ReferenceError(ValueError):
    """Reference data that breaks its contract: names the file, the row and the rule."""


@dataclass(frozen=True)
class ReferenceTable:
    name: str  # file name
    frame: pd.DataFrame


def read_reference(folder: Path) -> list[ReferenceTable]:
    """Read and check every reference CSV; raise ReferenceError listing every problem."""
    problems: list[str] = []
    tables = []
    for name, model in contract.MODELS.items():
        path = folder / name
        if not path.is_file() and name in contract.OPTIONAL:
            columns = list(model.to_schema().columns)
            tables.append(
                ReferenceTable(name, pd.DataFrame({c: pd.Series(dtype=str) for c in columns}))
            )
            continue
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        # an optional column a reference folder predates is there, empty: SQL can name it
        for column, spec in model.to_schema().columns.items():
            if column not in frame.columns and not spec.required:
                frame[column] = ""
        numeric = numeric_columns(model)
        for column in frame.columns:
            if column in numeric:
                frame[column] = pd.to_numeric(
                    frame[column].replace("", None), errors="coerce"
                ).astype("float64")
            else:
                frame[column] = frame[column].replace("", None)
        try:
            failures = group_reasons(row_failures(model, frame))
        except FileRejected as exc:
            problems.append(f"{path}: {exc.reason}")
            continue
        for index, (check, reason) in sorted(failures.items()):
            problems.append(f"{path} row {index + 1}: {reason} [{check}]")
        problems += _check_keys(path, frame, contract.KEYS[name])
        if name == "sites.csv":
            problems += _check_timezones(path, frame)
        tables.append(ReferenceTable(name, frame))
    if problems:
        raise ReferenceError("reference data breaks its contract:\n  " + "\n  ".join(problems))
    return tables


def _check_keys(path: Path, frame: pd.DataFrame, key: tuple[str, ...]) -> list[str]:
    """A row whose key an earlier row already has (an empty key column counts as a value)."""
    first: dict[tuple, int] = {}
    out = []
    for i, values in enumerate(frame[list(key)].itertuples(index=False), start=1):
        k = tuple(None if pd.isna(v) else v for v in values)
        if k in first:
            out.append(
                f"{path} row {i}: {', '.join(key)} = {', '.join(str(v or '') for v in k)} "
                f"is already row {first[k]} [unique_key]"
            )
        else:
            first[k] = i
    return out


def _check_timezones(path: Path, frame: pd.DataFrame) -> list[str]:
    out = []
    for i, tz in enumerate(frame["timezone"], start=1):
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            out.append(f"{path} row {i}: timezone {tz!r} is not an IANA time zone")
    return out


def site_timezones(folder: Path) -> dict[str, str]:
    """site_id -> IANA zone, straight from sites.csv (ingestion needs it before ref.* exists)."""
    path = folder / "sites.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["site_id"]: row["timezone"] for row in csv.DictReader(handle)}


def site_formats(folder: Path, system: str) -> dict[str, SiteFormat]:
    """site_id -> how that site's `system` writes times and numbers, straight from
    site_formats.csv (absent file or row: ISO 8601, decimal point, commas)."""
    path = folder / "site_formats.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["site_id"]: site_format_from_row(row)
            for row in csv.DictReader(handle)
            if row.get("system") == system
        }


def _current_rows(con: duckdb.DuckDBPyConnection, name: str) -> list[dict]:
    if not table_exists(con, "ref", name):
        return []
    return con.sql(f"SELECT * FROM {sql_table('ref', name)}").df().to_dict("records")  # noqa: S608


def load_reference(
    con: duckdb.DuckDBPyConnection, folder: Path, actor: str = "biotwin"
) -> dict[str, int]:
    """Replace ref.* with the CSVs' content in one transaction, with an audit entry for every
    row added, removed or changed (old and new values); return rows per table."""
    tables = read_reference(folder)
    counts = {}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS ref")
        entries = []
        for table in tables:
            name = table.name.removesuffix(".csv")
            path = folder / table.name
            source = f"{path} sha256 {sha256_of(path)}" if path.is_file() else f"{path} (absent)"
            old = _current_rows(con, name)
            new = table.frame.to_dict("records")
            entries += reference_changes(name, contract.KEYS[table.name], old, new, source)
            # an empty text column would become DuckDB's NULL type: say it is text
            frame = table.frame.astype(
                {c: "string" for c in table.frame.columns if table.frame[c].dtype == object}
            )
            con.register("_biotwin_ref", frame)
            target = sql_table("ref", name)
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM _biotwin_ref")  # noqa: S608
            con.unregister("_biotwin_ref")
            counts[name] = len(table.frame)
        since = audit.next_seq(con)
        added = audit.append(con, [{**entry, "actor": actor} for entry in entries])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if added:
        audit.anchor(con, since)
    return counts
