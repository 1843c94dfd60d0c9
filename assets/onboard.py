"""`biotwin onboard check`: a dry run of a site's landing folders against its reference rows.

It reads the reference CSVs under their contracts, copies a sample of every landing folder of
the site (the first, a middle and the last file by name per system) to a scratch folder,
ingests the sample with the real loaders into an in-memory DuckDB, and reports per system what
would load, what would be quarantined (with the first reasons) and what the reference rows do
not map (with the row to add). The warehouse is never opened. Only what would block a run — a
reference file that breaks its contract, a missing landing folder — makes it fail.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from assets.ingest.reference import ReferenceError, read_reference
from assets.ingest.run import LOADERS, LandingMissing, check_landing, ingest
from biotwin.warehouse import plain_connection

SAMPLE_FILES = 3  # per system and site
MAX_SAMPLE_BYTES = 200 * 1024 * 1024  # a bigger file is named, not copied
EXAMPLES = 3


@dataclass
class Finding:
    system: str
    kind: str  # blocking | quarantined | unmapped | note (does not stop "ready")
    what: str
    examples: list[str] = field(default_factory=list)
    fix: str | None = None  # the reference row to add, when one would fix it


@dataclass
class Report:
    site: str | None
    every: bool = False  # every file, not a sample
    findings: list[Finding] = field(default_factory=list)
    sampled: dict[str, dict[str, int]] = field(default_factory=dict)  # system -> status -> files

    @property
    def blocking(self) -> bool:
        return any(f.kind == "blocking" for f in self.findings)

    @property
    def ready(self) -> bool:
        return all(f.kind == "note" for f in self.findings)


def _sample(files: list[Path], every: bool) -> list[Path]:
    if every or len(files) <= SAMPLE_FILES:
        return files
    return [files[0], files[len(files) // 2], files[-1]]


def _site_folders(landing: Path, system: str, site: str | None) -> list[Path]:
    base = landing / system
    return sorted(p for p in base.iterdir() if p.is_dir() and (site is None or p.name == site))


def _copy_sample(
    landing: Path, scratch: Path, system: str, site: str | None, report: Report, every: bool
) -> None:
    for site_dir in _site_folders(landing, system, site):
        files = sorted(p for p in site_dir.rglob("*") if p.is_file() and not p.is_symlink())
        for path in _sample(files, every):
            if path.stat().st_size > MAX_SAMPLE_BYTES:
                report.findings.append(
                    Finding(system, "note", f"{path.relative_to(landing)} is too big to sample")
                )
                continue
            target = scratch / path.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    try:
        return con.execute(sql).df()
    except duckdb.CatalogException:
        return pd.DataFrame()


def _quarantine_findings(con: duckdb.DuckDBPyConnection, system: str) -> list[Finding]:
    rows = _rows(
        con,
        "SELECT check_name, reason FROM raw.quarantine ORDER BY source_path, row_number",
    )
    out = []
    for check, group in rows.groupby("check_name", sort=True) if len(rows) else []:
        out.append(
            Finding(
                system,
                "quarantined",
                f"{len(group)} rows or files refused by {check}",
                list(group["reason"].head(EXAMPLES)),
            )
        )
    return out


def _by_name(tables: Iterable) -> dict[str, pd.DataFrame]:
    return {t.name.removesuffix(".csv"): t.frame for t in tables}


def _unit_finding(
    system: str, subject: str, written: str | None, parameter_id: str, ref: dict
) -> list[Finding]:
    """A finding when `subject` writes a unit that has no conversion to its parameter's."""
    units, parameters = ref["units"], ref["parameters"]
    canonical = parameters.set_index("parameter_id")["canonical_unit"].get(parameter_id)
    if not written or not canonical or written == canonical:
        return []
    if ((units["from_unit"] == written) & (units["to_unit"] == canonical)).any():
        return []
    return [
        Finding(
            system,
            "unmapped",
            f"{subject} writes {written}, its parameter is in {canonical}: no conversion",
            fix=f"units.csv: {written},{canonical},<factor>,<offset>",
        )
    ]


