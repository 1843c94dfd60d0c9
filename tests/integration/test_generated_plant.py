"""The generated plant: deterministic, complete, in the real formats, and true to its manifest."""

from __future__ import annotations

import filecmp
import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from biotwin.settings import PROJECT_ROOT
from synthetic.generate import DEFAULT_START, generate
from tests.conftest import PLANT_BATCHES, PLANT_SEED
from tests.helpers import asm_documents, read_csv_rows, read_historian, read_reference

SYSTEMS = ("historian", "mes", "lims", "instruments", "custody")


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_files(plant_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, PLANT_BATCHES, PLANT_SEED, DEFAULT_START)
    files = _tree(plant_dir)
    assert files == _tree(again)
    match, mismatch, errors = filecmp.cmpfiles(plant_dir, again, files, shallow=False)
    assert mismatch == [] and errors == []
    assert len(match) == len(files) > 100


def test_a_different_seed_gives_a_different_plant(plant_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, 4, PLANT_SEED + 1, DEFAULT_START)
    doc = json.loads((other / "manifest.json").read_text())
    ours = json.loads((plant_dir / "manifest.json").read_text())
    assert doc["batches"][0]["outcomes"] != ours["batches"][0]["outcomes"]


def test_all_systems_at_two_sites_and_enough_batch_records(plant_dir: Path) -> None:
    landing = plant_dir / "landing"
    for system in SYSTEMS:
        sites = [
            p.name
            for p in (landing / system).iterdir()
            if p.is_dir() and any(f.is_file() for f in p.rglob("*"))
        ]
        assert len(sites) >= 2, f"{system} has files for {sites}"
    records = set()
    for path in (landing / "mes").rglob("*.json"):
        try:
            records.add(json.loads(path.read_text())["batch_id"])
        except json.JSONDecodeError:
            continue
    assert len(records) >= PLANT_BATCHES
    vendors = {p.name for p in (landing / "instruments").glob("*/*") if any(p.iterdir())}
    assert {"beckman_vi_cell_blu"} < vendors
    assert vendors & {"roche_cedex_bioht", "novabio_flex2"}


def test_generated_reference_is_the_shipped_reference(plant_dir: Path) -> None:
    shipped = PROJECT_ROOT / "reference"
    names = sorted(p.name for p in shipped.glob("*.csv"))
    assert names == sorted(p.name for p in (plant_dir / "reference").glob("*.csv"))
    for name in names:
        assert (shipped / name).read_bytes() == (plant_dir / "reference" / name).read_bytes(), (
            f"reference/{name} differs from what the generator writes: the shipped folder is the "
            "demo plant's (reference/README.md); change synthetic/catalogue.py and copy a "
            "regenerated plant's reference/*.csv"
        )


def test_historian_units_are_those_declared_per_site(plant_dir: Path) -> None:
    declared = {
        (r["site_id"], r["tag"]): r["source_unit"] for r in read_reference(plant_dir, "tags.csv")
    }
    seen = Counter()
    for path in sorted((plant_dir / "landing" / "historian").glob("*/*")):
        if "attempt" in path.name:
            continue  # the planted truncated export is checked elsewhere
        site = path.parent.name
        for row in read_historian(path):
            unit = declared.get((site, row["tag"]))
            if unit is not None:
                assert row["units"] == unit, (path.name, row)
                seen[site] += 1
    assert seen["BOS"] > 10_000 and seen["BSL"] > 10_000 and seen["CRK"] > 10_000


def _parse_instruments(paths: list[Path]) -> dict[Path, dict]:
    """Each file's whole ASM document from allotropy itself (its own environment)."""
    zones = {"BOS": "America/New_York", "BSL": "Europe/Zurich"}
    return {
        Path(p): doc
        for p, doc in asm_documents([(p, p.parts[-2], zones[p.parts[-3]]) for p in paths]).items()
    }


