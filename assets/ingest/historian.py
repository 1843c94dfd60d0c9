"""Historian exports -> raw.historian_point.

Both formats take one DuckDB path: a CSV export is read by `read_csv`, a PI Web API JSON
response is flattened to the same text columns in Python; then one typing projection (the
site's time and number formats), the contract's rules as SQL (assets/contracts/historian.py)
and one INSERT … SELECT. So both report the same checks, and memory stays bounded by DuckDB.
Values are kept as written: the raw string beside the number, digital states by name, and a
timestamp without offset stays local (`ts_local`) until dbt resolves it with the site's zone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import duckdb
import pandas as pd

from assets.contracts import historian as contract
from assets.contracts.base import FileRejected
from assets.contracts.rules import sql_text
from assets.ingest.core import (
    FileContext,
    FileOutcome,
    Loader,
    Rejected,
    whole_file_rejection,
)
from assets.ingest.formats import SiteFormat
from assets.ingest.tables import columns
from assets.ingest.text import load_json

CONTRACT = contract.CONTRACT
RECORD = "point"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def load(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    suffix = ctx.path.suffix.lower()
    if suffix == ".csv":
        return load_csv(con, ctx)
    if suffix == ".json":
        return load_pi_json(con, ctx)
    raise FileRejected(
        "file:type",
        f"unsupported historian file type {suffix or '(none)'}: expected .csv or PI Web API .json",
    )


def _check_header(ctx: FileContext) -> str:
    """The header line, checked against the contract's layouts (fields split by the site's
    separator); returned as the comma-joined names."""
    with ctx.path.open("rb") as handle:
        first = handle.readline(4096)
    if not first.strip():
        raise FileRejected("file:not_empty", "the file is empty")
    try:
        header = first.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise FileRejected("file:utf8", f"header is not UTF-8: {exc.reason}") from exc
    separator = ctx.site_format.field_separator
    names = tuple(h.strip() for h in header.split(separator))
    if names not in contract.CSV_HEADERS:
        raise FileRejected(
            "csv:header",
            f"wrong header: expected {separator.join(('tag', 'timestamp', 'value', 'quality'))}"
            f"[{separator}units]; found {header[:300]}",
        )
    return ",".join(names)


def load_csv(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    return load_csv_group(con, [ctx])[ctx.relative_path]


def groupable(ctx: FileContext) -> bool:
    """CSV exports and PI responses are loaded many files at a time."""
    return ctx.path.suffix.lower() in (".csv", ".json")


def load_csv_group(
    con: duckdb.DuckDBPyConnection, ctxs: list[FileContext]
) -> dict[str, FileOutcome]:
    """Load CSV exports with one `read_csv` per header layout.

    Raises duckdb.Error when the files cannot be read together: the transaction is then
    aborted, and the caller loads them one by one, so an unreadable file gets its own reason."""
    outcomes: dict[str, FileOutcome] = {}
    by_layout: dict[tuple[str, SiteFormat], list[FileContext]] = {}
    for ctx in ctxs:
        try:
            by_layout.setdefault((_check_header(ctx), ctx.site_format), []).append(ctx)
        except FileRejected as exc:
            outcomes[ctx.relative_path] = whole_file_rejection(ctx, exc)
    for (header, site_format), group in by_layout.items():
        names = [h.strip() for h in header.split(",")]
        # the column names passed _check_header (one of the contract's exact headers)
        cols = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
        units = "units" if "units" in names else "NULL::VARCHAR AS units"
        source = f"""(SELECT file_index, NULL::BIGINT AS position, tag, "timestamp", "value",
                         quality, {units}
                  FROM read_csv($paths, header = true, columns = {cols}, auto_detect = false,
                                delim = $delim, quote = '"', escape = '"', null_padding = true,
                                strict_mode = false, max_line_size = 1048576))"""  # noqa: S608
        params = {"paths": [str(c.path) for c in group], "delim": site_format.field_separator}
        staged = _stage(con, source, params, site_format, group)
        outcomes.update(_insert(con, group, staged, "csv"))
    return outcomes


# The record's position in its file: a CSV row's is its rowid (insertion order is preserved,
# one file's rows are contiguous) less the file's first rowid; a PI item's is written down.
_TYPED = """
    SELECT s.file_index, b.file_id, b.site_id,
           coalesce(s.position, s.rowid - b.first + 1) AS row_number, s.tag,
           s.ts_raw, s.ts_local, s.ts_utc, s.number, s.value_raw, s.quality_raw, s.units,
           s.failed_checks
    FROM _hist_stage AS s JOIN _hist_base AS b USING (file_index)