def _historian_findings(con, ref: dict[str, pd.DataFrame]) -> list[Finding]:
    seen = _rows(con, "SELECT DISTINCT site_id, tag, units FROM raw.historian_point")
    if seen.empty:
        return []
    tags = ref["tags"]
    out = []
    for (site, tag), group in seen.groupby(["site_id", "tag"], sort=True):
        unit = next((u for u in group["units"] if u), None)
        row = tags[(tags["site_id"] == site) & (tags["tag"] == tag)]
        if row.empty:
            out.append(
                Finding(
                    "historian",
                    "unmapped",
                    f"tag {tag} has no tags.csv row (its readings would reach no batch)",
                    fix=f"tags.csv: {site},{tag},<equipment_id>,<parameter_id>,{unit or '<unit>'}",
                )
            )
            continue
        parameter = row.iloc[0]["parameter_id"]
        written = unit or row.iloc[0]["source_unit"] or None
        out += _unit_finding("historian", f"tag {tag}", written, parameter, ref)
    return out


def _lims_findings(con, ref: dict[str, pd.DataFrame]) -> list[Finding]:
    seen = _rows(con, "SELECT DISTINCT site_id, analysis, component, units FROM raw.lims_result")
    if seen.empty:
        return []
    tests = ref["lab_tests"]
    out = []
    for (site, analysis, component), group in seen.groupby(
        ["site_id", "analysis", "component"], sort=True
    ):
        row = tests[
            (tests["site_id"] == site)
            & (tests["analysis"] == analysis)
            & (tests["component"] == component)
        ]
        if row.empty:
            out.append(
                Finding(
                    "lims",
                    "unmapped",
                    f"test {analysis}/{component} has no lab_tests.csv row",
                    fix=f"lab_tests.csv: {site},{analysis},{component},<parameter_id>",
                )
            )
            continue
        parameter = row.iloc[0]["parameter_id"]
        for unit in sorted({u for u in group["units"] if u}):
            out += _unit_finding("lims", f"test {analysis}/{component}", unit, parameter, ref)
    return out


def _mes_findings(con, ref: dict[str, pd.DataFrame]) -> list[Finding]:
    out = []
    known = set(ref["parameters"]["parameter_id"])
    names = _rows(con, "SELECT DISTINCT name, unit FROM raw.mes_parameter ORDER BY name")
    for name, group in names.groupby("name", sort=True) if len(names) else []:
        if name not in known:
            unit = next((u for u in group["unit"] if u), "")
            out.append(
                Finding(
                    "mes",
                    "unmapped",
                    f"batch-record parameter {name} has no parameters.csv row (kept, not modelled)",
                    fix=f"parameters.csv: {name},<name>,{unit},recipe,<plausible_min>,"
                    "<plausible_max>",
                )
            )
    products = _rows(
        con, "SELECT DISTINCT product_id, process_type FROM raw.mes_batch_record ORDER BY 1"
    )
    declared = set(ref["processes"]["product_id"])
    for product, process_type in products.itertuples(index=False) if len(products) else []:
        if product not in declared:
            out.append(
                Finding(
                    "mes",
                    "unmapped",
                    f"product {product} has no processes.csv row (no grid, outcome or twin)",
                    fix=f"processes.csv: {product},{process_type},<expected_duration_h>,"
                    "<outcome_parameter_id>,<grid_step_h>,",
                )
            )
    return out


def _instrument_findings(con, ref: dict[str, pd.DataFrame]) -> list[Finding]:
    seen = _rows(con, "SELECT DISTINCT vendor, field FROM raw.instrument_measurement ORDER BY 1, 2")
    fields = ref["instrument_fields"]
    out = []
    for vendor, group in seen.groupby("vendor", sort=True) if len(seen) else []:
        mapped = set(fields.loc[fields["vendor"] == vendor, "field"])
        loose = [name for name in group["field"] if name not in mapped]
        if not mapped:
            out.append(
                Finding(
                    "instruments",
                    "unmapped",
                    f"{vendor}: none of its fields is mapped (its results reach no parameter)",
                    loose[:EXAMPLES],
                    fix=f"instrument_fields.csv: {vendor},<field>,<parameter_id>",
                )
            )
        elif loose:
            # by design: fields not listed are instrument diagnostics, kept in staging
            out.append(
                Finding(
                    "instruments",
                    "note",
                    f"{vendor}: {len(loose)} fields kept in staging as diagnostics",
                    [", ".join(loose)],
                    fix=f"instrument_fields.csv: {vendor},<field>,<parameter_id> (for a result)",
                )
            )
    return out


