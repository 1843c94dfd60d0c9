"""Fuzzed landing files never crash a run and never corrupt the warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.ingest.run import ingest
from biotwin.warehouse import connect

STATUSES = {"loaded", "partially_loaded", "quarantined", "duplicate"}

MUTATIONS = st.sampled_from(
    [
        "bom",
        "crlf",
        "nul",
        "bad_utf8",
        "huge_field",
        "empty",
        "truncate",
        "garbage_line",
        "only_header",
        "none",
    ]
)


def mutate(data: bytes, kind: str, cut: int) -> bytes:
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if kind == "nul":
        return data[:cut] + b"\x00" + data[cut:]
    if kind == "bad_utf8":
        return data[:cut] + b"\xff\xfe\xc3" + data[cut:]
    if kind == "huge_field":
        line_end = data.find(b"\n", cut)
        return data[:line_end] + b"," + b"x" * 300_000 + data[line_end:]
    if kind == "empty":
        return b""
    if kind == "truncate":
        return data[:cut]
    if kind == "garbage_line":
        line_end = data.find(b"\n", cut)
        return data[: line_end + 1] + b'"unbalanced,quote\n' + data[line_end + 1 :]
    if kind == "only_header":
        return data.split(b"\n", 1)[0] + b"\n"
    return data


@pytest.fixture(scope="module")
def samples(plant_dir: Path) -> dict[str, Path]:
    landing = plant_dir / "landing"
    return {
        "historian": min((landing / "historian" / "BOS").glob("PI_EXPORT_BR101_*.csv")),
        "historian_json": min((landing / "historian" / "BSL").glob("recorded_*.json")),
        "lims": min((landing / "lims" / "BSL").glob("*.csv")),
        "custody": min((landing / "custody" / "BOS").glob("*.csv")),
        "mes": min((landing / "mes" / "BOS").glob("*_v1.json")),
        "instruments": min((landing / "instruments" / "BOS" / "beckman_vi_cell_blu").glob("*")),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.sampled_from(["historian", "historian_json", "lims", "custody", "mes", "instruments"]),
    kind=MUTATIONS,
    cut_fraction=st.floats(0.01, 0.99),
)
def test_fuzzed_files_are_loaded_or_quarantined(
    samples, plant_dir, tmp_path_factory, which, kind, cut_fraction
) -> None:
    src = samples[which]
    data = src.read_bytes()[:200_000]
    data = mutate(data, kind, int(len(data) * cut_fraction))
    tmp = tmp_path_factory.mktemp("fuzz")
    system = "historian" if which.startswith("historian") else which
    site_dir = tmp / "landing" / system / "BOS"
    if system == "instruments":  # landing/instruments/<site>/<vendor>/
        site_dir = site_dir / src.parent.name
    site_dir.mkdir(parents=True)
    (site_dir / f"fuzzed{src.suffix}").write_bytes(data)
    # a good file next to it must load whatever happens to the fuzzed one
    shutil.copy(src, site_dir / f"good{src.suffix}")
    con = connect(tmp / "w.duckdb")
    summary = ingest(con, system, tmp / "landing", plant_dir / "reference", "fuzz")
    ledger = con.execute(
        "SELECT source_path, status, reason, rows_read, rows_loaded, "
        "rows_quarantined FROM raw.file_ledger ORDER BY source_path"
    ).fetchall()
    assert len(ledger) == 2
    for path, status, reason, read, loaded, quarantined in ledger:
        assert status in STATUSES
        assert read == loaded + quarantined
        if status == "quarantined":
            assert reason and path.split("/")[-1] in reason
    good = next(r for r in ledger if r[0].endswith(f"good{src.suffix}"))
    assert good[1] in ("loaded", "partially_loaded", "duplicate")
    assert summary.rows_read == summary.rows_loaded + summary.rows_quarantined
    # the warehouse is still whole: a second run changes nothing
    before = con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0]
    ingest(con, system, tmp / "landing", plant_dir / "reference", "fuzz-again")
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == before
    con.close()