def _asm_values(doc: dict) -> dict[tuple[str, str, str], list[float]]:
    """(sample, ASM field or analyte name, target) -> values, from every measurement document:
    a PCR well's quantities under its DNA target, a flow population's count under its gate
    path from the root (`Lymphocytes/Single Cells`), else target ''. The sample is the lab's
    name for it: a flow specimen's written name, else the sample identifier."""
    out: dict[tuple[str, str, str], list[float]] = {}

    def walk(node, sid: str, target: str) -> None:
        if isinstance(node, dict):
            if "analyte name" in node:
                conc = node.get("mass concentration") or node.get("molar concentration")
                out.setdefault((sid, node["analyte name"], target), []).append(conc["value"])
                return
            for key, value in node.items():
                if key == "population aggregate document":
                    gates(value, sid, None)
                elif isinstance(value, dict) and set(value) == {"value", "unit"}:
                    out.setdefault((sid, key, target), []).append(value["value"])
                elif key != "sample document":
                    walk(value, sid, target)
        elif isinstance(node, list):
            for child in node:
                walk(child, sid, target)

    def gates(node, sid: str, parent: str | None) -> None:
        parts = node if isinstance(node, list) else [node]
        for population in (d for part in parts for d in part.get("population document", [])):
            path = (
                ""
                if parent is None
                else "/".join(p for p in (parent, population["written name"]) if p)
            )
            if parent is not None:
                out.setdefault((sid, "count", path), []).append(population["count"]["value"])
            if "population aggregate document" in population:
                gates(population["population aggregate document"], sid, path)

    def measurements(node):
        if isinstance(node, dict):
            if "measurement document" in node:
                yield from node["measurement document"]
            for value in node.values():
                yield from measurements(value)
        elif isinstance(node, list):
            for child in node:
                yield from measurements(child)

    for m in measurements(doc):
        sample = m["sample document"]
        sid = sample.get("written name") or sample["sample identifier"]
        walk(m, sid, m.get("target DNA description") or "")
    return out


def test_instrument_files_parse_with_allotropy_and_say_what_was_meant(
    plant_dir: Path, manifest: dict
) -> None:
    """Every truth value is in its file as allotropy reads it, dPCR wells and flow gates
    included (a sample's replicate wells compared as a set)."""
    malformed = {i["path"] for i in manifest["mess"] if i["kind"] == "malformed_file"}
    fields = {
        (r["vendor"], r["parameter_id"]): r["field"]
        for r in read_reference(plant_dir, "instrument_fields.csv")
    }
    truth = read_csv_rows(plant_dir / "truth" / "instrument_results.csv")
    parsed: dict[tuple[str, str, str, str], list[float]] = {}
    files = sorted(p for p in (plant_dir / "landing" / "instruments").rglob("*") if p.is_file())
    documents = _parse_instruments(files)
    for path in files:
        rel = path.relative_to(plant_dir).as_posix()
        if rel in malformed:
            assert "Viable" in documents[path]["error"]
            continue
        for (sid, field, target), values in _asm_values(documents[path]).items():
            parsed.setdefault((path.parts[-2], sid, field, target), []).extend(values)
    meant: dict[tuple[str, str, str, str], list[float]] = {}
    for row in truth:
        key = (
            row["vendor"],
            row["sample_id"],
            fields[(row["vendor"], row["parameter_id"])],
            row["target"],
        )
        meant.setdefault(key, []).append(float(row["value"]))
    checked = Counter()
    for key, values in meant.items():
        assert key in parsed, f"{key} missing from the parsed instrument files"
        got = sorted(parsed[key])
        assert len(got) == len(values), (key, got, values)
        for value, want in zip(got, sorted(values), strict=True):
            if (
                key[0] == "roche_cedex_bioht"
                and want < 0.3
                and value == 0
                and math.copysign(1, value) < 0
            ):
                continue  # below the kit's range: allotropy's -0.0 placeholder, not a result
            assert value == pytest.approx(want, abs=0.006, rel=0.01), (key, value, want)
            checked[key[0]] += 1
    assert sum(checked.values()) > 0.9 * len(truth)
    # the release assays are there: dPCR wells of both targets, flow gates of both panels
    assert {"qiacuity_dpcr", "flowjo"} <= set(checked), checked
    targets = {key[3] for key in meant}
    assert {"WPRE", "RPP30", "Lymphocytes/Single Cells/Live cells/CD3+/CAR+"} <= targets


def test_every_manifest_item_is_present_in_the_files(plant_dir: Path, manifest: dict) -> None:
    kinds = Counter(i["kind"] for i in manifest["mess"])
    required = {
        "historian_digital_state",
        "historian_quality_bad",
        "historian_quality_questionable",
        "historian_spike",
        "historian_out_of_order",
        "historian_overlap",
        "historian_repeated_file",
        "historian_dst_ambiguous",
        "historian_unmapped_tag",
        "lims_amendment",
        "lims_censored",
        "lims_batch_ref_variant",
        "lims_unlinkable",
        "mes_record_reexport",
        "mes_deviation",
        "mes_missing_signature",
        "mes_late_signature",
        "custody_gap",
        "custody_temperature_excursion",
        "custody_unsigned_handoff",
        "malformed_file",
        "instrument_below_range",
        "instrument_unlinked_sample",
        "lab_out_of_spec",
    }
    assert required <= set(kinds), required - set(kinds)
    assert {i["system"] for i in manifest["mess"] if i["kind"] == "malformed_file"} == set(SYSTEMS)
    for item in manifest["mess"]:
        CHECKS[item["kind"]](plant_dir, item, manifest)