"""


def _parsed(site_format: SiteFormat) -> str:
    """The typing projection for one site's formats: ISO 8601 first, then the site's
    datetime formats (those with %z give an instant), and its decimal separator. The parsed
    time is `timestamp__utc` / `timestamp__local`, as the contract's time rule expects."""

    def formats(patterns: list[str]) -> str:
        return "[" + ", ".join(f"'{sql_text(p)}'" for p in patterns) + "]"

    naive = [f for f in site_format.datetime_formats if "%z" not in f and "%Z" not in f]
    aware = [f for f in site_format.datetime_formats if f not in naive]
    ts = 'trim("timestamp")'
    local = f"try_cast({ts} AS TIMESTAMP)"
    if naive:
        local = f"coalesce({local}, try_strptime({ts}, {formats(naive)}))"
    utc = f"CASE WHEN regexp_matches({ts}, '{_OFFSET}') THEN try_cast({ts} AS TIMESTAMPTZ) END"
    if aware:
        utc = f"coalesce({utc}, try_strptime({ts}, {formats(aware)}))"
    value = '"value"' if site_format.decimal_separator != "," else "replace(\"value\", ',', '.')"
    return f"""
    SELECT *,
           CASE WHEN NOT regexp_matches({ts}, '{_OFFSET}') THEN {local} END AS timestamp__local,
           {utc} AS timestamp__utc,
           try_cast({value} AS DOUBLE) AS number
"""


def _failed_checks() -> str:
    """The contract's rules as one SQL expression: NULL where a row passes them all, else
    `check|reason` of each rule it breaks, joined by '; ' (evaluated once per row)."""
    rules = CONTRACT.sql_checks(RECORD)
    any_failed = " OR ".join(f"({cond})" for _, cond, _ in rules)
    each = ", ".join(
        f"CASE WHEN {cond} THEN '{sql_text(name)}|{sql_text(reason)}' END"
        for name, cond, reason in rules
    )
    return f"CASE WHEN {any_failed} THEN concat_ws('; ', {each}) END"


def _stage(
    con: duckdb.DuckDBPyConnection,
    source: str,
    params: dict,
    site_format: SiteFormat,
    ctxs: list[FileContext],
    keep_value_text: bool = False,
) -> list[tuple]:
    """Type the rows of `source` (columns file_index, position, tag, timestamp, value,
    quality, units, all text but the first two) into the temp table `_hist_stage`, the
    contract evaluated once per row; return the failing rows as (file_index, row_number,
    raw, failed checks), in file order.

    A CSV's raw text is kept only where parsing loses it: a naive timestamp is exactly
    `ts_local`, a finite number exactly `value` (not stored twice over 50 M rows). A PI
    response's value is kept as the API wrote it (`keep_value_text`): the raw record shows
    what the API said, number or state."""
    value_raw = (
        '"value"'
        if keep_value_text
        else 'CASE WHEN number IS NULL OR NOT isfinite(number) THEN "value" END'
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _hist_stage AS
            SELECT file_index, position, tag, timestamp__local AS ts_local,
                   timestamp__utc AS ts_utc, number,
                   CASE WHEN timestamp__local IS NULL THEN "timestamp" END AS ts_raw,
                   {value_raw} AS value_raw,
                   quality AS quality_raw, units, {_failed_checks()} AS failed_checks
            FROM ({_parsed(site_format)} FROM {source})""",  # noqa: S608
        params,
    )
    files = pd.DataFrame(
        {
            "file_index": list(range(len(ctxs))),
            "file_id": [c.file_id for c in ctxs],
            "site_id": [c.site_id for c in ctxs],
        }
    )
    con.register("_hist_files_df", files)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _hist_base AS
           SELECT s.file_index, min(s.rowid) AS first, count(*) AS n,
                  any_value(f.file_id) AS file_id, any_value(f.site_id) AS site_id
           FROM _hist_stage AS s JOIN _hist_files_df AS f USING (file_index)
           GROUP BY s.file_index"""
    )
    con.unregister("_hist_files_df")
    return con.execute(
        f"""WITH typed AS ({_TYPED})
            SELECT file_index, row_number,
                   concat_ws(',', tag, coalesce(ts_raw, CAST(ts_local AS VARCHAR)),
                             coalesce(value_raw, CAST(number AS VARCHAR)), quality_raw,
                             units) AS raw, failed_checks
            FROM typed WHERE failed_checks IS NOT NULL
            ORDER BY file_index, row_number"""  # noqa: S608
    ).fetchall()


