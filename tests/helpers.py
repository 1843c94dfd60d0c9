"""Readers the tests use to look at generated files independently of the generator's code."""

from __future__ import annotations

import csv
import json
import os
import subprocess
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


def dbt_cli(args: list[str], warehouse: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The real dbt CLI as a user runs it by hand on `warehouse`, its target and logs kept in
    `tmp_path` (so that tests do not share dbt's partial-parse state)."""
    from orchestration.dbt_cli import DBT_DIR, dbt_executable

    return subprocess.run(
        [
            dbt_executable(),
            *args,
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**os.environ, "BIOTWIN_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def asm_documents(files: list[tuple[Path, str, str]]) -> dict[str, dict]:
    """allotropy's whole ASM document of each (path, vendor, time zone), by path; a file it
    refuses maps to {"error": ...}. Run with the parser's interpreter (tests/allotropy_asm.py):
    allotropy is not in the project's environment."""
    from assets.ingest.parser_pool import parser_python

    script = Path(__file__).with_name("allotropy_asm.py")
    request = json.dumps([[str(p), vendor, zone] for p, vendor, zone in files])
    done = subprocess.run(
        [str(parser_python()), str(script)],
        input=request,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)
