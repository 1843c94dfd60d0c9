"""The import rule of docs/architecture.md, as code: each layer imports only the layers below
it, and only biotwin/warehouse.py opens DuckDB."""

from __future__ import annotations

import ast
from pathlib import Path

from biotwin.settings import PROJECT_ROOT

PROJECT = {"biotwin", "synthetic", "lineage", "twin", "release", "assets", "orchestration"}
MAY_IMPORT = {
    "biotwin": {"biotwin"},
    "synthetic": {"synthetic", "biotwin"},
    "lineage": {"lineage", "biotwin"},
    "twin": {"twin", "biotwin"},
    "release": {"release", "lineage", "biotwin"},
    "assets": {"assets", "lineage", "twin", "release", "biotwin"},
    "orchestration": PROJECT,
}


def _modules(package: str) -> list[Path]:
    return sorted((PROJECT_ROOT / package).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = {
        f"{path.relative_to(PROJECT_ROOT)} imports {sorted(_imported(path) - allowed)}"
        for package, allowed in MAY_IMPORT.items()
        for path in _modules(package)
        if _imported(path) - allowed
    }
    assert wrong == set()


def test_only_the_warehouse_module_opens_duckdb() -> None:
    opening = []
    for package in [*PROJECT, "bench"]:
        for path in _modules(package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "connect"
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "duckdb"
                ):
                    opening.append(str(path.relative_to(PROJECT_ROOT)))
    assert sorted(set(opening)) == ["biotwin/warehouse.py"]


def test_project_code_reads_whole_duckdb_results() -> None:
    # DuckDB 2.0 keeps a result read with fetchone() open, and the connection's next con.sql()
    # fails ("unfinished result"): project code reads through biotwin.warehouse.rows_of/one_row.
    # biotwin/postgres.py talks to PostgreSQL (psycopg), where fetchone() is the idiom.
    reading = []
    for package in [*PROJECT, "bench"]:
        for path in _modules(package):
            if path == PROJECT_ROOT / "biotwin" / "postgres.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "fetchone":
                    reading.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert reading == []
