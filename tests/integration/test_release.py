"""Release readiness on the generated plant, the manifest as truth: every planted problem and
injected process fault that concerns a batch is one of its exceptions, with the right kind; a
missing required signature blocks; the dossier renders, is recorded and verified."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from biotwin.warehouse import connect, rows_of
from lineage.audit_log import acknowledge, verify_log
from tests.conftest import lineage_dir

# manifest kind -> the exception kind a reviewer must see for it
KIND = {
    "mes_deviation": "deviation",
    "lab_out_of_spec": "out_of_spec_result",
    "lims_amendment": "amended_result",
    "lims_cancelled_retest": "cancelled_result",
    "custody_gap": "custody_gap",
    "custody_unsigned_handoff": "unsigned_handoff",
    "custody_temperature_excursion": "temperature_excursion",
    "mes_missing_signature": "missing_signature",
    "mes_late_signature": "late_signature",
}
# a process fault outside a CPP's range; a feed failure keeps every CPP in range and is the
# twin's monitoring alarm (not run here: the twin's own tests hold its detection)
FAULT_KIND = {
    "temperature_excursion": "cpp_excursion",
    "temperature_drift": "cpp_excursion",
    "do_control_loss": "cpp_excursion",
}


def _copy_warehouse(source: Path, target: Path) -> None:
    """The warehouse and its audit anchor (audit verify holds the log to it)."""
    shutil.copy(source, target)
    anchor = source.with_name(source.name + ".audit-anchor.jsonl")
    if anchor.is_file():
        shutil.copy(anchor, target.with_name(target.name + ".audit-anchor.jsonl"))


@pytest.fixture(scope="module")
def released(conformed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assets.release import release_readiness_asset
    from assets.resources import PlantPaths

    warehouse = tmp_path_factory.mktemp("release") / "warehouse.duckdb"
    _copy_warehouse(conformed, warehouse)
    paths = PlantPaths(warehouse=str(warehouse), lineage=str(lineage_dir(warehouse)))
    result = materialize(
        [release_readiness_asset([])],
        resources={"paths": paths},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"batches_blocked", "batches_ready"}
    return warehouse


@pytest.fixture
def con(released: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a copy of the released warehouse (and its anchor)."""
    warehouse = tmp_path / "warehouse.duckdb"
    _copy_warehouse(released, warehouse)
    connection = connect(warehouse)
    yield connection
    connection.close()


def _batch_of(con, item: dict) -> str | None:
    detail = item["detail"]
    if "batch_id" in detail:
        return detail["batch_id"]
    if "coi_id" in detail:
        found = rows_of(
            con, "SELECT batch_id FROM marts.dim_batch WHERE coi_id = ?", [detail["coi_id"]]
        )
    else:
        found = rows_of(
            con,
            "SELECT DISTINCT batch_id FROM marts.fct_lab_result WHERE sample_id = ?",
            [detail["sample_id"]],
        )
    return found[0][0] if found else None


def test_every_planted_problem_and_fault_is_an_exception_of_its_batch(
    released: Path, manifest: dict
) -> None:
    con = connect(released, read_only=True)
    try:
        exceptions = rows_of(
            con, "SELECT batch_id, kind, occurred_at_utc FROM marts.batch_exceptions"
        )
        kinds = {(b, k) for b, k, _ in exceptions}
        expected = []
        for item in manifest["mess"]:
            if item["kind"] in KIND:
                batch = _batch_of(con, item)
                assert batch is not None, item
                expected.append((batch, KIND[item["kind"]]))
        missing = [e for e in expected if e not in kinds]
        assert {k for k in KIND if k != "lims_cancelled_retest"} <= {
            i["kind"] for i in manifest["mess"]
        }
        assert missing == []
        for batch in manifest["batches"]:
            fault = batch.get("fault")
            if not fault or fault["type"] not in FAULT_KIND or not fault["observable_by_extract"]:
                continue
            onset = datetime.fromisoformat(fault["onset_utc"].replace("Z", "+00:00"))
            after = [
                t
                for b, k, t in exceptions
                if b == batch["batch_id"] and k == FAULT_KIND[fault["type"]] and t >= onset
            ]
            assert after, (batch["batch_id"], fault)
        ids = rows_of(
            con, "SELECT count(*), count(DISTINCT exception_id) FROM marts.batch_exceptions"
        )
        assert ids[0][0] == ids[0][1]
    finally:
        con.close()


