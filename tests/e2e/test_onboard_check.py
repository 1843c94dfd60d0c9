"""`biotwin onboard check`: a dry run that lists each planted problem with its reason and the
reference row to add, says ready for a clean site, fails only for what would block, and never
writes to the warehouse."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from biotwin.settings import PROJECT_ROOT

BIOTWIN = str(Path(sys.executable).parent / "biotwin")
SYSTEMS = ("historian", "mes", "lims", "instruments", "custody")


def _check(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIOTWIN, "onboard", "check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
        env={**os.environ, "BIOTWIN_HOME": str(home)},
        check=False,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_planted_problems_are_listed_with_reason_and_row_to_add(
    plant_dir: Path, ingested: Path, manifest: dict, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(plant_dir / "landing", home / "landing")
    shutil.copy(ingested, home / "warehouse.duckdb")
    before = (_digest(home / "warehouse.duckdb"), (home / "warehouse.duckdb").stat().st_mtime_ns)
    done = _check(home, "--site", "BSL", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    unmapped = next(
        i
        for i in manifest["mess"]
        if i["kind"] == "historian_unmapped_tag" and i["site_id"] == "BSL"
    )
    for tag in unmapped["detail"]["tags"]:
        assert f"tag {tag} has no tags.csv row" in out and f"tags.csv: BSL,{tag}," in out
    for item in manifest["mess"]:
        if item["kind"] == "malformed_file" and item["path"].split("/")[2] == "BSL":
            assert item["path"].removeprefix("landing/") in out, item["path"]
    assert "would run, with" in out and "NOT READY" not in out
    after = (_digest(home / "warehouse.duckdb"), (home / "warehouse.duckdb").stat().st_mtime_ns)
    assert after == before, "the check must not write to the warehouse"


def test_a_clean_site_is_ready(plant_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    for system in SYSTEMS:
        (home / "landing" / system / "BOS").mkdir(parents=True)
    source = min((plant_dir / "landing" / "mes" / "BOS").glob("*_v1.json"))
    shutil.copy(source, home / "landing" / "mes" / "BOS" / source.name)
    json.loads(source.read_text(encoding="utf-8"))  # a well-formed record
    done = _check(home, "--site", "BOS")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("ready")
    assert "mes: 1 loaded" in done.stdout
    assert not (home / "warehouse.duckdb").exists()


def test_a_missing_system_folder_blocks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "landing" / "mes" / "BOS").mkdir(parents=True)
    done = _check(home)
    assert done.returncode == 1
    assert "NOT READY" in done.stdout
    assert f"landing folder {home / 'landing' / 'historian'} does not exist" in done.stdout


def test_a_unit_without_conversion_names_the_units_row(plant_dir: Path, tmp_path: Path) -> None:
    from assets.onboard import check_site

    landing = tmp_path / "landing"
    for system in SYSTEMS:
        (landing / system / "BOS").mkdir(parents=True)
    source = min((plant_dir / "landing" / "lims" / "BOS").glob("*.csv"))
    text = source.read_text(encoding="utf-8").splitlines()
    header, first = text[0], text[1].split(",")
    first[header.split(",").index("UNITS")] = "furlongs"
    (landing / "lims" / "BOS" / source.name).write_text(
        "\n".join([header, ",".join(first), *text[2:]]) + "\n", encoding="utf-8"
    )
    report = check_site(landing, plant_dir / "reference", "BOS")
    found = [f for f in report.findings if "furlongs" in f.what]
    assert len(found) == 1 and found[0].system == "lims" and not report.blocking
    assert found[0].fix.startswith("units.csv: furlongs,")


def test_a_derived_result_whose_parts_no_instrument_maps_is_named(
    plant_dir: Path, tmp_path: Path
) -> None:
    from assets.onboard import check_site

    landing = tmp_path / "landing"
    for system in SYSTEMS:
        (landing / system / "BOS").mkdir(parents=True)
    reference = tmp_path / "reference"
    shutil.copytree(plant_dir / "reference", reference)
    # the site derives vcn (derived_parameters.csv) but has not mapped its dPCR readings yet
    fields = reference / "instrument_fields.csv"
    kept = [
        line
        for line in fields.read_text(encoding="utf-8").splitlines()
        if ",vector_copies," not in line and ",reference_copies," not in line
    ]
    fields.write_text("\n".join(kept) + "\n", encoding="utf-8")
    assert "vcn,vector_copies,reference_copies,2" in (
        reference / "derived_parameters.csv"
    ).read_text(encoding="utf-8")
    report = check_site(landing, reference, "BOS")
    found = sorted(f.what for f in report.findings if f.what.startswith("derived_parameters"))
    assert found == [
        "derived_parameters.csv: vcn needs reference_copies, which no instrument field maps "
        "(it would never get a value)",
        "derived_parameters.csv: vcn needs vector_copies, which no instrument field maps "
        "(it would never get a value)",
    ]
    assert not report.blocking
    with (reference / "instrument_fields.csv").open("a", encoding="utf-8") as out:
        out.write("qiacuity_dpcr,number concentration,vector_copies,WPRE\n")
        out.write("qiacuity_dpcr,number concentration,reference_copies,RPP30\n")
    report = check_site(landing, reference, "BOS")
    assert not [f for f in report.findings if f.what.startswith("derived_parameters")]
