"""The instrument-file parser worker: allotropy in its own environment, one file per request.

Run by the instruments loader (`assets/ingest/parser_pool.py`) as
`.parser-venv/bin/python instrument_parser/worker.py`; it imports nothing of biotwin, only the
standard library and allotropy, because it runs in the parser's own locked environment
(instrument_parser/pyproject.toml: allotropy's jsonschema cap cannot sit beside dbt's).

Protocol, one JSON object per line: first the worker says {"ready": true, "allotropy":
version}; then for each request {"path", "vendor" (an allotropy Vendor name, lower case),
"timezone" (the site's IANA zone: instrument clocks are naive local time)} it answers either
{"ok": true, "measurements": [...]} or {"ok": false, "check": rule, "reason": text}. A
measurement is {"sample_id", "batch_id", "measured_at" (null: the file holds no time), "well",
"fields": [[name, value, unit, flag, target], ...]} in file order (target: a PCR
measurement's DNA target, a flow-cytometry population's gate path, else null): the ASM
flattened to what the loader keeps, so a 500 kB flow-cytometry document does not cross the
pipe. Values are as allotropy wrote
them (a below-range result is its -0.0 placeholder with the instrument's text as flag).
"""

from __future__ import annotations

import gc
import json
import sys
from datetime import datetime
from importlib.metadata import version
from zoneinfo import ZoneInfo