def test_a_missing_signature_blocks_and_a_batch_without_exceptions_is_ready(
    released: Path, manifest: dict
) -> None:
    (missing,) = [i for i in manifest["mess"] if i["kind"] == "mes_missing_signature"]
    con = connect(released, read_only=True)
    try:
        verdict, reasons = rows_of(
            con,
            "SELECT verdict, reasons FROM marts.batch_release_readiness WHERE batch_id = ?",
            [missing["detail"]["batch_id"]],
        )[0]
        assert verdict == "blocked"
        phase = missing["detail"]["phase"]
        assert f"required signature missing: {phase} verified" in reasons
        clean = rows_of(
            con,
            "SELECT batch_id, verdict FROM marts.batch_release_readiness AS r WHERE NOT "
            "is_in_progress AND NOT EXISTS (SELECT 1 FROM marts.batch_exceptions AS e "
            "WHERE e.batch_id = r.batch_id) AND n_cqa_approved = n_cqa "
            "AND n_signatures_present = n_signatures_required "
            "AND coalesce(chain_of_identity_complete, true)",
        )
        assert clean and {v for _, v in clean} == {"ready"}
    finally:
        con.close()


def test_the_dossier_renders_is_recorded_and_a_changed_byte_fails_verify(
    con, manifest: dict, tmp_path: Path
) -> None:
    import pypdfium2

    from release.dossier import verify_file, write_dossier

    batch = next(i for i in manifest["mess"] if i["kind"] == "mes_missing_signature")
    batch = batch["detail"]["batch_id"]
    # the session's warehouse was built by test helpers that anchor only some of their
    # entries: vouch for them as a reviewer would, so the check below is the dossier's
    before = verify_log(con)
    if not before.ok:
        through = int(before.reason.split("entries 1-")[1].split(" ")[0])
        acknowledge(con, through, "test fixture entries", "test")
    assert verify_log(con).ok
    written = write_dossier(con, batch, tmp_path / "dossier", actor="test")
    pdf_path = next(Path(p) for p in written.files if p.endswith(".pdf"))
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    assert len(pdf) >= 3  # summary, exceptions and results, CPP plots
    page = pdf[0].render(scale=1).to_pil()
    page.save(tmp_path / "page1.png")
    # a rendered page with text on it, not a blank sheet
    assert len(page.convert("L").getcolors(maxcolors=256 * 256)) > 10
    text = pdf[0].get_textpage().get_text_range()
    assert batch in text and "blocked" in text
    pdf.close()
    for path in written.files:
        assert verify_file(con, Path(path)).ok
    changed = tmp_path / "changed.json"
    data = bytearray(Path(next(p for p in written.files if p.endswith(".json"))).read_bytes())
    data[10] ^= 1
    changed.write_bytes(bytes(data))
    assert not verify_file(con, changed).ok
    assert verify_log(con).ok