def _insert(
    con: duckdb.DuckDBPyConnection,
    ctxs: list[FileContext],
    failing: list[tuple],
    source_format: str,
    raw_of: dict[tuple[int, int], str] | None = None,
) -> dict[str, FileOutcome]:
    """Append the staged rows that passed to raw._historian_point; one outcome per file.
    `raw_of` gives a failing row's source text by (file index, position) (PI items), else it
    is rebuilt from its columns."""
    rejected: dict[int, list[Rejected]] = {i: [] for i in range(len(ctxs))}
    for file_index, row_number, raw, why in failing:
        rel = ctxs[file_index].relative_path
        parts = [p for p in why.split("; ") if p]
        checks = "; ".join(p.split("|", 1)[0] for p in parts)
        text = "; ".join(p.split("|", 1)[1] for p in parts)
        where = "item" if raw_of is not None else "row"
        rejected[file_index].append(
            Rejected(
                int(row_number),
                (raw_of or {}).get((int(file_index), int(row_number)), raw or "")[:2000],
                checks,
                f"{rel} {where} {row_number}: {text}",
            )
        )
    counts = dict(con.execute("SELECT file_index, n FROM _hist_base").fetchall())
    target = ", ".join(f'"{n}"' for n, _ in columns("historian_point"))
    # positions are explicit columns now: the insert need not keep row order (faster)
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        f"""INSERT INTO raw._historian_point ({target})
            WITH typed AS ({_TYPED})
            SELECT t.file_id, t.row_number, NULL, t.site_id, ?,
                   trim(t.tag), t.ts_raw, t.ts_utc, t.ts_local,
                   CASE WHEN isfinite(t.number) THEN t.number END, t.value_raw,
                   CASE WHEN t.number IS NULL THEN trim(t.value_raw) END,
                   coalesce(nullif(trim(t.quality_raw), ''), 'Good'), nullif(trim(t.units), '')
            FROM typed AS t
            WHERE t.failed_checks IS NULL""",  # noqa: S608
        [source_format],
    )
    con.execute("SET preserve_insertion_order = true")
    con.execute("DROP TABLE _hist_stage")
    con.execute("DROP TABLE _hist_base")
    checks = tuple(name for name, _ in CONTRACT.checks(RECORD))
    out = {}
    for i, ctx in enumerate(ctxs):
        read = int(counts.get(i, 0))
        out[ctx.relative_path] = FileOutcome(
            read, read - len(rejected[i]), rejected[i], checks if read else ()
        )
    return out


def _quality(item: dict) -> str:
    if item.get("Questionable"):
        return "Questionable"
    if item.get("Substituted"):
        return "Substituted"
    return "Good" if item.get("Good", True) else "Bad"


def _value_text(value: object) -> str:
    """A PI value as the text a CSV export would hold: a number as JSON writes it, a digital
    state by its name, nothing as empty. (A finite float or an int is written by repr, which
    is what json.dumps does for them, at a fifth of the cost over millions of readings.)"""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    if type(value) is float:  # NaN, Infinity: as JSON spells them
        return json.dumps(value)
    if isinstance(value, dict):
        return str(value.get("Name") or "")
    return "" if value is None else str(value)


@dataclass
class _PiFile:
    """One PI response flattened: its rows (the CSV path's columns), each row's source item,
    the items refused as they were read, and how many items it held."""

    rows: list[tuple]
    raws: dict[int, tuple[str, dict]]  # position -> (tag, item)
    rejected: list[Rejected]
    items: int


def _flatten(ctx: FileContext, file_index: int) -> _PiFile:
    """A PI Web API streamsets response as rows, positions counted over the whole document;
    FileRejected when the document is not one."""
    doc = load_json(ctx.path)
    streams = doc.get("Items") if isinstance(doc, dict) else None
    if not isinstance(streams, list):
        raise FileRejected("pi:items", "not a PI Web API streamsets response (no Items list)")
    out = _PiFile([], {}, [], 0)
    position = 0
    for stream in streams:
        items = stream.get("Items") if isinstance(stream, dict) else None
        if not isinstance(items, list):
            raise FileRejected("pi:stream", "a stream without an Items list")
        tag = str(stream.get("Name") or "")
        unit = stream.get("UnitsAbbreviation") or None
        for item in items:
            position += 1
            if not isinstance(item, dict):
                out.rejected.append(
                    Rejected(
                        position,
                        json.dumps(item)[:2000],
                        "pi:item",
                        f"{ctx.relative_path} item {position}: not an object",
                    )
                )
                continue
            out.rows.append(
                (
                    file_index,
                    position,
                    tag,
                    str(item.get("Timestamp") or ""),
                    _value_text(item.get("Value")),
                    _quality(item),
                    unit,
                )
            )
            out.raws[position] = (tag, item)
    out.items = position
    return out