def measurements(doc):
    """Every measurement document in an ASM document, in file order."""
    if isinstance(doc, dict):
        if "measurement document" in doc and isinstance(doc["measurement document"], list):
            yield from doc["measurement document"]
            return
        for value in doc.values():
            yield from measurements(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from measurements(item)


SKIPPED = ("sample document", "data region aggregate document")  # the sample; gate geometry


def fields(node, out: dict, target: str | None) -> None:
    """A measurement's quantities into `out`, keyed (name, target) -> (value, unit, flag):
    every {value, unit} pair under it by its key, an analyte by its name (with the
    instrument's flag), a flow-cytometry population's count and statistics with the
    population's gate path as target (`Lymphocytes/Single Cells/CD3+`); a PCR measurement's
    quantities have its DNA target. Data cubes (amplification curves) are not results."""
    if isinstance(node, dict):
        if "analyte name" in node:
            conc = node.get("mass concentration") or node.get("molar concentration") or {}
            flag = (node.get("custom information document") or {}).get("flag")
            out[(node["analyte name"], target)] = (
                conc.get("value"),
                conc.get("unit"),
                str(flag).strip() if flag else None,
            )
            return
        for key, value in node.items():
            if key in SKIPPED or key.endswith("data cube"):
                continue
            if key == "population aggregate document":
                populations(value, out, target)
            elif isinstance(value, dict) and set(value) == {"value", "unit"}:
                out[(key, target)] = (value["value"], value["unit"], None)
            else:
                fields(value, out, target)
    elif isinstance(node, list):
        for child in node:
            fields(child, out, target)


ROOT_POPULATION = "All Events"


def populations(node, out: dict, parent: str | None) -> None:
    """Each population (gate) of a flow-cytometry measurement: its count, its statistics
    (`<role> <dimension>`, e.g. `median FL1-A`), and its sub-populations, by gate path from
    the root (whose own name, `All Events` or the FCS file's, is `All Events`): the path is
    what a site names in instrument_fields.csv, the same for every tube."""
    documents = node.get("population document", []) if isinstance(node, dict) else []
    if isinstance(node, list):
        documents = [d for part in node for d in part.get("population document", [])]
    for population in documents:
        name = str(population.get("written name") or population.get("data region identifier"))
        if parent is None:
            path, below = ROOT_POPULATION, ""
        else:
            path = f"{parent}/{name}" if parent else name
            below = path
        count = population.get("count")
        if isinstance(count, dict):
            out[("count", path)] = (count.get("value"), count.get("unit"), None)
        for stats in (population.get("statistics aggregate document") or {}).get(
            "statistics document", []
        ):
            dimensions = stats.get("statistic dimension aggregate document") or {}
            for dim in dimensions.get("statistic dimension document", []):
                value = dim.get("statistical value") or {}
                role = str(value.get("has statistic datum role", "")).removesuffix(" role")
                label = f"{role} {dim.get('dimension identifier', '')}".strip()
                out[(label, path)] = (value.get("value"), value.get("unit"), None)
        if "population aggregate document" in population:
            populations(population["population aggregate document"], out, below)


EPOCH = "1970-01-01T00:00:00"  # allotropy's placeholder for a file that holds no time


def measured_at(m: dict, timezone: str) -> str | None:
    """When it was measured: the measurement time; else (flow cytometry) the acquisition
    (the FCS keywords $DATE and $BTIM, in the site's zone), else the data processing time;
    None when the file says none (a QIAcuity plate export: allotropy's 1970 placeholder is
    not a time)."""
    if m.get("measurement time") and not str(m["measurement time"]).startswith(EPOCH):
        return str(m["measurement time"])
    keywords = m.get("custom information document") or {}
    if keywords.get("$DATE") and keywords.get("$BTIM"):
        try:
            local = datetime.strptime(
                f"{keywords['$DATE']} {keywords['$BTIM']}".title(), "%d-%b-%Y %H:%M:%S"
            )
            return local.replace(tzinfo=ZoneInfo(timezone)).isoformat()
        except ValueError:
            pass
    for node in m.get("processed data aggregate document", {}).get("processed data document", []):
        at = (node.get("data processing document") or {}).get("data processing time")
        if at:
            return str(at)
    return None


def flattened(doc: dict, timezone: str) -> list[dict]:
    rows = []
    for m in measurements(doc):
        sample = m.get("sample document") or {}
        values: dict = {}
        fields(m, values, m.get("target DNA description"))
        rows.append(
            {
                # the lab's name for the sample: a flow workspace's specimen ($SRC, allotropy's
                # written name; its sample identifier is FlowJo's tube number), else the id
                "sample_id": str(
                    sample.get("written name") or sample.get("sample identifier") or ""
                ),
                "batch_id": sample.get("batch identifier"),
                "measured_at": measured_at(m, timezone),
                # a plate's well; a flow workspace's tube (several tubes of one specimen)
                "well": sample.get("well location identifier")
                or (sample.get("custom information document") or {}).get("TUBE NAME"),
                "fields": [
                    [name, value, unit, flag, target]
                    for (name, target), (value, unit, flag) in sorted(
                        values.items(), key=lambda item: (item[0][0], item[0][1] or "")
                    )
                ],
            }
        )
    return rows


def handle(request: dict) -> dict:
    from allotropy.parser_factory import Vendor
    from allotropy.to_allotrope import allotrope_from_file

    name = str(request.get("vendor") or "")
    try:
        vendor = Vendor[name.upper()]
    except KeyError:
        return {
            "ok": False,
            "check": "instruments:vendor",
            "reason": f"folder {name!r} is not an allotropy Vendor "
            "(expected landing/instruments/<site>/<vendor>/)",
        }
    try:
        doc = allotrope_from_file(
            request["path"], vendor, default_timezone=ZoneInfo(request["timezone"])
        )
    except Exception as exc:  # allotropy raises many types; every one refuses the file
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {
            "ok": False,
            "check": "allotropy:parse",
            "reason": f"allotropy ({vendor.name}) cannot read it: {message}",
        }
    return {"ok": True, "measurements": flattened(doc, request["timezone"])}


def main() -> None:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # whatever allotropy prints must not corrupt the replies
    import allotropy.to_allotrope  # noqa: F401  (the import is the worker's start-up cost)

    # Some parsers (Nova Flex2) run gc.collect() per file: the objects of the import are set
    # aside so that each collection walks only what the parse made
    gc.freeze()
    protocol.write(json.dumps({"ready": True, "allotropy": version("allotropy")}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = handle(json.loads(line))
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