def test_the_twins_alarms_and_forecasts_outside_specification_are_exceptions(con) -> None:
    # the twin's tables as its assets write them (twin/pipeline.py), with one alarm and one
    # in-progress batch forecast below its outcome's specification: the session plant's twin
    # raises neither, and running the twin here would cost a minute of the suite
    import pandas as pd

    from release.exceptions import build_exceptions
    from twin.pipeline import FORECAST_COLUMNS, MONITORING_COLUMNS

    alarmed, running = rows_of(
        con,
        "SELECT (SELECT min(batch_id) FROM marts.dim_batch WHERE NOT is_in_progress), "
        "(SELECT min(batch_id) FROM marts.dim_batch AS b WHERE is_in_progress AND EXISTS "
        "(SELECT 1 FROM ref.specifications AS s JOIN ref.processes AS p USING (product_id) "
        "WHERE s.product_id = b.product_id AND s.parameter_id = p.outcome_parameter_id "
        "AND s.spec_min IS NOT NULL))",
    )[0]
    product, outcome, spec_min = rows_of(
        con,
        "SELECT b.product_id, p.outcome_parameter_id, s.spec_min FROM marts.dim_batch AS b "
        "JOIN ref.processes AS p USING (product_id) JOIN ref.specifications AS s "
        "ON s.product_id = b.product_id AND s.parameter_id = p.outcome_parameter_id "
        "WHERE b.batch_id = ?",
        [running],
    )[0]

    def scored(hour: float, first: bool) -> list:
        # a step beyond the limits; the first such step is the batch's alarm
        return [alarmed, "P", hour, 90.0, 1.0, 30.0, 5.0, 0.0, 1.0, True, first, 40.0,
                "ph 80%", False, "golden_batch:x"]  # fmt: skip

    monitoring = pd.DataFrame(
        [scored(40.0, True), scored(41.0, False)], columns=list(MONITORING_COLUMNS)
    )
    forecasts = pd.DataFrame(
        [
            [
                running,
                product,
                0.2,
                20.0,
                spec_min * 2,
                spec_min,
                spec_min * 3,
                None,
                "in_progress",
                "forecast:a",
                outcome,
            ],
            [
                running,
                product,
                0.4,
                40.0,
                spec_min / 2,
                spec_min / 4,
                spec_min,
                None,
                "in_progress",
                "forecast:b",
                outcome,
            ],
        ],
        columns=list(FORECAST_COLUMNS),
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS twin")
    for name, frame in (("batch_monitoring", monitoring), ("outcome_forecast", forecasts)):
        con.register("_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE twin.{name} AS SELECT * FROM _frame")
        con.unregister("_frame")
    build_exceptions(con)
    found = rows_of(
        con,
        "SELECT batch_id, kind, trace_key, occurred_at_utc IS NOT NULL FROM "
        "marts.batch_exceptions WHERE kind IN ('monitoring_alarm', 'forecast_out_of_spec') "
        "ORDER BY kind",
    )
    # one alarm per batch (its first), the latest checkpoint's forecast (below spec; the
    # 20 % one was inside), each traced to the model that made it
    assert found == [
        (running, "forecast_out_of_spec", "forecast:b", True),
        (alarmed, "monitoring_alarm", "golden_batch:x", True),
    ]


def test_a_required_phase_no_record_has_is_named_not_passed_silently(con) -> None:
    # a site's reference spelling a phase differently from its MES ("Expansion" for the
    # record's "Fed expansion") would require nothing: every finished batch of the product says
    # the phase is missing from its record instead
    from release.exceptions import build_exceptions

    assert not rows_of(con, "SELECT 1 FROM marts.batch_exceptions WHERE kind = 'unrecorded_phase'")
    con.execute(
        "INSERT INTO ref.required_signatures VALUES ('CART-CD19', 'Expansion', 'verified', 24)"
    )
    build_exceptions(con)
    named = rows_of(
        con,
        "SELECT batch_id FROM marts.batch_exceptions WHERE kind = 'unrecorded_phase' "
        "AND sentence LIKE '%phase \"Expansion\" (verified)%' ORDER BY 1",
    )
    finished = rows_of(
        con,
        "SELECT batch_id FROM marts.dim_batch WHERE product_id = 'CART-CD19' "
        "AND NOT is_in_progress ORDER BY 1",
    )
    assert named == finished and finished


def test_a_reference_without_required_signatures_requires_none(con) -> None:
    # required_signatures.csv is optional (a reference folder written before it existed)
    from release.exceptions import build_exceptions
    from release.readiness import build_readiness

    con.execute("DROP TABLE ref.required_signatures")
    build_exceptions(con)
    verdicts = build_readiness(con)
    assert sum(verdicts.values()) == rows_of(con, "SELECT count(*) FROM marts.dim_batch")[0][0]
    assert not rows_of(
        con,
        "SELECT 1 FROM marts.batch_exceptions WHERE kind IN "
        "('missing_signature', 'late_signature', 'unrecorded_phase')",
    )
    assert rows_of(
        con,
        "SELECT max(n_signatures_required), count(*) FILTER (WHERE reasons LIKE '%signature%') "
        "FROM marts.batch_release_readiness",
    ) == [(0, 0)]