def load_pi_json(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    """One PI Web API response (a refusal of the whole file raises FileRejected)."""
    return _load_pi_files(con, [ctx], [_flatten(ctx, 0)])[ctx.relative_path]


PI_GROUP_BYTES = 16 * 1024 * 1024  # flattened in Python: about 10x the file in memory


def load_pi_json_group(
    con: duckdb.DuckDBPyConnection, ctxs: list[FileContext]
) -> dict[str, FileOutcome]:
    """PI Web API responses loaded together, one staging per site format and ~16 MB of JSON:
    the per-file cost of the SQL (two temp tables and an insert) paid once for many files,
    memory bounded by the batch. A file that is not a PI response is refused alone."""
    outcomes: dict[str, FileOutcome] = {}
    # per site format: the files flattened so far, and their bytes
    pending: dict[SiteFormat, tuple[list[FileContext], list[_PiFile]]] = {}
    size: dict[SiteFormat, int] = {}
    for ctx in ctxs:
        group_ctxs, flats = pending.setdefault(ctx.site_format, ([], []))
        try:
            flat = _flatten(ctx, len(group_ctxs))
        except FileRejected as exc:
            outcomes[ctx.relative_path] = whole_file_rejection(ctx, exc)
            continue
        group_ctxs.append(ctx)
        flats.append(flat)
        size[ctx.site_format] = size.get(ctx.site_format, 0) + ctx.path.stat().st_size
        if size[ctx.site_format] >= PI_GROUP_BYTES:
            outcomes.update(_load_pi_files(con, *pending.pop(ctx.site_format)))
            size.pop(ctx.site_format)
    for group_ctxs, flats in pending.values():
        if group_ctxs:
            outcomes.update(_load_pi_files(con, group_ctxs, flats))
    return outcomes


def _load_pi_files(
    con: duckdb.DuckDBPyConnection, ctxs: list[FileContext], flats: list[_PiFile]
) -> dict[str, FileOutcome]:
    """Stage and insert flattened PI files of one site format (file_index = list position)."""
    rows = [row for flat in flats for row in flat.rows]
    outcomes: dict[str, FileOutcome] = {}
    staged: dict[str, FileOutcome] = {}
    if rows:
        frame = pd.DataFrame(
            rows,
            columns=["file_index", "position", "tag", "timestamp", "value", "quality", "units"],
        ).astype({"units": object})
        con.register("_pi_points", frame)
        try:
            failing = _stage(con, "_pi_points", {}, ctxs[0].site_format, ctxs, keep_value_text=True)
        finally:
            con.unregister("_pi_points")
        # a failing item's source text, rendered only for the items that failed
        raw_of = {
            (int(i), int(n)): json.dumps({"Name": flats[i].raws[n][0], **flats[i].raws[n][1]})
            for i, n, _, _ in failing
        }
        staged = _insert(con, ctxs, failing, "pi_json", raw_of)
    for ctx, flat in zip(ctxs, flats, strict=True):
        outcome = staged.get(ctx.relative_path, FileOutcome(0, 0, []))
        outcomes[ctx.relative_path] = FileOutcome(
            flat.items,
            outcome.rows_loaded,
            sorted([*flat.rejected, *outcome.rejected], key=lambda r: r.row_number or 0),
            outcome.checks,
        )
    return outcomes


def load_group(con: duckdb.DuckDBPyConnection, ctxs: list[FileContext]) -> dict[str, FileOutcome]:
    """Many exports in one transaction: CSV exports by header layout, PI responses by site
    format."""
    csv = [c for c in ctxs if c.path.suffix.lower() == ".csv"]
    outcomes = load_csv_group(con, csv) if csv else {}
    pi = [c for c in ctxs if c.path.suffix.lower() == ".json"]
    if pi:
        outcomes.update(load_pi_json_group(con, pi))
    return outcomes


LOADER = Loader("historian", CONTRACT, load, load_group=load_group, groupable=groupable)
