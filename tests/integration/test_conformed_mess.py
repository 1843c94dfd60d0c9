"""Every kind of planted mess is handled as docs/conformed.md says: reported in dq_issues,
versioned, linked, flagged or kept unlinked. A new kind in the generator fails this test until
it gets a check here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import query

Check = Callable[[Path, dict], None]


def _sha(wh: Path, path: str) -> str:
    found = query(
        wh,
        "SELECT DISTINCT file_sha256 FROM raw.file_ledger WHERE source_path = ?",
        [path.removeprefix("landing/")],
    )
    assert len(found) == 1, path
    return found["file_sha256"].iloc[0]


def _issues(wh: Path, issue_type: str, **where: str):
    sql = "SELECT * FROM marts.dq_issues WHERE issue_type = ?"
    params = [issue_type]
    for column, value in where.items():
        sql += f" AND {column} = ?"
        params.append(value)
    return query(wh, sql, params)


def _readings(wh: Path, item: dict):
    d = item["detail"]
    return query(
        wh,
        "SELECT * FROM marts.fct_process_timeseries WHERE source_tag = ? "
        "AND ts_utc BETWEEN CAST(? AS TIMESTAMPTZ) AND CAST(? AS TIMESTAMPTZ)",
        [d["tag"], d["first_minute_utc"], d["last_minute_utc"]],
    )


def digital_state(wh: Path, item: dict) -> None:
    rows = _readings(wh, item)
    assert len(rows) == item["detail"]["rows"]
    assert (rows["digital_state"] == item["detail"]["state"]).all()
    assert rows["value"].isna().all() and not rows["is_usable"].any()
    flagged = _issues(wh, "flagged_reading", file_sha256=_sha(wh, item["path"]))
    assert flagged["detail"].str.contains(item["detail"]["state"], regex=False).any()


def quality_flag(wh: Path, item: dict) -> None:
    rows = _readings(wh, item)
    assert len(rows) == item["detail"]["rows"]
    assert (rows["quality"] == item["detail"]["quality"]).all() and not rows["is_usable"].any()
    flagged = _issues(wh, "flagged_reading", file_sha256=_sha(wh, item["path"]))
    assert flagged["detail"].str.endswith(item["detail"]["quality"]).any()


def spike(wh: Path, item: dict) -> None:
    rows = _readings(wh, item)
    assert len(rows) == 1 and not rows["is_usable"].iloc[0]
    assert rows["source_value"].iloc[0] == pytest.approx(item["detail"]["value"])
    issue = _issues(wh, "implausible_value", record_id=rows["_record_id"].iloc[0])
    assert len(issue) == 1


def out_of_order(wh: Path, item: dict) -> None:
    # a shuffled block changes nothing downstream: the file's readings are all attributed once
    sha = _sha(wh, item["path"])
    counts = query(
        wh,
        "SELECT count(*) AS n, count(DISTINCT (parameter_id, ts_utc)) AS distinct_n "
        "FROM marts.fct_process_timeseries WHERE _file_sha256 = ?",
        [sha],
    )
    assert counts["n"].iloc[0] == counts["distinct_n"].iloc[0] > 0


def overlap(wh: Path, item: dict) -> None:
    sha = _sha(wh, item["path"])
    issues = _issues(wh, "overlapping_export", file_sha256=sha)
    for repeated in item["detail"]["repeats_rows_of"]:
        assert issues["detail"].str.endswith(_sha(wh, repeated)).any(), repeated
    # the repeated readings were loaded (raw keeps them) but count once in the marts
    counts = query(
        wh,
        "WITH span AS (SELECT equipment_id, min(ts_utc) AS lo, max(ts_utc) AS hi "
        "  FROM intermediate.int_historian__points_conformed WHERE _file_sha256 = ? "
        "  GROUP BY equipment_id) "
        "SELECT count(*) AS n, count(DISTINCT (t.parameter_id, t.ts_utc)) AS distinct_n "
        "FROM marts.fct_process_timeseries t JOIN span ON t.equipment_id = span.equipment_id "
        "AND t.ts_utc BETWEEN span.lo AND span.hi",
        [sha],
    )
    assert counts["n"].iloc[0] == counts["distinct_n"].iloc[0] > 0


def repeated_file(wh: Path, item: dict) -> None:
    # whichever of the two names was listed second is the duplicate
    names = {item["path"], item["detail"]["same_bytes_as"]}
    issues = _issues(wh, "duplicate_file", file_sha256=item["detail"]["sha256"])
    assert len(issues) == 1
    assert any(issues["detail"].iloc[0].endswith(n.removeprefix("landing/")) for n in names)


def dst_ambiguous(wh: Path, item: dict) -> None:
    assert len(_issues(wh, "dst_ambiguous", file_sha256=_sha(wh, item["path"]))) > 0


def unmapped_tag(wh: Path, item: dict) -> None:
    issues = query(wh, "SELECT detail FROM marts.dq_issues WHERE issue_type = 'unmapped_tag'")
    for tag in item["detail"]["tags"]:
        assert issues["detail"].str.startswith(f"tag {tag} ").any(), tag


def unmapped_parameter(wh: Path, item: dict) -> None:
    """A batch-record parameter no reference row lists: kept in the mart as written, with a
    dq issue per parameter of the site."""
    for name in item["detail"]["parameters"]:
        kept = query(
            wh,
            "SELECT s.source_setpoint FROM marts.fct_batch_setpoint s JOIN marts.dim_batch b "
            "USING (batch_id) WHERE s.parameter_id = ? AND b.site_id = ?",
            [name, item["site_id"]],
        )
        assert len(kept) > 0 and kept["source_setpoint"].notna().all(), name
        issues = _issues(wh, "unmapped_parameter", site_id=item["site_id"])
        assert issues["detail"].str.contains(name, regex=False).any(), name


def _lab(wh: Path, sample_id: str, where: str = "", params: list | None = None):
    return query(
        wh,
        f"SELECT * FROM marts.fct_lab_result WHERE sample_id = ? {where} ORDER BY version",
        [sample_id, *(params or [])],
    )


def amendment(wh: Path, item: dict) -> None:
    d = item["detail"]
    rows = _lab(
        wh, d["sample_id"], "AND result_text IN (?, ?)", [d["first_entry"], d["amended_entry"]]
    )
    rows = rows[rows["result_id"] == rows["result_id"].iloc[-1]]
    assert rows["result_text"].tolist() == [d["first_entry"], d["amended_entry"]]
    assert rows["version"].tolist() == [1, 2] and rows["is_current"].tolist() == [False, True]
    assert rows["change_reason"].iloc[1] == d["change_reason"]


def cancelled_retest(wh: Path, item: dict) -> None:
    d = item["detail"]
    rows = _lab(
        wh,
        d["sample_id"],
        "AND is_current AND result_text IN (?, ?)",
        [d["cancelled_entry"], d["retest_entry"]],
    )
    by_status = dict(zip(rows["status"], rows["result_text"], strict=True))
    assert by_status == {"cancelled": d["cancelled_entry"], "approved": d["retest_entry"]}


def censored(wh: Path, item: dict) -> None:
    d = item["detail"]
    rows = _lab(wh, d["sample_id"], "AND is_current AND result_text = ?", [d["entry"]])
    assert len(rows) == 1
    if d["entry"].startswith("<"):
        assert rows["censor"].iloc[0] == "<"
        assert rows["value"].iloc[0] == pytest.approx(float(d["entry"][1:]))
    else:
        assert rows["censor"].iloc[0] == "text" and rows["value"].isna().all()


def batch_ref_variant(wh: Path, item: dict) -> None:
    d = item["detail"]
    rows = query(
        wh,
        "SELECT r.batch_id, r.link_method FROM intermediate.int_lims__result_versions r "
        "WHERE r.batch_ref = ?",
        [d["batch_ref"]],
    )
    assert len(rows) > 0 and (rows["batch_id"] == d["batch_id"]).all()
    assert (rows["link_method"] != "batch_id").all()


def unlinkable(wh: Path, item: dict) -> None:
    rows = _lab(wh, item["detail"]["sample_id"])
    assert len(rows) > 0 and rows["batch_id"].isna().all()
    issues = _issues(wh, "unlinked_record", source_system="lims")
    assert set(rows["_record_id"]) <= set(issues["record_id"])


def record_reexport(wh: Path, item: dict) -> None:
    d = item["detail"]
    batch = query(wh, "SELECT * FROM marts.dim_batch WHERE batch_id = ?", [d["batch_id"]])
    assert batch["record_version"].iloc[0] == d["record_version"]
    assert batch["status"].iloc[0] == d["status"] and batch["n_record_versions"].iloc[0] >= 2
    kept = query(
        wh,
        "SELECT count(*) AS n FROM staging.stg_mes__batch_records WHERE batch_id = ?",
        [d["batch_id"]],
    )
    assert kept["n"].iloc[0] >= 2  # the superseded version is kept


def deviation(wh: Path, item: dict) -> None:
    d = item["detail"]
    rows = query(
        wh, "SELECT * FROM marts.fct_deviation WHERE deviation_id = ?", [d["deviation_id"]]
    )
    assert rows["batch_id"].tolist() == [d["batch_id"]]
    assert rows["classification"].tolist() == [d["classification"]]


def _signature(wh: Path, item: dict):
    """The planted phase's end and its signatures of the planted meaning (the marts keep
    what the record says; marts.batch_exceptions judges it, tests/integration/test_release.py)."""
    d = item["detail"]
    return query(
        wh,
        "SELECT p.ended_at_utc, s.signed_at_utc FROM marts.fct_batch_phase AS p "
        "LEFT JOIN marts.fct_signature AS s ON s.batch_id = p.batch_id AND s.phase = p.phase "
        "AND s.meaning = ? WHERE p.batch_id = ? AND p.phase = ?",
        [d["meaning"], d["batch_id"], d["phase"]],
    )


def missing_signature(wh: Path, item: dict) -> None:
    rows = _signature(wh, item)
    assert len(rows) == 1 and rows["ended_at_utc"].notna().all()
    assert rows["signed_at_utc"].isna().all()


def late_signature(wh: Path, item: dict) -> None:
    rows = _signature(wh, item)
    assert len(rows) == 1
    late_h = (rows["signed_at_utc"] - rows["ended_at_utc"]).dt.total_seconds().iloc[0] / 3600
    assert late_h > 24


def _custody(wh: Path, item: dict):
    d = item["detail"]
    rows = query(
        wh,
        "SELECT * FROM marts.fct_custody_event WHERE coi_id = ? AND event_type = ?",
        [d["coi_id"], d["event_type"]],
    )
    assert len(rows) == 1  # a re-sent copy of the event counts once
    return rows.iloc[0]


def custody_gap(wh: Path, item: dict) -> None:
    d = item["detail"]
    events = query(
        wh,
        "SELECT * FROM marts.fct_custody_event WHERE coi_id = ? ORDER BY event_order",
        [d["coi_id"]],
    )
    assert d["event_type"] not in set(events["event_type"])  # the missing step
    assert events["has_gap_before"].any()
    assert len(_issues(wh, "custody_gap", batch_id=events["batch_id"].iloc[0])) > 0


def custody_excursion(wh: Path, item: dict) -> None:
    event = _custody(wh, item)
    assert event["is_temperature_excursion"]
    assert len(_issues(wh, "temperature_excursion", record_id=event["_record_id"])) == 1


def custody_unsigned(wh: Path, item: dict) -> None:
    event = _custody(wh, item)
    assert event["is_unsigned_handoff"] and event["signed_by"] is None
    assert len(_issues(wh, "unsigned_handoff", record_id=event["_record_id"])) == 1


def below_range(wh: Path, item: dict) -> None:
    d = item["detail"]
    rows = query(
        wh,
        "SELECT * FROM marts.fct_lab_result WHERE sample_id = ? AND parameter_id = ? "
        "AND source_system = ?",
        [d["sample_id"], d["analyte"], f"instrument:{d['vendor']}"],
    )
    assert len(rows) == 1 and rows["censor"].iloc[0] == "<"
    assert rows["value"].iloc[0] == pytest.approx(float(d["written"].lstrip("< ")))


def unlinked_sample(wh: Path, item: dict) -> None:
    rows = query(
        wh, "SELECT * FROM marts.fct_lab_result WHERE sample_id = ?", [item["detail"]["sample_id"]]
    )
    assert len(rows) > 0 and rows["batch_id"].isna().all()
    issues = _issues(wh, "unlinked_record", source_system="instruments")
    assert issues["detail"].str.contains(item["detail"]["sample_id"], regex=False).any()


def out_of_spec(wh: Path, item: dict) -> None:
    """The overdosed batch's VCN, computed from the plate the item names, is an out_of_spec
    issue of its batch (a warning: the data flows on); the batch record shows the cause."""
    d = item["detail"]
    issues = _issues(wh, "out_of_spec", source_system="instruments", batch_id=d["batch_id"])
    assert issues["detail"].str.startswith("vcn = ").any()
    assert set(issues["severity"]) == {"warning"}
    (vcn,) = query(
        wh,
        "SELECT value FROM marts.fct_lab_result WHERE batch_id = ? AND parameter_id = 'vcn' "
        "AND status = 'calculated' AND sample_id = ?",
        [d["batch_id"], d["sample_id"]],
    )["value"]
    assert vcn == d["value"] or abs(vcn - d["value"]) < 1e-3
    setpoint = query(
        wh,
        "SELECT setpoint, actual FROM marts.fct_batch_setpoint WHERE batch_id = ? "
        "AND parameter_id = 'vector_volume'",
        [d["batch_id"]],
    )
    assert (setpoint["actual"] > 4 * setpoint["setpoint"]).all() and len(setpoint) == 1


def malformed(wh: Path, item: dict) -> None:
    assert len(_issues(wh, "quarantined_rows", file_sha256=_sha(wh, item["path"]))) == 1


HANDLED_BY: dict[str, Check] = {
    "historian_digital_state": digital_state,
    "historian_quality_bad": quality_flag,
    "historian_quality_questionable": quality_flag,
    "historian_quality_substituted": quality_flag,
    "historian_spike": spike,
    "historian_out_of_order": out_of_order,
    "historian_overlap": overlap,
    "historian_repeated_file": repeated_file,
    "historian_dst_ambiguous": dst_ambiguous,
    "historian_unmapped_tag": unmapped_tag,
    "lims_amendment": amendment,
    "lims_cancelled_retest": cancelled_retest,
    "lims_censored": censored,
    "lims_batch_ref_variant": batch_ref_variant,
    "lims_unlinkable": unlinkable,
    "mes_record_reexport": record_reexport,
    "mes_deviation": deviation,
    "mes_unmapped_parameter": unmapped_parameter,
    "mes_missing_signature": missing_signature,
    "mes_late_signature": late_signature,
    "custody_gap": custody_gap,
    "custody_temperature_excursion": custody_excursion,
    "custody_unsigned_handoff": custody_unsigned,
    "instrument_below_range": below_range,
    "instrument_unlinked_sample": unlinked_sample,
    "lab_out_of_spec": out_of_spec,
    "malformed_file": malformed,
}


def test_every_planted_mess_is_handled(conformed: Path, manifest: dict) -> None:
    kinds = {item["kind"] for item in manifest["mess"]}
    assert kinds == set(HANDLED_BY), "a mess kind without a check (or a check without a kind)"
    failures = []
    for item in manifest["mess"]:
        try:
            HANDLED_BY[item["kind"]](conformed, item)
        except AssertionError as exc:
            failures.append(f"{item['id']}: {exc}")
    assert failures == []
