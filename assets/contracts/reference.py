"""Reference-data contracts: the CSVs a site edits to onboard (docs/onboarding.md)."""

from __future__ import annotations

from typing import Optional

import pandera.pandas as pa
from pandera.typing import Series

CONTRACT = "reference"
VERSION = "1.0"


class Sites(pa.DataFrameModel):
    site_id: Series[str] = pa.Field(str_matches=r"^[A-Z0-9_]+$")
    name: Series[str]
    timezone: Series[str]
    sample_id_pattern: Series[str] = pa.Field(str_contains=r"\(\?P<batch>")


class Parameters(pa.DataFrameModel):
    parameter_id: Series[str] = pa.Field(str_matches=r"^[a-z0-9_]+$")
    name: Series[str]
    canonical_unit: Series[str] = pa.Field(nullable=True)
    kind: Series[str] = pa.Field(isin=["process", "lab", "outcome", "recipe"])
    plausible_min: Series[float]
    plausible_max: Series[float]


class Units(pa.DataFrameModel):
    from_unit: Series[str]
    to_unit: Series[str]
    factor: Series[float] = pa.Field(ne=0)
    offset: Series[float]


class Tags(pa.DataFrameModel):
    site_id: Series[str]
    tag: Series[str]
    equipment_id: Series[str]
    parameter_id: Series[str]
    source_unit: Series[str] = pa.Field(nullable=True)


class LabTests(pa.DataFrameModel):
    site_id: Series[str]
    analysis: Series[str]
    component: Series[str]
    parameter_id: Series[str]


class InstrumentFields(pa.DataFrameModel):
    vendor: Series[str]
    field: Series[str]
    parameter_id: Series[str]
    # what the field was measured on, where one file holds many: a PCR target (`WPRE`), a
    # flow-cytometry gate path (`Lymphocytes/Single Cells/CD3+`); empty: any (a column a
    # folder written before it existed does without)
    target: Series[str] = pa.Field(nullable=True, required=False)


class Specifications(pa.DataFrameModel):
    product_id: Series[str]
    parameter_id: Series[str]
    sample_point: Series[str] = pa.Field(nullable=True)
    spec_min: Series[float] = pa.Field(nullable=True)
    spec_max: Series[float] = pa.Field(nullable=True)
    criticality: Series[str] = pa.Field(isin=["CQA", "CPP", "KPI"])


class Processes(pa.DataFrameModel):
    product_id: Series[str]
    process_type: Series[str] = pa.Field(isin=["autologous", "allogeneic", "vector", "other"])
    expected_duration_h: Series[float] = pa.Field(gt=0)
    outcome_parameter_id: Series[str]
    grid_step_h: Series[float] = pa.Field(gt=0)
    # the twin's growth model for what-if simulation; empty or absent = the process has none
    # (optional, so reference folders written before the column existed still load)
    mechanistic_model: Optional[Series[str]] = pa.Field(nullable=True, isin=["logistic_monod"])  # noqa: UP045 - pandera reads Optional
    # the recipe parameter (kind recipe, unit h or d) that sets the culture length; optional
    duration_parameter_id: Optional[Series[str]] = pa.Field(nullable=True)  # noqa: UP045
    # recipe parameters (unit h or d, '|'-separated, in time order) planning the events the
    # twin's monitoring aligns batches on (twin/alignment.py); optional
    alignment_parameter_id: Optional[Series[str]] = pa.Field(nullable=True)  # noqa: UP045


class SiteFormats(pa.DataFrameModel):
    """How one system of a site writes times and numbers where it is not ISO 8601 with a
    decimal point and commas (assets/ingest/formats.py; docs/onboarding.md)."""

    site_id: Series[str]
    system: Series[str] = pa.Field(isin=["historian", "mes", "lims", "instruments", "custody"])
    # strptime patterns separated by '|', tried after ISO 8601 (which is always accepted)
    datetime_formats: Series[str] = pa.Field(nullable=True, str_matches=r"^$|%")
    decimal_separator: Series[str] = pa.Field(nullable=True, isin=["", ".", ","])
    field_separator: Series[str] = pa.Field(nullable=True, isin=["", ",", ";", "tab", "|"])


class DerivedParameters(pa.DataFrameModel):
    """A result computed from two results of one sample in one instrument file: value =
    factor x numerator / denominator, each the mean over its wells or replicates. Vector copy
    number by dPCR or qPCR is 2 x (vector target copies) / (reference gene copies); % CAR+ is
    100 x (CAR+ gate count) / (parent gate count)."""

    parameter_id: Series[str]
    numerator_parameter_id: Series[str]
    denominator_parameter_id: Series[str]
    factor: Series[float] = pa.Field(gt=0)


class RequiredSignatures(pa.DataFrameModel):
    """The signatures a product's batch record must carry before release review: per phase
    (as the MES names it) the meaning (performed, verified …) and how many hours after the
    phase's end it may be signed at the latest (empty: no deadline). The release readiness
    (release/readiness.py) calls a batch without one of them blocked, a late one a review."""

    product_id: Series[str]
    phase: Series[str]
    meaning: Series[str]
    within_h: Series[float] = pa.Field(nullable=True, ge=0)


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "sites.csv": Sites,
    "parameters.csv": Parameters,
    "units.csv": Units,
    "tags.csv": Tags,
    "lab_tests.csv": LabTests,
    "instrument_fields.csv": InstrumentFields,
    "specifications.csv": Specifications,
    "processes.csv": Processes,
    "site_formats.csv": SiteFormats,
    "derived_parameters.csv": DerivedParameters,
    "required_signatures.csv": RequiredSignatures,
}
# reference folders written before these files existed still load (an empty table)
OPTIONAL = {"site_formats.csv", "derived_parameters.csv", "required_signatures.csv"}

# What identifies a row of each file: two rows with one key are refused (which one would a
# result use?), and the audit trail says which row was added, removed or changed by it.
KEYS: dict[str, tuple[str, ...]] = {
    "sites.csv": ("site_id",),
    "parameters.csv": ("parameter_id",),
    "units.csv": ("from_unit", "to_unit"),
    "tags.csv": ("site_id", "tag"),
    "lab_tests.csv": ("site_id", "analysis", "component"),
    "instrument_fields.csv": ("vendor", "field", "target"),
    "specifications.csv": ("product_id", "parameter_id", "sample_point"),
    "processes.csv": ("product_id",),
    "site_formats.csv": ("site_id", "system"),
    "derived_parameters.csv": ("parameter_id",),
    "required_signatures.csv": ("product_id", "phase", "meaning"),
}