# --- one check per kind of planted mess -------------------------------------------------------


def _rows(plant_dir: Path, item: dict) -> list[dict]:
    return read_historian(plant_dir / item["path"])


def _check_digital_state(plant_dir, item, _m):
    rows = [
        r
        for r in _rows(plant_dir, item)
        if r["tag"] == item["detail"]["tag"] and r["value"] == item["detail"]["state"]
    ]
    assert len(rows) == item["detail"]["rows"]


def _check_quality(plant_dir, item, _m):
    d = item["detail"]
    rows = [
        r for r in _rows(plant_dir, item) if r["tag"] == d["tag"] and r["quality"] == d["quality"]
    ]
    assert len(rows) == d["rows"]


def _check_spike(plant_dir, item, _m):
    d = item["detail"]
    values = [
        float(r["value"])
        for r in _rows(plant_dir, item)
        if r["tag"] == d["tag"] and r["quality"] in ("", "Good")
    ]
    assert d["value"] in values
    typical = sorted(values)[len(values) // 2]
    assert d["value"] > 5 * typical


def _check_out_of_order(plant_dir, item, _m):
    rows = _rows(plant_dir, item)
    descents = Counter()
    last: dict[str, str] = {}
    for r in rows:
        if r["tag"] in last and r["timestamp"] < last[r["tag"]]:
            descents[r["tag"]] += 1
        last[r["tag"]] = r["timestamp"]
    assert max(descents.values()) >= 3  # more than a DST fall-back could explain


def _key(r: dict) -> tuple:
    return (r["tag"], r["timestamp"], r["value"])


def _check_overlap(plant_dir, item, _m):
    late = {_key(r) for r in _rows(plant_dir, item)}
    earlier = set()
    folder = (plant_dir / item["path"]).parent
    for path in folder.iterdir():
        if path.name != Path(item["path"]).name and "attempt" not in path.name:
            earlier |= {_key(r) for r in read_historian(path)} & late
    assert len(earlier) == len(late) == item["detail"]["rows"]


def _check_repeated(plant_dir, item, _m):
    import hashlib

    data = (plant_dir / item["path"]).read_bytes()
    assert data == (plant_dir / item["detail"]["same_bytes_as"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == item["detail"]["sha256"]
    assert item["path"] != item["detail"]["same_bytes_as"]


def _check_dst(plant_dir, item, _m):
    rows = _rows(plant_dir, item)
    keys = Counter((r["tag"], r["timestamp"]) for r in rows)
    doubled = sum(n for n in keys.values() if n > 1)
    assert doubled == item["detail"]["rows"] > 0
    # the repeated wall-clock hour is 01:00-02:00 local, whatever the site's time style
    assert all(re.search(r"[T ]01:", ts) for (_tag, ts), n in keys.items() if n > 1)


def _check_unmapped(plant_dir, item, _m):
    mapped = {r["tag"] for r in read_reference(plant_dir, "tags.csv")}
    present = set()
    for path in (plant_dir / "landing" / "historian" / item["site_id"]).iterdir():
        if "attempt" not in path.name:
            present |= {r["tag"] for r in read_historian(path)}
            if set(item["detail"]["tags"]) <= present:
                break
    assert set(item["detail"]["tags"]) <= present
    assert not set(item["detail"]["tags"]) & mapped


def _lims_rows(plant_dir: Path, site: str) -> list[dict]:
    rows = []
    for path in sorted((plant_dir / "landing" / "lims" / site).glob("*.csv")):
        if "_rerun" not in path.name:
            rows += [dict(r, _file=path.name) for r in read_csv_rows(path)]
    return rows


def _check_amendment(plant_dir, item, _m):
    d = item["detail"]
    rows = [
        r
        for r in _lims_rows(plant_dir, item["site_id"])
        if r["TEXT_ID"] == d["sample_id"] and r["COMPONENT"] == d["component"]
    ]
    first = [r for r in rows if r["ENTRY"] == d["first_entry"]]
    amended = [
        r
        for r in rows
        if r["ENTRY"] == d["amended_entry"] and r["CHANGE_REASON"] == d["change_reason"]
    ]
    assert first and amended
    assert min(r["CHANGED_ON"] for r in amended) > max(r["CHANGED_ON"] for r in first)
    assert first[0]["_file"] != amended[0]["_file"], "the amendment arrives in a later extract"


def _check_cancelled(plant_dir, item, _m):
    d = item["detail"]
    rows = [
        r
        for r in _lims_rows(plant_dir, item["site_id"])
        if r["TEXT_ID"] == d["sample_id"] and r["COMPONENT"] == d["component"]
    ]
    assert any(r["RESULT_STATUS"] == "CANCELLED" and r["REPLICATE"] == "1" for r in rows)
    assert any(r["REPLICATE"] == "2" and r["ENTRY"] == d["retest_entry"] for r in rows)


def _mes_docs(plant_dir: Path) -> list[dict]:
    docs = []
    for path in sorted((plant_dir / "landing" / "mes").rglob("*.json")):
        try:
            docs.append(json.loads(path.read_text()))
        except json.JSONDecodeError:
            continue
    return docs


def _check_unlinkable(plant_dir, item, _m):
    refs = {r["BATCH_REF"] for r in _lims_rows(plant_dir, item["site_id"])}
    assert item["detail"]["batch_ref"] in refs
    known = {d["batch_id"] for d in _mes_docs(plant_dir)} | {
        d["aliases"].get("lims") for d in _mes_docs(plant_dir)
    }
    assert item["detail"]["batch_ref"] not in known


def _check_ref_variant(plant_dir, item, _m):
    d = item["detail"]
    rows = [r for r in _lims_rows(plant_dir, item["site_id"]) if r["BATCH_REF"] == d["batch_ref"]]
    assert rows and d["batch_ref"] != d["batch_id"]
    aliases = {
        doc["aliases"].get("lims")
        for doc in _mes_docs(plant_dir)
        if doc["batch_id"] == d["batch_id"]
    }
    assert aliases == {d["batch_ref"]}


def _check_censored(plant_dir, item, _m):
    rows = read_csv_rows(plant_dir / item["path"])
    assert any(
        r["TEXT_ID"] == item["detail"]["sample_id"] and r["ENTRY"] == item["detail"]["entry"]
        for r in rows
    )


def _check_reexport(plant_dir, item, _m):
    v2 = json.loads((plant_dir / item["path"]).read_text())
    v1 = json.loads((plant_dir / item["detail"]["supersedes"]).read_text())
    assert v1["batch_id"] == v2["batch_id"] == item["detail"]["batch_id"]
    assert (v1["record_version"], v2["record_version"]) == (1, 2)
    assert v2["last_changed_at"] > v1["last_changed_at"] or v2["status"] != v1["status"]


def _check_deviation(plant_dir, item, _m):
    doc = json.loads((plant_dir / item["path"]).read_text())
    assert item["detail"]["deviation_id"] in {d["id"] for d in doc["deviations"]}


def _phase_signatures(plant_dir, item) -> tuple[str, list[str]]:
    """The planted phase's end and its signatures of the planted meaning, in the record."""
    doc = json.loads((plant_dir / item["path"]).read_text())
    d = item["detail"]
    (phase,) = [p for p in doc["phases"] if p["phase"] == d["phase"]]
    signed = [
        s["signed_at"]
        for s in doc["signatures"]
        if s["phase"] == d["phase"] and s["meaning"] == d["meaning"]
    ]
    return phase["end"], signed


def _check_missing_signature(plant_dir, item, _m):
    end, signed = _phase_signatures(plant_dir, item)
    assert end is not None and signed == []


def _check_late_signature(plant_dir, item, _m):
    from datetime import datetime

    end, signed = _phase_signatures(plant_dir, item)
    hours = (datetime.fromisoformat(signed[0]) - datetime.fromisoformat(end)).total_seconds() / 3600
    assert len(signed) == 1 and hours > 24


def _custody_rows(plant_dir: Path, site: str) -> list[dict]:
    rows = []
    for path in sorted((plant_dir / "landing" / "custody" / site).glob("*.csv")):
        if "_partial" not in path.name:
            rows += read_csv_rows(path)
    return rows


def _check_gap(plant_dir, item, _m):
    events = {
        r["EVENT_TYPE"]
        for r in _custody_rows(plant_dir, item["site_id"])
        if r["COI_ID"] == item["detail"]["coi_id"]
    }
    assert "RECEIVED_AT_MANUFACTURING" not in events
    assert {"SHIPPED_TO_MANUFACTURING", "MANUFACTURING_STARTED"} <= events


def _check_excursion(plant_dir, item, _m):
    rows = [
        r
        for r in read_csv_rows(plant_dir / item["path"])
        if r["COI_ID"] == item["detail"]["coi_id"]
        and r["EVENT_TYPE"] == item["detail"]["event_type"]
    ]
    assert len(rows) == 1 and float(rows[0]["TEMPERATURE_C"]) > 8.0


def _check_unsigned(plant_dir, item, _m):
    rows = [
        r
        for r in read_csv_rows(plant_dir / item["path"])
        if r["COI_ID"] == item["detail"]["coi_id"]
        and r["EVENT_TYPE"] == item["detail"]["event_type"]
    ]
    assert len(rows) == 1 and rows[0]["SIGNED_BY"] == ""


def _check_malformed(plant_dir, item, _m):
    bad = (plant_dir / item["path"]).read_bytes()
    good = (plant_dir / item["detail"]["retried_as"]).read_bytes()
    system = item["system"]
    if system in ("historian", "custody"):
        assert good.startswith(bad) and len(bad) < len(good)
        assert not bad.endswith(b"\n")
    elif system == "mes":
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad)
    elif system == "lims":
        assert bad.split(b"\r\n", 1)[0] != good.split(b"\r\n", 1)[0]
        assert bad.split(b"\r\n", 1)[1] == good.split(b"\r\n", 1)[1]
    else:
        path = plant_dir / item["path"]
        assert "Viable" in _parse_instruments([path])[path]["error"]


def _check_below_range(plant_dir, item, _m):
    text = (plant_dir / item["path"]).read_text()
    assert re.search(
        rf"{re.escape(item['detail']['sample_id'])}\t.*< TEST RNG\t\s*"
        rf"{re.escape(item['detail']['written'])}",
        text,
    )


def _check_unlinked_sample(plant_dir, item, manifest):
    text = (plant_dir / item["path"]).read_text(encoding="utf-8")
    sid = item["detail"]["sample_id"]
    assert f'"{sid}"' in text
    pattern = next(
        r["sample_id_pattern"]
        for r in read_reference(plant_dir, "sites.csv")
        if r["site_id"] == item["site_id"]
    )
    assert re.match(pattern, sid) is None


def _check_lab_out_of_spec(plant_dir, item, _m):
    """The plate's wells give the VCN the manifest names (2 x vector / reference copies, as
    derived_parameters.csv says), above its limit; the batch record says why."""
    path = plant_dir / item["path"]
    values = _asm_values(_parse_instruments([path])[path])
    sid = item["detail"]["sample_id"]
    vector = values[(sid, "number concentration", "WPRE")]
    reference = values[(sid, "number concentration", "RPP30")]
    vcn = 2.0 * (sum(vector) / len(vector)) / (sum(reference) / len(reference))
    assert vcn == pytest.approx(item["detail"]["value"], rel=1e-3)
    assert vcn > item["detail"]["spec_max"]
    assert "mL of vector added" in item["detail"]["cause"]


def _check_unmapped_parameter(plant_dir, item, _m):
    listed = {r["parameter_id"] for r in read_reference(plant_dir, "parameters.csv")}
    written = set()
    for path in (plant_dir / "landing" / "mes" / item["site_id"]).glob("*.json"):
        written |= {p["name"] for p in json.loads(path.read_text())["parameters"]}
    assert set(item["detail"]["parameters"]) <= written
    assert not set(item["detail"]["parameters"]) & listed


CHECKS = {
    "historian_digital_state": _check_digital_state,
    "historian_quality_bad": _check_quality,
    "historian_quality_questionable": _check_quality,
    "historian_quality_substituted": _check_quality,
    "historian_spike": _check_spike,
    "historian_out_of_order": _check_out_of_order,
    "historian_overlap": _check_overlap,
    "historian_repeated_file": _check_repeated,
    "historian_dst_ambiguous": _check_dst,
    "historian_unmapped_tag": _check_unmapped,
    "lims_amendment": _check_amendment,
    "lims_cancelled_retest": _check_cancelled,
    "lims_unlinkable": _check_unlinkable,
    "lims_batch_ref_variant": _check_ref_variant,
    "lims_censored": _check_censored,
    "mes_record_reexport": _check_reexport,
    "mes_deviation": _check_deviation,
    "mes_missing_signature": _check_missing_signature,
    "mes_late_signature": _check_late_signature,
    "mes_unmapped_parameter": _check_unmapped_parameter,
    "custody_gap": _check_gap,
    "custody_temperature_excursion": _check_excursion,
    "custody_unsigned_handoff": _check_unsigned,
    "malformed_file": _check_malformed,
    "instrument_below_range": _check_below_range,
    "instrument_unlinked_sample": _check_unlinked_sample,
    "lab_out_of_spec": _check_lab_out_of_spec,
}
