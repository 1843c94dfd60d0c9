"""Historian exports -> raw.historian_point.

CSV takes the DuckDB-native path (typed `read_csv` into a staging table, the contract as SQL,
one INSERT … SELECT), so memory stays bounded by DuckDB, not by pandas. PI Web API JSON is parsed
in Python (a PI response is one JSON document) and checked with the pandera contract.
Values are kept as written: the raw string beside the number, digital states by name, and a
timestamp without offset stays local (`ts_local`) until dbt resolves it with the site's zone.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from assets.contracts import historian as contract
from assets.contracts.base import FileRejected, group_reasons, row_failures
from assets.ingest.core import (
    FileContext,
    FileOutcome,
    Rejected,
    append_rows,
    whole_file_rejection,
)
from assets.ingest.formats import DEFAULT as DEFAULT_FORMAT
from assets.ingest.formats import SiteFormat
from assets.ingest.tables import columns
from assets.ingest.text import load_json

CONTRACT = contract
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
    """CSV exports go through the DuckDB path many files at a time."""
    return ctx.path.suffix.lower() == ".csv"


def load_csv_group(
    con: duckdb.DuckDBPyConnection, ctxs: list[FileContext]
) -> dict[str, FileOutcome]:
    """Load CSV exports with one `read_csv` per header layout; the contract runs as SQL.

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
        outcomes.update(_load_layout(con, header, group, site_format))
    return outcomes


# One projection both queries use: every cast is written once.
# The stage is already typed (every cast once, while reading); this adds the record position.
_TYPED = """
    SELECT s.file_index, b.file_id, b.site_id, s.rowid - b.first + 1 AS row_number, s.tag,
           s.ts_raw, s.ts_local, s.ts_utc, s.number, s.value_raw, s.quality_raw, s.units,
           s.failing
    FROM _hist_stage AS s JOIN _hist_base AS b USING (file_index)
"""

_STAGE_COLUMNS = """
    file_index, tag, ts_local, ts_utc, number,
    CASE WHEN ts_local IS NULL THEN "timestamp" END AS ts_raw,
    CASE WHEN number IS NULL OR NOT isfinite(number) THEN "value" END AS value_raw,
    quality AS quality_raw
"""


# Raw text is kept only where parsing loses it: a naive timestamp is exactly `ts_local`, a
# finite number exactly `value`.
def _sql_text(text: str) -> str:
    """A Python string as the inside of a SQL string literal."""
    return text.replace("'", "''")


def _parsed(site_format: SiteFormat) -> str:
    """The typing projection for one site's formats: ISO 8601 first, then the site's
    datetime formats (those with %z give an instant), and its decimal separator."""

    def formats(patterns: list[str]) -> str:
        return "[" + ", ".join(f"'{_sql_text(p)}'" for p in patterns) + "]"

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
    SELECT *, file_index,
           CASE WHEN NOT regexp_matches({ts}, '{_OFFSET}') THEN {local} END AS ts_local,
           {utc} AS ts_utc,
           try_cast({value} AS DOUBLE) AS number