MAPPINGS = {
    "historian": _historian_findings,
    "lims": _lims_findings,
    "mes": _mes_findings,
    "instruments": _instrument_findings,
}


def _derived_findings(ref: dict[str, pd.DataFrame]) -> list[Finding]:
    """A derived result whose parameter is not in parameters.csv, or whose numerator or
    denominator no instrument_fields row maps, would never get a value: say which row."""
    derived = ref.get("derived_parameters")
    if derived is None or derived.empty:
        return []
    known = set(ref["parameters"]["parameter_id"])
    mapped = set(ref["instrument_fields"]["parameter_id"])
    out = []
    for row in derived.itertuples(index=False):
        if row.parameter_id not in known:
            out.append(
                Finding(
                    "reference",
                    "unmapped",
                    f"derived_parameters.csv: {row.parameter_id} is not a parameter",
                    fix=f"parameters.csv: {row.parameter_id},<name>,<canonical unit>,lab,,",
                )
            )
        for component in (row.numerator_parameter_id, row.denominator_parameter_id):
            if component not in mapped:
                out.append(
                    Finding(
                        "reference",
                        "unmapped",
                        f"derived_parameters.csv: {row.parameter_id} needs {component}, which "
                        "no instrument field maps (it would never get a value)",
                        fix=f"instrument_fields.csv: <vendor>,<field>,{component},<target>",
                    )
                )
    return out


def check_site(
    landing: Path, reference: Path, site: str | None = None, every: bool = False
) -> Report:
    """Dry-run a site's landing folders (all sites when `site` is None); a sample of files
    per folder, or `every` file."""
    report = Report(site, every)
    try:
        ref = _by_name(read_reference(reference))
    except ReferenceError as exc:
        report.findings.append(Finding("reference", "blocking", str(exc)))
        return report
    report.findings += _derived_findings(ref)
    sites = set(ref["sites"]["site_id"])
    if site is not None and site not in sites:
        report.findings.append(
            Finding(
                "reference",
                "unmapped",
                f"site {site} has no sites.csv row: every file of it would be quarantined",
                fix=f"sites.csv: {site},<name>,<IANA timezone>,<sample_id_pattern with "
                "(?P<batch>…)>",
            )
        )
    with tempfile.TemporaryDirectory(prefix="biotwin-onboard-") as tmp:
        scratch = Path(tmp) / "landing"
        for system in LOADERS:
            try:
                check_landing(landing, system)
            except LandingMissing as exc:
                report.findings.append(Finding(system, "blocking", str(exc)))
                continue
            (scratch / system).mkdir(parents=True, exist_ok=True)
            _copy_sample(landing, scratch, system, site, report, every)
            con = plain_connection()
            try:
                con.execute("SET TimeZone = 'UTC'")
                # the scratch copy is complete by construction: no settle window
                summary = ingest(con, system, scratch, reference, "onboard-check", settle_s=0)
                report.sampled[system] = dict(summary.by_status)
                report.findings += _quarantine_findings(con, system)
                if system in MAPPINGS:
                    report.findings += MAPPINGS[system](con, ref)
            finally:
                con.close()
    return report


def format_report(report: Report) -> list[str]:
    """What a person reads: per system, the sample's files by status, then each finding."""
    scope = f"site {report.site}" if report.site else "every site"
    files = "every file" if report.every else "a sample of each landing folder"
    lines = [f"onboard check of {scope} ({files}; nothing is written)"]
    for system in [*LOADERS, "reference"]:
        statuses = report.sampled.get(system)
        found = [f for f in report.findings if f.system == system]
        if statuses is None and not found:
            continue
        files = ", ".join(f"{n} {s}" for s, n in sorted((statuses or {}).items())) or "no files"
        lines.append(f"{system}: {files}")
        for f in found:
            lines.append(f"  {f.kind}: {f.what}")
            lines += [f"    e.g. {e[:300]}" for e in f.examples]
            if f.fix:
                lines.append(f"    add: {f.fix}")
    if report.blocking:
        lines.append("NOT READY: fix what is marked blocking, then run the check again")
    elif report.ready:
        lines.append("ready: every sampled file would load and every name is mapped")
    else:
        n = sum(f.kind != "note" for f in report.findings)
        lines.append(
            f"would run, with {n} findings: rows above would be quarantined or reported in "
            "marts.dq_issues; add the reference rows shown to map them"
        )
    return lines
