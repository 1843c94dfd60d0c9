"""The synthetic plant, described as data: sites, equipment, tags, parameters, units, processes.

Everything the generator writes into `reference/` comes from here, so the reference CSVs and the
landing files can never disagree about a tag name or a unit. The two sites differ on purpose, the
way real sites do: tag naming, engineering units, historian interface and LIMS conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Parameters: the canonical vocabulary every source is mapped onto.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    parameter_id: str
    name: str
    canonical_unit: str
    kind: str  # process / lab / outcome / recipe
    plausible_min: float
    plausible_max: float


PARAMETERS: tuple[Parameter, ...] = (
    # process (historian)
    Parameter("temperature", "Culture temperature", "degC", "process", 2.0, 45.0),
    Parameter("ph", "Culture pH", "pH", "process", 5.5, 8.5),
    Parameter("dissolved_oxygen", "Dissolved oxygen (air saturation)", "%", "process", 0.0, 150.0),
    Parameter("agitation", "Agitation speed", "rpm", "process", 0.0, 400.0),
    Parameter("o2_flow", "Oxygen sparge flow", "mL/min", "process", 0.0, 5000.0),
    Parameter("co2_flow", "CO2 sparge flow (pH control)", "mL/min", "process", 0.0, 5000.0),
    Parameter("air_flow", "Overlay air flow", "mL/min", "process", 0.0, 20000.0),
    Parameter("base_added", "Base added (totaliser)", "mL", "process", 0.0, 50000.0),
    Parameter("feed_rate", "Feed pump rate", "mL/h", "process", 0.0, 5000.0),
    Parameter("culture_volume", "Culture volume", "L", "process", 0.0, 250.0),
    Parameter(
        "vcd_online",
        "Viable cell density (capacitance probe)",
        "1e6 cells/mL",
        "process",
        0.0,
        60.0,
    ),
    Parameter("incubator_co2", "Incubator CO2", "%", "process", 0.0, 20.0),
    # lab (LIMS, instruments)
    Parameter("vcd", "Viable cell density", "1e6 cells/mL", "lab", 0.0, 60.0),
    Parameter("total_cell_density", "Total cell density", "1e6 cells/mL", "lab", 0.0, 80.0),
    Parameter("viability", "Viability", "%", "lab", 0.0, 100.0),
    Parameter("cell_diameter", "Average viable cell diameter", "um", "lab", 3.0, 40.0),
    Parameter("glucose", "Glucose", "g/L", "lab", 0.0, 20.0),
    Parameter("lactate", "Lactate", "g/L", "lab", 0.0, 10.0),
    Parameter("glutamine", "Glutamine", "mmol/L", "lab", 0.0, 20.0),
    Parameter("ammonium", "Ammonium", "mmol/L", "lab", 0.0, 30.0),
    Parameter("vcn", "Vector copy number", "copies/cell", "lab", 0.0, 20.0),
    Parameter("endotoxin", "Endotoxin", "EU/mL", "lab", 0.0, 100.0),
    Parameter("ifng_release", "Potency: IFN-gamma release", "pg/mL", "lab", 0.0, 1.0e6),
    Parameter("sterility", "Sterility", "", "lab", 0.0, 0.0),
    Parameter("mycoplasma", "Mycoplasma", "", "lab", 0.0, 0.0),
    Parameter("identity", "Identity", "", "lab", 0.0, 0.0),
    Parameter("rcl", "Replication-competent lentivirus", "", "lab", 0.0, 0.0),
    Parameter("p24", "p24 antigen", "ng/mL", "lab", 0.0, 1.0e5),
    # release-assay readings (dPCR copies, flow gate counts): components of derived results
    Parameter("vector_copies", "Vector copies (dPCR, WPRE)", "copies/uL", "lab", 0.0, 1.0e5),
    Parameter(
        "reference_copies", "Reference gene copies (dPCR, RPP30)", "copies/uL", "lab", 0.0, 1.0e5
    ),
    Parameter("flow_single_cells", "Single cells (flow)", "events", "lab", 0.0, 1.0e7),
    Parameter("flow_live_cells", "Live single cells (flow)", "events", "lab", 0.0, 1.0e7),
    Parameter("flow_cd3_cells", "Live CD3+ cells (flow)", "events", "lab", 0.0, 1.0e7),
    Parameter("flow_car_cd3_cells", "CAR+ of live CD3+ cells (flow)", "events", "lab", 0.0, 1.0e7),
    Parameter(
        "flow_titer_live_cells", "Live cells, titer assay (flow)", "events", "lab", 0.0, 1.0e7
    ),
    Parameter(
        "flow_titer_car_cells", "CAR+ live cells, titer assay (flow)", "events", "lab", 0.0, 1.0e7
    ),
    # outcomes
    Parameter("harvest_tvc", "Total viable cells at harvest", "1e9 cells", "outcome", 0.0, 500.0),
    Parameter("fold_expansion", "Fold expansion seed to harvest", "ratio", "outcome", 0.0, 5000.0),
    Parameter(
        "transduction_efficiency",
        "CAR+ cells (transduction efficiency)",
        "%",
        "outcome",
        0.0,
        100.0,
    ),
    Parameter("vector_titer", "Functional vector titer", "TU/mL", "outcome", 0.0, 1.0e10),
    Parameter("product_titer", "Antibody titer (protein A HPLC)", "g/L", "outcome", 0.0, 20.0),
    # recipe (batch record set-points that are not historian tags)
    Parameter("seeding_density", "Seeding density", "1e6 cells/mL", "recipe", 0.0, 60.0),
    Parameter("harvest_day", "Planned harvest day", "d", "recipe", 0.0, 60.0),
    Parameter("feed_start", "Feed start after inoculation", "h", "recipe", 0.0, 1000.0),
    Parameter("vector_volume", "Vector volume added", "mL", "recipe", 0.0, 10000.0),
    Parameter("production_days", "Planned production days", "d", "recipe", 0.0, 60.0),
    Parameter(
        "temperature_shift_day", "Production day of the temperature shift", "d", "recipe", 0.0, 60.0
    ),
)

PARAMETER_BY_ID = {p.parameter_id: p for p in PARAMETERS}

# to = from * factor + offset
UNIT_CONVERSIONS: tuple[tuple[str, str, float, float], ...] = (
    ("degF", "degC", 5.0 / 9.0, -160.0 / 9.0),
    ("K", "degC", 1.0, -273.15),
    ("cells/mL", "1e6 cells/mL", 1.0e-6, 0.0),
    ("x10^6 cells/mL", "1e6 cells/mL", 1.0, 0.0),
    ("10^6 cells/mL", "1e6 cells/mL", 1.0, 0.0),
    ("1e5 cells/mL", "1e6 cells/mL", 0.1, 0.0),
    ("fraction", "%", 100.0, 0.0),
    ("mL/min", "mL/h", 60.0, 0.0),
    ("sccm", "mL/min", 1.0, 0.0),
    ("L/min", "mL/min", 1000.0, 0.0),
    ("L", "mL", 1000.0, 0.0),
    ("mg/L", "g/L", 0.001, 0.0),
    ("mM", "mmol/L", 1.0, 0.0),
    ("kg", "L", 1.0, 0.0),  # culture weight read as volume (density ~1 kg/L); documented
    ("cells", "1e9 cells", 1.0e-9, 0.0),
    ("1e6 cells", "1e9 cells", 1.0e-3, 0.0),
    ("TU/L", "TU/mL", 1.0e-3, 0.0),
    ("pg/mL", "pg/mL", 1.0, 0.0),
    ("µm", "um", 1.0, 0.0),  # allotropy writes the micro sign; the catalogue spells it in ASCII
    ("#/\u03bcL", "copies/uL", 1.0, 0.0),  # allotropy's dPCR concentration unit (Greek mu)
    ("Counts", "events", 1.0, 0.0),  # allotropy's flow-cytometry population count
    ("d", "h", 24.0, 0.0),  # a planned duration in days, as hours (batch_features)
    ("L/h", "mL/h", 1000.0, 0.0),
)


# ---------------------------------------------------------------------------------------------
# Sites
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    timezone: str
    is_cdmo: bool
    historian_format: str  # "csv" (naive local time) or "pi_json" (UTC)
    sample_id_pattern: str
    metabolite_vendor: str  # allotropy Vendor name in lower case
    bioreactors: tuple[str, ...]  # every unit the site has; a plan uses as many as it needs
    incubators: tuple[str, ...]
    vector_bioreactors: tuple[str, ...] = ()  # a separate suite for vector production
    # parameter_id -> tag template ({eq} = compact equipment id) and source unit
    tags: dict[str, tuple[str, str]] = field(default_factory=dict)
    # tags this site's historian writes that no one mapped (site onboarding left them out):
    # (tag template, unit, series key)
    unmapped_tags: tuple[tuple[str, str, str], ...] = ()
    # LIMS conventions: (analysis, component, unit) per parameter
    lims_tests: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    lims_times: str = "wall_clock"  # LIMS times: site wall clock, or "offset" (ISO with offset)
    # What goes wrong in this site's extracts (each system's writer plants its own, and the
    # manifest records where): historian mess kinds planted in chosen export files
    # (synthetic/historian.py), a batch record whose export stopped part-way (records.py), an
    # extract job that wrote another report's LIMS column names and results whose batch no
    # record knows (lims.py), a monthly custody export cut mid-row (custody.py).
    historian_mess: tuple[str, ...] = ()
    mes_export_error: bool = False
    lims_header_rerun: bool = False
    lims_unlinkable: tuple[tuple[str, str], ...] = ()  # (batch reference, sample id)
    custody_partial_export: bool = False


BOS = Site(
    site_id="BOS",
    name="Boston Cell Therapy Center",
    timezone="America/New_York",
    is_cdmo=False,
    historian_format="csv",
    sample_id_pattern=r"^(?P<batch>[A-Z]+-[0-9]{4}-[0-9]{4})-[A-Z0-9]+$",
    metabolite_vendor="roche_cedex_bioht",
    bioreactors=tuple(f"BR-{101 + i}" for i in range(10)),
    incubators=tuple(f"INC-{11 + i}" for i in range(6)),
    tags={
        "temperature": ("{eq}.TEMP_PV", "degC"),
        "ph": ("{eq}.PH_PV", "pH"),
        "dissolved_oxygen": ("{eq}.DO_PV", "%"),
        "agitation": ("{eq}.AGIT_PV", "rpm"),
        "o2_flow": ("{eq}.O2_FLOW_PV", "sccm"),
        "co2_flow": ("{eq}.CO2_FLOW_PV", "sccm"),
        "air_flow": ("{eq}.AIR_FLOW_PV", "sccm"),
        "base_added": ("{eq}.BASE_TOT_PV", "mL"),
        "feed_rate": ("{eq}.FEED_RATE_PV", "mL/h"),
        "culture_volume": ("{eq}.VOLUME_PV", "L"),
        "vcd_online": ("{eq}.VCD_CAP_PV", "10^6 cells/mL"),
        "incubator_co2": ("{eq}.CO2_PV", "%"),
    },
    unmapped_tags=(("{eq}.JACKET_TEMP_PV", "degC", "_jacket_temperature"),),
    historian_mess=(
        "digital_state:I/O Timeout",
        "digital_state:Bad Input",
        "quality:Bad",
        "quality:Questionable",
        "quality:Substituted",
        "spike:temperature",
        "shuffle",
        "overlap",
        "repeat",
        "truncate",
    ),
    lims_header_rerun=True,
    lims_unlinkable=(
        ("ENG-RUN-2026-07", "ENG-RUN-2026-07-D03"),
        ("CART-2025-9999", "CART-2025-9999-D01"),
    ),
    lims_tests={
        "vcd": ("CELL_COUNT", "Viable Cell Density", "10^6 cells/mL"),
        "viability": ("CELL_COUNT", "Viability", "%"),
        "harvest_tvc": ("CELL_COUNT", "Total Viable Cells", "1e9 cells"),
        "transduction_efficiency": ("FLOW_CAR", "CAR Positive", "%"),
        "vcn": ("QPCR_VCN", "VCN", "copies/cell"),
        "endotoxin": ("ENDOTOXIN", "Endotoxin", "EU/mL"),
        "ifng_release": ("POTENCY_IFNG", "IFN-gamma", "pg/mL"),
        "sterility": ("STERILITY", "Sterility", ""),
        "mycoplasma": ("MYCO_PCR", "Mycoplasma", ""),
        "identity": ("IDENTITY", "Identity", ""),
        "vector_titer": ("TITER", "Functional Titer", "TU/mL"),
        "p24": ("P24", "p24", "ng/mL"),
        "rcl": ("RCL", "RCL", ""),
    },
)

BSL = Site(
    site_id="BSL",
    name="Basel Contract Manufacturing (CDMO)",
    timezone="Europe/Zurich",
    is_cdmo=True,
    historian_format="pi_json",
    sample_id_pattern=r"^(?P<batch>[A-Z]+[0-9]{8})_[A-Z0-9]+$",
    metabolite_vendor="novabio_flex2",
    bioreactors=tuple(f"BR-{201 + i}" for i in range(10)),
    incubators=tuple(f"INC-{21 + i}" for i in range(6)),
    vector_bioreactors=tuple(f"BR-{251 + i}" for i in range(4)),
    tags={
        "temperature": ("BSL:{eq}:TIC-101.PV", "degF"),
        "ph": ("BSL:{eq}:AIC-102.PV", "pH"),
        "dissolved_oxygen": ("BSL:{eq}:AIC-103.PV", "fraction"),
        "agitation": ("BSL:{eq}:SIC-104.PV", "rpm"),
        "o2_flow": ("BSL:{eq}:FIC-105.PV", "L/min"),
        "co2_flow": ("BSL:{eq}:FIC-110.PV", "L/min"),
        "air_flow": ("BSL:{eq}:FIC-111.PV", "L/min"),
        "base_added": ("BSL:{eq}:FQI-112.PV", "L"),
        "feed_rate": ("BSL:{eq}:FIC-106.PV", "mL/min"),
        "culture_volume": ("BSL:{eq}:WIT-107.PV", "kg"),
        "vcd_online": ("BSL:{eq}:AI-108.PV", "cells/mL"),
        "incubator_co2": ("BSL:{eq}:AIC-201.PV", "%"),
    },
    unmapped_tags=(("BSL:{eq}:PT-109.PV", "mbar", "_headspace_pressure"),),
    historian_mess=(
        "digital_state:Shutdown",
        "digital_state:I/O Timeout",
        "quality:Bad",
        "quality:Questionable",
        "spike:ph",
        "shuffle",
        "overlap",
        "repeat",
    ),
    mes_export_error=True,
    lims_unlinkable=(("TRIAL-BSL-03", "TRIAL_BSL_03_D02"),),
    custody_partial_export=True,
    lims_tests={
        "vcd": ("VICELL", "VCD", "cells/mL"),
        "viability": ("VICELL", "VIAB", "fraction"),
        "harvest_tvc": ("VICELL", "TVC", "cells"),
        "transduction_efficiency": ("FACS", "CAR+", "fraction"),
        "vcn": ("DDPCR", "VCN", "copies/cell"),
        "endotoxin": ("LAL", "ENDO", "EU/mL"),
        "ifng_release": ("ELISA", "IFNG", "pg/mL"),
        "sterility": ("BACT", "RESULT", ""),
        "mycoplasma": ("MYCO", "RESULT", ""),
        "identity": ("ID", "RESULT", ""),
        "vector_titer": ("TU", "TITER", "TU/mL"),
        "p24": ("P24ELISA", "P24", "ng/mL"),
        "rcl": ("RCL", "RESULT", ""),
    },
)

SITES: tuple[Site, ...] = (BOS, BSL)

# The third site (synthetic/fedbatch.py): an antibody fed-batch plant with conventions of its
# own. Planned and written apart from the cell-therapy network; its reference rows ship too.
CRK = Site(
    site_id="CRK",
    name="Cork Biologics (antibody fed-batch)",
    timezone="Europe/Dublin",
    is_cdmo=False,
    historian_format="csv",  # `;`-separated, decimal commas, day-first times (site_formats.csv)
    sample_id_pattern=r"^S-(?P<batch>[A-Z]+[0-9]{8})-[A-Z0-9]+$",
    metabolite_vendor="",
    bioreactors=tuple(f"FB-{301 + i}" for i in range(6)),
    incubators=(),
    tags={
        "temperature": ("CRK/{eq}/TT01.PV", "K"),
        "ph": ("CRK/{eq}/AT02.PV", "pH"),
        "dissolved_oxygen": ("CRK/{eq}/AT03.PV", "%"),
        "agitation": ("CRK/{eq}/ST04.PV", "rpm"),
        "feed_rate": ("CRK/{eq}/FT05.PV", "L/h"),
        "culture_volume": ("CRK/{eq}/WT06.PV", "L"),
        "vcd_online": ("CRK/{eq}/AT07.PV", "1e5 cells/mL"),
    },
    unmapped_tags=(("CRK/{eq}/PT08.PV", "mbar", "_headspace_pressure"),),
    lims_tests={
        "vcd": ("CEDEX_HIRES", "VCD", "1e5 cells/mL"),
        "viability": ("CEDEX_HIRES", "VIAB", "%"),
        "glucose": ("BIOPROFILE", "GLU", "g/L"),
        "lactate": ("BIOPROFILE", "LAC", "g/L"),
        "product_titer": ("PROA_HPLC", "IGG", "mg/L"),
    },
    lims_times="offset",
)
# what CRK declares in site_formats.csv: (system, datetime formats, decimal, field separator)
CRK_FORMATS = (("historian", "%d.%m.%Y %H:%M:%S", ",", ";"),)
SITE_BY_ID = {s.site_id: s for s in SITES}

BIOREACTOR_PARAMETERS = (
    "temperature",
    "ph",
    "dissolved_oxygen",
    "agitation",
    "o2_flow",
    "co2_flow",
    "air_flow",
    "base_added",
    "feed_rate",
    "culture_volume",
    "vcd_online",
)
INCUBATOR_PARAMETERS = ("temperature", "incubator_co2")


def compact_equipment(equipment_id: str) -> str:
    """BOS writes `BR101` in tag names where the batch record says `BR-101`."""
    return equipment_id.replace("-", "")


def format_tag(site: Site, template: str, equipment_id: str) -> str:
    eq = compact_equipment(equipment_id) if site.site_id == "BOS" else equipment_id
    return template.format(eq=eq)


def equipment_parameters(equipment_id: str) -> tuple[str, ...]:
    return BIOREACTOR_PARAMETERS if equipment_id.startswith("BR-") else INCUBATOR_PARAMETERS


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSpec:
    unit_procedure: str
    operation: str
    phase: str
    equipment_kind: str  # bioreactor / incubator / none
    hours: float  # nominal duration; the expansion phase duration comes from the harvest day


@dataclass(frozen=True)
class Process:
    product_id: str
    process_type: str
    batch_prefix: str
    recipe_id: str
    recipe_version: str
    expected_duration_h: float
    outcome_parameter_id: str
    grid_step_h: float
    phases: tuple[PhaseSpec, ...]
    working_volume_l: float
    doses_per_lot: int
    mechanistic_model: str = ""  # the twin's growth model for what-if; "" = none
    # the recipe parameter that sets the culture length (the twin's planned-hours feature)
    duration_parameter_id: str = "harvest_day"
    # recipe parameters planning the events monitoring aligns batches on ('|'-separated)
    alignment_parameter_id: str = ""


CART = Process(
    product_id="CART-CD19",
    process_type="autologous",
    batch_prefix="CART",
    recipe_id="MBR-CART-001",
    recipe_version="3",
    expected_duration_h=226.0,
    outcome_parameter_id="harvest_tvc",
    grid_step_h=1.0,
    phases=(
        PhaseSpec("Cell Selection", "Apheresis receipt", "Selection", "none", 6.0),
        PhaseSpec("Activation", "Culture", "Activation", "incubator", 24.0),
        PhaseSpec("Transduction", "Culture", "Transduction", "incubator", 24.0),
        PhaseSpec("Expansion", "Culture", "Fed expansion", "bioreactor", 0.0),
        PhaseSpec("Harvest", "Harvest", "Harvest", "none", 3.0),
        PhaseSpec("Formulation", "Fill and freeze", "Cryopreservation", "none", 4.0),
    ),
    working_volume_l=1.0,
    doses_per_lot=1,
    mechanistic_model="logistic_monod",
)

ALLO = Process(
    product_id="ALLO-NK01",
    process_type="allogeneic",
    batch_prefix="ALNK",
    recipe_id="MBR-ALNK-002",
    recipe_version="5",
    expected_duration_h=298.0,
    outcome_parameter_id="harvest_tvc",
    grid_step_h=2.0,
    phases=(
        PhaseSpec("Thaw", "Cell bank thaw", "Thaw and seed", "none", 4.0),
        PhaseSpec("Expansion", "Culture", "Fed expansion", "bioreactor", 0.0),
        PhaseSpec("Harvest", "Harvest", "Harvest", "none", 4.0),
        PhaseSpec("Formulation", "Fill and freeze", "Cryopreservation", "none", 6.0),
    ),
    working_volume_l=50.0,
    doses_per_lot=120,
    mechanistic_model="logistic_monod",
)

LVV = Process(
    product_id="LVV-CD19",
    process_type="vector",
    batch_prefix="LVV",
    recipe_id="MBR-LVV-004",
    recipe_version="2",
    expected_duration_h=134.0,
    outcome_parameter_id="vector_titer",
    grid_step_h=1.0,
    phases=(
        PhaseSpec("Upstream", "Culture", "Seed expansion", "bioreactor", 72.0),
        PhaseSpec("Upstream", "Transfection", "Transfection", "bioreactor", 4.0),
        PhaseSpec("Upstream", "Culture", "Production", "bioreactor", 48.0),
        PhaseSpec("Downstream", "Harvest", "Clarification", "none", 4.0),
        PhaseSpec("Downstream", "Purification", "Purification and fill", "none", 6.0),
    ),
    working_volume_l=50.0,
    doses_per_lot=0,
    duration_parameter_id="",  # a fixed schedule: the batch record sets no harvest day
)

MAB = Process(
    product_id="MAB-CHO01",
    process_type="other",
    batch_prefix="MAB",
    recipe_id="MBR-MAB-007",
    recipe_version="1",
    expected_duration_h=240.0,
    outcome_parameter_id="product_titer",
    grid_step_h=2.0,
    phases=(),  # planned by synthetic/fedbatch.py
    working_volume_l=200.0,
    doses_per_lot=0,
    duration_parameter_id="production_days",
    # feed start, temperature shift (day 4, 5 or 6) and harvest (day 9-10) where they are planned
    alignment_parameter_id="feed_start|temperature_shift_day|production_days",
)

PROCESSES: tuple[Process, ...] = (CART, ALLO, LVV)

# Specifications: product, parameter, sample point, min, max, criticality.
SPECIFICATIONS: tuple[tuple[str, str, str, float | None, float | None, str], ...] = (
    ("CART-CD19", "viability", "FINAL", 70.0, None, "CQA"),
    ("CART-CD19", "harvest_tvc", "HARVEST", 0.8, None, "CQA"),
    ("CART-CD19", "transduction_efficiency", "FINAL", 15.0, None, "CQA"),
    ("CART-CD19", "vcn", "FINAL", None, 5.0, "CQA"),
    ("CART-CD19", "endotoxin", "FINAL", None, 5.0, "CQA"),
    ("CART-CD19", "ifng_release", "FINAL", 100.0, None, "CQA"),
    ("CART-CD19", "vcd", "IPC", 0.2, None, "KPI"),
    ("CART-CD19", "temperature", "", 36.0, 38.0, "CPP"),
    ("CART-CD19", "ph", "", 6.8, 7.4, "CPP"),
    ("CART-CD19", "dissolved_oxygen", "", 20.0, 80.0, "CPP"),
    ("ALLO-NK01", "viability", "FINAL", 75.0, None, "CQA"),
    ("ALLO-NK01", "harvest_tvc", "HARVEST", 60.0, None, "CQA"),
    ("ALLO-NK01", "endotoxin", "FINAL", None, 5.0, "CQA"),
    ("ALLO-NK01", "temperature", "", 36.0, 38.0, "CPP"),
    ("ALLO-NK01", "ph", "", 6.8, 7.4, "CPP"),
    ("ALLO-NK01", "dissolved_oxygen", "", 20.0, 80.0, "CPP"),
    ("LVV-CD19", "vector_titer", "HARVEST", 2.0e7, None, "CQA"),
    ("LVV-CD19", "endotoxin", "FINAL", None, 10.0, "CQA"),
    ("LVV-CD19", "temperature", "", 36.0, 38.0, "CPP"),
    ("LVV-CD19", "ph", "", 6.8, 7.4, "CPP"),
    ("LVV-CD19", "dissolved_oxygen", "", 20.0, 80.0, "CPP"),
    ("MAB-CHO01", "product_titer", "HARVEST", 1.5, None, "CQA"),
    ("MAB-CHO01", "temperature", "", 31.0, 38.0, "CPP"),
    ("MAB-CHO01", "ph", "", 6.8, 7.3, "CPP"),
)

# Instrument fields (ASM names as allotropy writes them) -> parameter.
INSTRUMENT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("beckman_vi_cell_blu", "viable cell density (cell counter)", "vcd"),
    ("beckman_vi_cell_blu", "total cell density (cell counter)", "total_cell_density"),
    ("beckman_vi_cell_blu", "viability (cell counter)", "viability"),
    ("beckman_vi_cell_blu", "average live cell diameter (cell counter)", "cell_diameter"),
    ("roche_cedex_bioht", "glucose", "glucose"),
    ("roche_cedex_bioht", "lactate", "lactate"),
    ("roche_cedex_bioht", "glutamine", "glutamine"),
    ("roche_cedex_bioht", "ammonia", "ammonium"),
    ("novabio_flex2", "glucose", "glucose"),
    ("novabio_flex2", "lactate", "lactate"),
    ("novabio_flex2", "glutamine", "glutamine"),
    ("novabio_flex2", "ammonium", "ammonium"),
)