"""


def _load_layout(
    con: duckdb.DuckDBPyConnection,
    header: str,
    ctxs: list[FileContext],
    site_format: SiteFormat = DEFAULT_FORMAT,
) -> dict[str, FileOutcome]:
    names = [h.strip() for h in header.split(",")]
    # the column names passed _check_header (one of the contract's exact headers): safe in SQL
    cols = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    files = pd.DataFrame(
        {
            "file_index": list(range(len(ctxs))),
            "file_id": [c.file_id for c in ctxs],
            "site_id": [c.site_id for c in ctxs],
        }
    )
    units = "units" if "units" in names else "NULL::VARCHAR AS units"
    failing = " OR ".join(f"({cond})" for _, cond, _ in contract.SQL_CHECKS)
    # file_index (not the file name) keeps the staging table small; it is typed as it is read
    # and the contract is evaluated once, into `failing`
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _hist_stage AS
            SELECT *, coalesce({failing}, true) AS failing FROM (
            SELECT {_STAGE_COLUMNS}, {units} FROM ({_parsed(site_format)}
            FROM read_csv(?, header = true, columns = {cols}, auto_detect = false,
                          delim = ?, quote = '"', escape = '"', null_padding = true,
                          strict_mode = false, max_line_size = 1048576)))""",  # noqa: S608
        [[str(c.path) for c in ctxs], site_format.field_separator],
    )
    # rowid follows file order (insertion order is preserved) and one file's rows are
    # contiguous: a record's position is rowid - the file's first rowid + 1
    con.register("_hist_files_df", files)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _hist_base AS
           SELECT s.file_index, min(s.rowid) AS first, count(*) AS n,
                  any_value(f.file_id) AS file_id, any_value(f.site_id) AS site_id
           FROM _hist_stage AS s JOIN _hist_files_df AS f USING (file_index)
           GROUP BY s.file_index"""
    )
    con.unregister("_hist_files_df")
    reasons = " || ".join(
        f"CASE WHEN {cond} THEN '{name}|{_sql_text(text)}; ' ELSE '' END"
        for name, cond, text in contract.SQL_CHECKS
    )
    bad = con.execute(
        f"""WITH typed AS ({_TYPED})
            SELECT file_index, row_number,
                   concat_ws(',', tag, coalesce(ts_raw, CAST(ts_local AS VARCHAR)),
                             coalesce(value_raw, CAST(number AS VARCHAR)), quality_raw,
                             units) AS raw, {reasons}
            FROM typed WHERE failing ORDER BY file_index, row_number"""  # noqa: S608
    ).fetchall()
    rejected: dict[int, list[Rejected]] = {i: [] for i in range(len(ctxs))}
    for file_index, row_number, raw, why in bad:
        rel = ctxs[file_index].relative_path
        parts = [p for p in why.split("; ") if p]
        checks = "; ".join(p.split("|", 1)[0] for p in parts)
        text = "; ".join(p.split("|", 1)[1] for p in parts)
        rejected[file_index].append(
            Rejected(int(row_number), raw or "", checks, f"{rel} row {row_number}: {text}")
        )
    counts = dict(con.execute("SELECT file_index, n FROM _hist_base").fetchall())
    target = ", ".join(f'"{n}"' for n, _ in columns("historian_point"))
    # positions are explicit columns now: the insert need not keep row order (faster)
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        f"""INSERT INTO raw._historian_point ({target})
            WITH typed AS ({_TYPED})
            SELECT t.file_id, t.row_number, NULL, t.site_id, 'csv',
                   trim(t.tag), t.ts_raw, t.ts_utc, t.ts_local,
                   CASE WHEN isfinite(t.number) THEN t.number END, t.value_raw,
                   CASE WHEN t.number IS NULL THEN trim(t.value_raw) END,
                   coalesce(nullif(trim(t.quality_raw), ''), 'Good'), nullif(trim(t.units), '')
            FROM typed AS t
            WHERE NOT t.failing"""  # noqa: S608
    )
    con.execute("SET preserve_insertion_order = true")
    con.execute("DROP TABLE _hist_stage")
    con.execute("DROP TABLE _hist_base")
    out = {}
    for i, ctx in enumerate(ctxs):
        read = int(counts.get(i, 0))
        out[ctx.relative_path] = FileOutcome(read, read - len(rejected[i]), rejected[i])
    return out


def _quality(item: dict) -> str:
    if item.get("Questionable"):
        return "Questionable"
    if item.get("Substituted"):
        return "Substituted"
    return "Good" if item.get("Good", True) else "Bad"


def load_pi_json(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> FileOutcome:
    doc = load_json(ctx.path)
    streams = doc.get("Items") if isinstance(doc, dict) else None
    if not isinstance(streams, list):
        raise FileRejected("pi:items", "not a PI Web API streamsets response (no Items list)")
    rows: list[dict] = []
    raws: list[tuple[str, dict]] = []
    rejected: list[Rejected] = []
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
                rejected.append(
                    Rejected(
                        position,
                        json.dumps(item)[:2000],
                        "pi:item",
                        f"{ctx.relative_path} item {position}: not an object",
                    )
                )
                continue
            value = item.get("Value")
            state = None
            if isinstance(value, dict):
                state = str(value.get("Name") or "")
                number = None
                value_raw = state
            elif isinstance(value, int | float) and not isinstance(value, bool):
                number = float(value)
                value_raw = json.dumps(value)
            else:
                number, value_raw = None, "" if value is None else str(value)
                state = value_raw or None
            rows.append(
                {
                    "_row_number": position,
                    "tag": tag,
                    "ts_raw": str(item.get("Timestamp") or ""),
                    "value": number,
                    "value_raw": value_raw,
                    "digital_state": state,
                    "quality": _quality(item),
                    "units": unit,
                }
            )
            raws.append((tag, item))  # rendered only if the row is quarantined
    read = position
    frame = pd.DataFrame(rows)
    if frame.empty:
        return FileOutcome(read, 0, rejected)
    failed = group_reasons(row_failures(contract.HistorianPoint, frame))
    for i, (check, reason) in sorted(failed.items()):
        n = int(frame.at[i, "_row_number"])
        tag, item = raws[i]
        rejected.append(
            Rejected(
                n,
                json.dumps({"Name": tag, **item})[:2000],
                check,
                f"{ctx.relative_path} item {n}: {reason}",
            )
        )
    frame = frame.drop(index=list(failed)).reset_index(drop=True)
    has_offset = frame["ts_raw"].str.contains(_OFFSET, regex=True)
    parsed = pd.to_datetime(frame["ts_raw"], utc=True, errors="coerce", format="ISO8601")
    frame["ts_utc"] = parsed.where(has_offset)
    frame["ts_local"] = pd.to_datetime(frame["ts_raw"].where(~has_offset), errors="coerce")
    frame["site_id"] = ctx.site_id
    frame["source_format"] = "pi_json"
    loaded = append_rows(con, "historian_point", frame, ctx)
    return FileOutcome(read, loaded, rejected)


__all__ = ["CONTRACT", "load"]
