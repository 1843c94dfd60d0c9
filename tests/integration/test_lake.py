"""The raw data as Parquet for a second engine (assets/lake.py): every raw row once, with the
same record ids and provenance as the raw views; a repeated export adds nothing, an export after
new files adds exactly their rows."""

from __future__ import annotations

import shutil
from pathlib import Path

from assets.ingest.tables import RAW_TABLES
from assets.lake import export
from biotwin.warehouse import connect


def _parquet_rows(con, folder: Path) -> int:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return 0
    (n,) = con.execute("SELECT count(*) FROM read_parquet(?)", [[str(f) for f in files]]).fetchone()
    return int(n)


def test_the_lake_holds_every_raw_row_once_and_grows_by_new_files_only(
    conformed: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(conformed, warehouse)
    lake = tmp_path / "lake"
    con = connect(warehouse)
    try:
        first = export(con, lake)
        for table in RAW_TABLES:
            (n,) = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()
            assert first[table] == n == _parquet_rows(con, lake / "raw" / table), table
        assert first["historian_point"] > 100_000
        # the same record ids and provenance as the raw view
        (unmatched,) = con.execute(
            "SELECT count(*) FROM (SELECT _record_id, _file_sha256, value FROM raw.historian_point "
            "EXCEPT SELECT _record_id, _file_sha256, value FROM read_parquet(?))",
            [str(lake / "raw" / "historian_point" / "*.parquet")],
        ).fetchone()
        assert unmatched == 0
        again = export(con, lake)
        assert all(again[table] == 0 for table in RAW_TABLES)
        assert again["ref.parameters"] == first["ref.parameters"] > 0  # small tables: whole
        # a file loaded after the export: the next export writes its rows, in a new Parquet file
        con.execute(
            "INSERT INTO raw.loaded_file SELECT max(_file_id) + 1, 'f' || 'x', 'lims/BOS/new.csv', "
            "'lims', 'BOS', 'test', now() FROM raw.loaded_file"
        )
        con.execute(
            "INSERT INTO raw._lims_result (_file_id, _row_number) "
            "SELECT max(_file_id), 1 FROM raw.loaded_file"
        )
        third = export(con, lake)
        assert third["lims_result"] == 1 and third["historian_point"] == 0
        assert len(list((lake / "raw" / "lims_result").glob("*.parquet"))) == 2
        assert _parquet_rows(con, lake / "raw" / "lims_result") == first["lims_result"] + 1
    finally:
        con.close()
