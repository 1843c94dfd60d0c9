"""Readers the tests use to look at generated files independently of the generator's code."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def read_historian(path: Path) -> list[dict]:
    """Rows of a historian export (CSV or PI Web API JSON) as written, in file order."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            header = handle.readline()
            handle.seek(0)
            # a site that writes `;` between fields (and decimal commas) says so in its header
            return list(csv.DictReader(handle, delimiter=";" if ";" in header else ","))
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for stream in doc["Items"]:
        for item in stream["Items"]:
            value = item["Value"]
            if isinstance(value, dict):
                value = value["Name"]
            quality = (
                "Questionable"
                if item["Questionable"]
                else "Substituted"
                if item["Substituted"]
                else "Good"
                if item["Good"]
                else "Bad"
            )
            rows.append(
                {
                    "tag": stream["Name"],
                    "timestamp": item["Timestamp"],
                    "value": str(value),
                    "quality": quality,
                    "units": stream["UnitsAbbreviation"],
                }
            )
    return rows


def read_csv_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_reference(plant_dir: Path, name: str) -> list[dict]:
    return read_csv_rows(plant_dir / "reference" / name)


def query(warehouse: Path, sql: str, params: list | None = None):
    """A DataFrame from a read-only connection (what a reader of the warehouse would see)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).df()
    finally:
        con.close()
