"""Reference-data changes become audit entries with the old and the new values."""

from __future__ import annotations

from assets.contracts.reference import KEYS
from lineage.reference_changes import reference_changes


def test_added_removed_and_changed_rows_with_old_and_new_values() -> None:
    old = [
        {
            "site_id": "BOS",
            "tag": "T1",
            "equipment_id": "BR-1",
            "parameter_id": "ph",
            "source_unit": "pH",
        },
        {
            "site_id": "BOS",
            "tag": "T2",
            "equipment_id": "BR-1",
            "parameter_id": "temperature",
            "source_unit": "degC",
        },
    ]
    new = [
        {
            "site_id": "BOS",
            "tag": "T2",
            "equipment_id": "BR-1",
            "parameter_id": "temperature",
            "source_unit": "degF",
        },
        {
            "site_id": "BOS",
            "tag": "T3",
            "equipment_id": "BR-2",
            "parameter_id": "ph",
            "source_unit": "pH",
        },
    ]
    entries = {
        e["subject"]: e
        for e in reference_changes("tags", KEYS["tags.csv"], old, new, "tags.csv sha256 x")
    }
    assert set(entries) == {"ref.tags[BOS|T1]", "ref.tags[BOS|T2]", "ref.tags[BOS|T3]"}
    assert entries["ref.tags[BOS|T1]"]["kind"] == "reference_removed"
    assert entries["ref.tags[BOS|T3]"]["kind"] == "reference_added"
    changed = entries["ref.tags[BOS|T2]"]
    assert changed["kind"] == "reference_changed"
    assert changed["detail"]["old"] == {"source_unit": "degC"}
    assert changed["detail"]["new"] == {"source_unit": "degF"}
    assert changed["detail"]["source"] == "tags.csv sha256 x"


def test_an_unchanged_table_gives_no_entries_and_nan_equals_empty() -> None:
    rows = [
        {"product_id": "P", "parameter_id": "ph", "sample_point": None, "spec_min": float("nan")}
    ]
    same = [{"product_id": "P", "parameter_id": "ph", "sample_point": None, "spec_min": None}]
    assert reference_changes("specifications", KEYS["specifications.csv"], rows, same, "s") == []


def test_mappings_of_one_field_to_two_targets_are_two_rows() -> None:
    """A dPCR concentration maps to two parameters by target: changing one is one entry on
    that row (keyed by target too), and a table written before `target` existed compares."""
    old = [{"vendor": "qiacuity_dpcr", "field": "number concentration", "parameter_id": "vcn"}]
    new = [
        {"vendor": "qiacuity_dpcr", "field": "number concentration", "parameter_id": p, "target": t}
        for p, t in (("vector_copies", "WPRE"), ("reference_copies", "RPP30"))
    ]
    entries = reference_changes("instrument_fields", KEYS["instrument_fields.csv"], old, new, "s")
    assert sorted((e["subject"], e["kind"]) for e in entries) == [
        ("ref.instrument_fields[qiacuity_dpcr|number concentration|None]", "reference_removed"),
        ("ref.instrument_fields[qiacuity_dpcr|number concentration|RPP30]", "reference_added"),
        ("ref.instrument_fields[qiacuity_dpcr|number concentration|WPRE]", "reference_added"),
    ]
