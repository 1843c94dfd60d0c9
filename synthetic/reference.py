"""Reference CSVs for the synthetic plant (the shipped `reference/` is this output)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from synthetic.catalogue import (
    CRK,
    CRK_FORMATS,
    INSTRUMENT_FIELDS,
    MAB,
    PARAMETERS,
    PROCESSES,
    SITES,
    SPECIFICATIONS,
    UNIT_CONVERSIONS,
    equipment_parameters,
    format_tag,
)
from synthetic.fedbatch import PHASES as MAB_PHASES
from synthetic.records import SIGNATURE_WITHIN_H
from synthetic.release_assays import DERIVED_PARAMETERS
from synthetic.release_assays import INSTRUMENT_FIELDS as RELEASE_ASSAY_FIELDS


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def reference_tables() -> dict[str, list[list[str]]]:
    """Header row plus data rows for every reference file."""
    tags = [["site_id", "tag", "equipment_id", "parameter_id", "source_unit"]]
    lab_tests = [["site_id", "analysis", "component", "parameter_id"]]
    for site in SITES:
        for eq in (*site.bioreactors, *site.vector_bioreactors, *site.incubators):
            for pid in equipment_parameters(eq):
                template, unit = site.tags[pid]
                tags.append([site.site_id, format_tag(site, template, eq), eq, pid, unit])
        for pid, (analysis, component, _unit) in site.lims_tests.items():
            lab_tests.append([site.site_id, analysis, component, pid])
    # the fed-batch site: every reactor has every tag of the site
    for eq in CRK.bioreactors:
        for pid, (template, unit) in CRK.tags.items():
            tags.append([CRK.site_id, format_tag(CRK, template, eq), eq, pid, unit])
    for pid, (analysis, component, _unit) in CRK.lims_tests.items():
        lab_tests.append([CRK.site_id, analysis, component, pid])
    return {
        "sites.csv": [["site_id", "name", "timezone", "sample_id_pattern"]]
        + [[s.site_id, s.name, s.timezone, s.sample_id_pattern] for s in (*SITES, CRK)],
        "parameters.csv": [
            ["parameter_id", "name", "canonical_unit", "kind", "plausible_min", "plausible_max"]
        ]
        + [
            [
                p.parameter_id,
                p.name,
                p.canonical_unit,
                p.kind,
                _num(p.plausible_min),
                _num(p.plausible_max),
            ]
            for p in PARAMETERS
        ],
        "units.csv": [["from_unit", "to_unit", "factor", "offset"]]
        + [[f, t, repr(factor), repr(offset)] for f, t, factor, offset in UNIT_CONVERSIONS],
        "tags.csv": tags,
        "lab_tests.csv": lab_tests,
        "instrument_fields.csv": [["vendor", "field", "parameter_id", "target"]]
        + [[*r, ""] for r in INSTRUMENT_FIELDS]
        + [list(r) for r in RELEASE_ASSAY_FIELDS],
        "specifications.csv": [
            ["product_id", "parameter_id", "sample_point", "spec_min", "spec_max", "criticality"]
        ]
        + [[a, b, c, _num(lo), _num(hi), crit] for a, b, c, lo, hi, crit in SPECIFICATIONS],
        "processes.csv": [
            [
                "product_id",
                "process_type",
                "expected_duration_h",
                "outcome_parameter_id",
                "grid_step_h",
                "mechanistic_model",
                "duration_parameter_id",
                "alignment_parameter_id",
            ]
        ]
        + [
            [
                p.product_id,
                p.process_type,
                _num(p.expected_duration_h),
                p.outcome_parameter_id,
                _num(p.grid_step_h),
                p.mechanistic_model,
                p.duration_parameter_id,
                p.alignment_parameter_id,
            ]
            for p in (*PROCESSES, MAB)
        ],
        # BOS and BSL write ISO 8601, decimal points and commas: nothing to declare
        "site_formats.csv": [
            ["site_id", "system", "datetime_formats", "decimal_separator", "field_separator"]
        ]
        + [[CRK.site_id, *row] for row in CRK_FORMATS],
        # release results computed from two readings of one sample (VCN, % CAR+ ...)
        "derived_parameters.csv": [
            ["parameter_id", "numerator_parameter_id", "denominator_parameter_id", "factor"]
        ]
        + [[d, n, den, _num(f)] for d, n, den, f in DERIVED_PARAMETERS],
        # every phase performed and verified within a day of its end (the fed-batch site's
        # record has no verifier: performed only); the disposition is QA's, not required here
        "required_signatures.csv": [["product_id", "phase", "meaning", "within_h"]]
        + [
            [p.product_id, ph.phase, meaning, _num(SIGNATURE_WITHIN_H)]
            for p in PROCESSES
            for ph in p.phases
            for meaning in ("performed", "verified")
        ]
        + [[MAB.product_id, phase, "performed", _num(SIGNATURE_WITHIN_H)] for phase in MAB_PHASES],
    }


def write_reference(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in reference_tables().items():
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        path = folder / name
        path.write_bytes(buf.getvalue().encode("utf-8"))
        paths.append(path)
    return paths
