"""The historian's two formats report one contract: a CSV export and a PI Web API response
are checked by the same rules, and the lineage facet of the run says which ran and which
failed (assets/contracts/historian.py)."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import AssetKey, DagsterInstance, materialize

from assets.landing import INGESTION_ASSETS, reference_data
from assets.resources import PlantPaths
from tests import openlineage_schema as spec
from tests.conftest import lineage_dir

HISTORIAN = next(a for a in INGESTION_ASSETS if a.key == AssetKey(["raw", "historian"]))
CSV = "tag,timestamp,value,quality\n{rows}"


def _pi(items: list[dict]) -> str:
    return json.dumps({"Items": [{"Name": "BSL:BR-201:TI-101.PV", "Items": items}]})


def _item(ts: str, value: object) -> dict:
    return {"Timestamp": ts, "Value": value, "Good": True, "Questionable": False}


def _historian_assertions(tmp_path: Path, reference: Path, files: dict[str, str]) -> dict:
    """Ingest `files` (landing-relative path -> text) with the real asset; the assertions on
    raw.historian_point in its COMPLETE event, as {check: success}."""
    landing = tmp_path / "landing"
    for rel, text in files.items():
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_text(text, encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    paths = PlantPaths(
        landing=str(landing),
        warehouse=str(warehouse),
        reference=str(reference),
        lineage=str(lineage_dir(warehouse)),
    )
    result = materialize(
        [reference_data, HISTORIAN],
        resources={"paths": paths},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    events = [
        json.loads(line)
        for line in (lineage_dir(warehouse) / "events.jsonl").read_text().split("\n")
        if line
    ]
    complete = next(
        e
        for e in events
        if e["job"]["name"] == "dagster.asset.raw.historian" and e["eventType"] == "COMPLETE"
    )
    if spec.SPEC.is_dir():
        assert spec.event_errors(complete) == []
    output = next(o for o in complete["outputs"] if o["name"] == "raw.historian_point")
    assertions = output["facets"]["dataQualityAssertions"]["assertions"]
    return {a["assertion"]: a["success"] for a in assertions}


CHECKS = {"tag:not_empty", "timestamp:datetime_format", "value:not_empty"}


def test_csv_and_pi_json_report_the_same_checks_as_they_ran(
    tmp_path: Path, plant_dir: Path
) -> None:
    reference = plant_dir / "reference"
    csv = _historian_assertions(
        tmp_path / "csv",
        reference,
        {
            "historian/BOS/export.csv": CSV.format(
                rows="BOS:TI-101,2026-01-05T09:00:00,37.0,Good\n"
                ",2026-01-05T09:01:00,37.1,Good\n"  # no tag: quarantined
                "BOS:TI-101,2026-01-05T09:02:00,37.2,Good\n"
            )
        },
    )
    assert csv == {
        "tag:not_empty": False,
        "timestamp:datetime_format": True,
        "value:not_empty": True,
    }
    good_json = _historian_assertions(
        tmp_path / "json",
        reference,
        {
            "historian/BSL/pi.json": _pi(
                [_item("2026-01-05T14:00:00Z", 37.0), _item("2026-01-05T14:01:00Z", 37.1)]
            )
        },
    )
    assert good_json == dict.fromkeys(CHECKS, True)
    bad_json = _historian_assertions(
        tmp_path / "bad_json",
        reference,
        {
            "historian/BSL/pi.json": _pi(
                [_item("2026-01-05T14:00:00Z", 37.0), _item("yesterday", 37.1)]
            )
        },
    )
    assert bad_json == {
        "tag:not_empty": True,
        "timestamp:datetime_format": False,
        "value:not_empty": True,
    }


def test_a_run_whose_files_were_all_refused_reports_no_row_check(
    tmp_path: Path, plant_dir: Path
) -> None:
    """A file refused whole (wrong header) never reached the row rules: the facet says that
    the header failed and claims nothing about the rules that did not run."""
    got = _historian_assertions(
        tmp_path,
        plant_dir / "reference",
        {"historian/BOS/export.csv": "tagname,when,value\nBOS:TI-101,2026-01-05T09:00:00,1\n"},
    )
    assert got == {"csv:header": False}
