"""The marts served from a real PostgreSQL server (Debian's package, started by
scripts/postgres.sh on 127.0.0.1 for this test session and stopped after it): equal to the
DuckDB marts, readable and not writable by the reader role, an audit log the writer can only
append to, and Dagster's runs stored there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from biotwin.postgres import serve
from biotwin.publication import current
from biotwin.settings import PROJECT_ROOT

pytestmark = pytest.mark.postgres  # make test-postgres (a real server, started for it)


def _table_hash(duck: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> tuple:
    """Rows and an order-independent hash of a DuckDB relation (the sum of its rows' hashes)."""
    listed = ", ".join(f'"{c}"' for c in columns)
    return duck.execute(
        f"SELECT count(*), sum(hash({listed}))::hugeint FROM {relation}"
    ).fetchall()[0]


def _served_copy(
    reader: psycopg.Connection,
    duck: duckdb.DuckDBPyConnection,
    name: str,
    columns: list[tuple[str, str]],
    scratch: Path,
) -> str:
    """The served table as PostgreSQL writes it (COPY … TO STDOUT), read back into a DuckDB
    temp table with the published table's column types: both hashes then come from one engine,
    so a difference is a difference in the values, not in how two engines print them."""
    dump = scratch / f"{name}.csv"
    listed = ", ".join(f'"{c}"' for c, _ in columns)
    with (
        dump.open("wb") as handle,
        reader.cursor().copy(
            f"COPY (SELECT {listed} FROM {name}) TO STDOUT (FORMAT csv)"
        ) as stream,
    ):
        for chunk in stream:
            handle.write(chunk)
    types = ", ".join(f"'{c}': '{t}'" for c, t in columns)
    copy = "served_" + name.replace(".", "__")
    duck.execute(
        f"CREATE TEMP TABLE {copy} AS SELECT * FROM read_csv('{dump}', header = false, "
        f"auto_detect = false, delim = ',', quote = '\"', columns = {{{types}}}, "
        # PostgreSQL writes an empty string as "" and a null as nothing: keep them apart
        f"allow_quoted_nulls = false)"
    )
    return copy


def test_the_served_marts_equal_the_duckdb_marts_and_roles_hold(
    conformed: Path, postgres: dict[str, str], tmp_path: Path
) -> None:
    folder = conformed.parent / "published"
    publication = current(folder)
    served = serve(publication.path(folder), publication, postgres["BIOTWIN_POSTGRES_WRITER_URL"])
    assert served.tables == publication.tables  # every mart and twin table, every row

    duck = duckdb.connect(str(publication.path(folder)), read_only=True)
    duck.execute("SET TimeZone = 'UTC'")
    with psycopg.connect(postgres["BIOTWIN_POSTGRES_READER_URL"]) as reader:
        for name in publication.tables:
            columns = duck.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                "table_schema || '.' || table_name = ? ORDER BY ordinal_position",
                [name],
            ).fetchall()
            names = [c for c, _ in columns]
            served_copy = _served_copy(reader, duck, name, columns, tmp_path)
            ours = _table_hash(duck, name, names)
            assert ours[0] == publication.tables[name], name
            assert _table_hash(duck, served_copy, names) == ours, name
        # the reader reads and cannot write
        for statement in ("CREATE TABLE marts.x (a int)", "DELETE FROM marts.dim_batch"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)
            reader.rollback()
    duck.close()

    with psycopg.connect(postgres["BIOTWIN_POSTGRES_WRITER_URL"]) as writer:
        entries = writer.execute(
            "SELECT kind, detail->>'sha256' FROM audit.audit_log ORDER BY seq"
        ).fetchall()
        assert entries[-1] == ("publication_served", publication.sha256)
        for statement in ("UPDATE audit.audit_log SET kind = 'x'", "DELETE FROM audit.audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                writer.execute(statement)
            writer.rollback()

    # served again (a later run): the swap replaces the marts, nothing is left staged
    serve(publication.path(folder), publication, postgres["BIOTWIN_POSTGRES_WRITER_URL"])
    with psycopg.connect(postgres["BIOTWIN_POSTGRES_READER_URL"]) as reader:
        schemas = {
            r[0]
            for r in reader.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'marts%' "
                "OR nspname LIKE 'twin%'"
            ).fetchall()
        }
        assert schemas == {"marts", "twin"}
        served_rows = reader.execute("SELECT count(*) FROM marts.dim_batch").fetchone()[0]
        assert served_rows == publication.tables["marts.dim_batch"]


def test_dagster_runs_are_recorded_in_postgres(postgres: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, "BIOTWIN_HOME": str(tmp_path / "home"), **postgres}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "biotwin"), "run", "--select", "ref/reference_data"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    config = (tmp_path / "home" / "dagster" / "dagster.yaml").read_text()
    assert "env: BIOTWIN_DAGSTER_POSTGRES_URL" in config and "postgresql://" not in config
    assert not list((tmp_path / "home" / "dagster").rglob("*.db"))  # no SQLite storage
    url = postgres["BIOTWIN_DAGSTER_POSTGRES_URL"].replace("+psycopg2", "")  # SQLAlchemy's form
    with psycopg.connect(url) as dagster_db:
        statuses = dagster_db.execute("SELECT status FROM runs").fetchall()
    assert statuses == [("SUCCESS",)]
