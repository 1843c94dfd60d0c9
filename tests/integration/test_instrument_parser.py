"""Real vendor exports through the parser's own environment (allotropy in worker processes):
every example in ../shared/instrument-examples loads with the values its file holds, a worker
that dies is replaced, and a missing parser environment stops ingestion with the reason
instead of quarantining good files."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from assets.ingest import parser_pool
from assets.ingest.run import ingest
from biotwin.warehouse import connect

# per vendor: one result as the vendor file itself writes it (read from the file's text):
# sample id, well, target (PCR target / flow gate path), field, value
FROM_THE_FILE = {
    # Appbio_AbsoluteQ_example01.csv: "Cell Lysate A,B1,20449,VIC,Gene A,3.85"
    "appbio_absolute_q": ("Cell Lysate A", "B1", "Gene A", "number concentration", 3.85),
    # appbio_quantstudio_example01.txt [Results]: well A1, TARGET_1, CT 18.717
    "appbio_quantstudio": (
        "1SAMPLE_1.1",
        "A1",
        "TARGET_1",
        "cycle threshold result (qPCR)",
        18.717,
    ),
    # qiacuity_dpcr_example01.csv: "A1,1,Sample,9234983,5p,5p,-,-,86.32"
    "qiacuity_dpcr": ("1", "A1", "5p", "number concentration", 86.32),
    # flowjo_example_1.wsp: specimen $SRC "Spleenocytes_Tcells", the first tube "FMO- no CD4
    # staining" (the tube is the row's well), its population name="CD3+" … count="9434"
    "flowjo": (
        "Spleenocytes_Tcells",
        "FMO- no CD4 staining",
        "Lymphocytes/Single Cells/Single Cells/Live cells/CD3+",
        "count",
        9434,
    ),
    # facsdiva_example_1.xml: gates P1 > P2 > P3 > P5 > P6 and P4; the export holds no events
    "bd_biosciences_facsdiva": ("GFP", None, "P1/P2/P3/P5/P6", "count", 0),
    # Beckman_Vi-Cell-BLU_example02.csv: "CLB001",…,"Average viable diameter (μm)" 16.32
    "beckman_vi_cell_blu": (
        "CLB001",
        None,
        None,
        "average live cell diameter (cell counter)",
        16.32,
    ),
    # SampleResults2022-06-28_142558.csv: SMPL_1234, Gluc 2.65
    "novabio_flex2": ("SMPL_1234", None, None, "glucose", 2.65),
    # roche_cedex_bioht_example01.txt: SMPL1 GLN2B 2.45 mmol/L
    "roche_cedex_bioht": ("SMPL1", None, None, "glutamine", 2.45),
}


@pytest.fixture(scope="module")
def loaded(shared_dir: Path, plant_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("examples")
    landing = tmp / "landing"
    for vendor_dir in (shared_dir / "instrument-examples").iterdir():
        if vendor_dir.is_dir():
            shutil.copytree(vendor_dir, landing / "instruments" / "BOS" / vendor_dir.name)
    con = connect(tmp / "examples.duckdb")
    ingest(con, "instruments", landing, plant_dir / "reference", "examples")
    yield con
    con.close()


def test_every_example_is_a_vendor_the_test_knows(shared_dir: Path) -> None:
    vendors = {p.name for p in (shared_dir / "instrument-examples").iterdir() if p.is_dir()}
    assert vendors == set(FROM_THE_FILE)


@pytest.mark.parametrize("vendor", sorted(FROM_THE_FILE))
def test_each_vendor_export_loads_whole_with_the_values_of_its_file(loaded, vendor: str) -> None:
    status, read, ok, bad, parser = loaded.execute(
        "SELECT l.status, l.rows_read, l.rows_loaded, l.rows_quarantined, "
        "(SELECT any_value(parser) FROM raw.instrument_measurement m WHERE m.vendor = ?) "
        "FROM raw.file_ledger l WHERE l.source_path LIKE ?",
        [vendor, f"instruments/BOS/{vendor}/%"],
    ).fetchone()
    assert (status, bad) == ("loaded", 0) and read == ok > 0
    assert parser == "allotropy 0.1.150"  # the parser's release is recorded per row
    sample, well, target, field, value = FROM_THE_FILE[vendor]
    found = loaded.execute(
        "SELECT value FROM raw.instrument_measurement WHERE vendor = ? AND sample_id = ? "
        "AND well IS NOT DISTINCT FROM ? AND target IS NOT DISTINCT FROM ? AND field = ?",
        [vendor, sample, well, target, field],
    ).fetchall()
    assert found == [(pytest.approx(value),)], (vendor, found)


def test_flow_gates_and_pcr_targets_keep_their_own_rows(loaded) -> None:
    # FACSDiva's gate tree as the file draws it, every tube the same paths
    gates = {
        r[0]
        for r in loaded.execute(
            "SELECT DISTINCT target FROM raw.instrument_measurement "
            "WHERE vendor = 'bd_biosciences_facsdiva' AND field = 'count'"
        ).fetchall()
    }
    assert gates == {"All Events", "P1", "P1/P2", "P1/P2/P3", "P1/P2/P3/P5", "P1/P2/P3/P5/P6", "P4"}
    # the AbsoluteQ plate: one sample in 8 wells, each well its own concentration
    wells = loaded.execute(
        "SELECT count(DISTINCT well) FROM raw.instrument_measurement "
        "WHERE vendor = 'appbio_absolute_q' AND sample_id = 'Cell Lysate A' "
        "AND field = 'number concentration'"
    ).fetchone()[0]
    assert wells == 8
    # record ids stay unique with many gates and wells per measurement
    total, distinct = loaded.execute(
        "SELECT count(*), count(DISTINCT _record_id) FROM raw.instrument_measurement"
    ).fetchone()
    assert total == distinct


def test_a_worker_that_dies_is_replaced_and_the_file_still_parses(shared_dir: Path) -> None:
    example = next((shared_dir / "instrument-examples" / "qiacuity_dpcr").iterdir())
    first, release = parser_pool.parse_file(example, "qiacuity_dpcr", "UTC")
    assert first["ok"] and release == "0.1.150"
    worker = parser_pool._acquire()  # the worker that parsed it, idle
    os.kill(worker._process.pid, signal.SIGKILL)  # e.g. the OOM killer
    worker._process.wait()
    with pytest.raises(parser_pool.ParserCrashed):  # a dead worker is noticed, not waited on
        worker.parse({"path": str(example), "vendor": "qiacuity_dpcr", "timezone": "UTC"})
    parser_pool._release(worker)  # handed back dead: the next parse still gets a live one
    again, _ = parser_pool.parse_file(example, "qiacuity_dpcr", "UTC")
    assert again == first
    assert worker not in parser_pool._idle  # the dead one is dropped, not kept idle


def test_a_missing_parser_environment_stops_ingestion_and_leaves_the_files(
    shared_dir: Path, plant_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(
        shared_dir / "instrument-examples" / "novabio_flex2",
        landing / "instruments" / "BOS" / "novabio_flex2",
    )
    parser_pool.close()  # a fresh process: no worker started yet
    monkeypatch.setenv("BIOTWIN_PARSER_PYTHON", str(tmp_path / "no-such-env" / "python"))
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(parser_pool.ParserUnavailable, match="make install"):
        ingest(con, "instruments", landing, plant_dir / "reference", "no-parser")
    # not the file's fault: nothing recorded, so the next run (parser installed) loads it
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    monkeypatch.delenv("BIOTWIN_PARSER_PYTHON")
    ingest(con, "instruments", landing, plant_dir / "reference", "with-parser")
    assert con.execute("SELECT status FROM raw.file_ledger").fetchall() == [("loaded",)]
    con.close()
