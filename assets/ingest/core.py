"""Ingest one source system's landing folder into raw.*: ledger, dedup, quarantine, provenance.

Each file is loaded in its own transaction together with its ledger row: a crash leaves a file
either fully loaded and recorded, or not touched, so a re-run converges on the same raw tables.
The ledger (not a sensor cursor) decides what is new: a file whose bytes were already processed
is recorded as `duplicate` and loads nothing.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import (
    Executor,
    Future,
    ThreadPoolExecutor,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from assets.contracts.base import FileRejected
from assets.contracts.rules import Contract
from assets.ingest.arrival import cut_short, settle_seconds, settled
from assets.ingest.formats import DEFAULT as DEFAULT_FORMAT
from assets.ingest.formats import SiteFormat
from assets.ingest.listing import list_landing
from assets.ingest.sql import ident
from assets.ingest.sql import table as sql_table
from assets.ingest.tables import LEDGER, QUARANTINE, columns, stored_table
from biotwin.files import sha256_of


@dataclass
class FileContext:
    """What a loader knows about the file it loads."""

    path: Path
    relative_path: str  # inside the landing root
    system: str
    site_id: str
    sha256: str
    site_timezone: str | None
    run_id: str
    ingested_at: datetime
    file_id: int = 0  # raw.loaded_file id, set when the load starts
    site_format: SiteFormat = DEFAULT_FORMAT  # how this site's system writes times and numbers
    # the loader's `parse` of this file, started ahead in a worker process (None: not started;
    # the loader parses in this process)
    parsed: Future | None = field(default=None, compare=False, repr=False)


@dataclass
class Rejected:
    row_number: int | None  # None: the whole file
    raw_content: str
    check: str
    reason: str


@dataclass
class FileOutcome:
    rows_read: int
    rows_loaded: int
    rejected: list[Rejected] = field(default_factory=list)
    # the contract checks that ran on this file's records (none when it was refused whole)
    checks: tuple[str, ...] = ()


LoadOne = Callable[[duckdb.DuckDBPyConnection, FileContext], FileOutcome]
LoadGroup = Callable[[duckdb.DuckDBPyConnection, list[FileContext]], dict[str, FileOutcome]]
Parse = Callable[[FileContext], object]


def _one_at_a_time(ctx: FileContext) -> bool:
    return False


@dataclass(frozen=True)
class Loader:
    """What ingestion needs of a source system: its contract and how to load one file;
    optionally how to load many in one go (`load_group`, for the files `groupable` accepts),
    and a `parse` that needs no warehouse and is safe on threads (threads run it ahead of
    the load: `load` then finds its result in `ctx.parsed`)."""

    system: str
    contract: Contract
    load: LoadOne
    load_group: LoadGroup | None = None
    groupable: Callable[[FileContext], bool] = _one_at_a_time
    parse: Parse | None = None


@dataclass
class SystemSummary:
    system: str
    files_seen: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_samples: list[dict] = field(default_factory=list)
    # held back, unrecorded, for a later run: still being written, or gone before it was read
    arriving: list[str] = field(default_factory=list)
    # the contract checks that ran on some file's records in this run
    checks_run: set[str] = field(default_factory=set)

    def count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1


def _digest(path: Path) -> str | None:
    """The file's sha256, or None if it vanished since it was listed (moved away by an
    operator or a transfer tool): a file that is not there is not data, and never a reason
    to stop the other files."""
    try:
        return sha256_of(path)
    except FileNotFoundError:
        return None


def insert_frame(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame
) -> None:
    """INSERT a DataFrame into schema.table, by column name (names checked and quoted)."""
    target = ", ".join(ident(n) for n in frame.columns)
    con.register("_biotwin_frame", frame)
    try:
        con.execute(
            f"INSERT INTO {sql_table(schema, table)} ({target}) "  # noqa: S608
            "SELECT * FROM _biotwin_frame"
        )
    finally:
        con.unregister("_biotwin_frame")


def append_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    ctx: FileContext,
    positions: list[str] | None = None,
) -> int:
    """Insert `frame` (must hold `_row_number`) into raw.<table> with provenance columns."""
    if frame.empty:
        return 0
    insert_raw(con, table, raw_rows(table, frame, ctx, positions))
    return len(frame)


def insert_raw(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame) -> None:
    """Insert rows made by `raw_rows` (of one file or many) into raw.<table>."""
    insert_frame(con, "raw", stored_table(table), rows)


def raw_rows(
    table: str, frame: pd.DataFrame, ctx: FileContext, positions: list[str] | None = None
) -> pd.DataFrame:
    """`frame`'s rows as raw.<table> holds them: its columns in order, with the file's id and
    each row's position (None: the row number is the position). A loader that takes many
    files in one transaction concatenates these and inserts once."""
    frame = frame.copy()
    frame["_position"] = positions
    frame["_file_id"] = ctx.file_id
    names = [n for n, _ in columns(table)]
    for n in names:
        if n not in frame.columns:
            frame[n] = None
    return frame[names]


def register_files(con: duckdb.DuckDBPyConnection, ctxs: list[FileContext]) -> None:
    """Give each file its raw.loaded_file row and id (inside the load's transaction)."""
    first = con.execute("SELECT coalesce(max(_file_id), 0) + 1 FROM raw.loaded_file").fetchall()[0]
    for k, ctx in enumerate(ctxs):
        ctx.file_id = int(first[0]) + k
    frame = pd.DataFrame(
        {
            "_file_id": [c.file_id for c in ctxs],
            "file_sha256": [c.sha256 for c in ctxs],
            "source_path": [c.relative_path for c in ctxs],
            "system": [c.system for c in ctxs],
            "site_id": [c.site_id for c in ctxs],
            "run_id": [c.run_id for c in ctxs],
            "ingested_at": [c.ingested_at for c in ctxs],
        }
    )
    insert_frame(con, "raw", "loaded_file", frame)


def _quarantine(
    con: duckdb.DuckDBPyConnection, ctx: FileContext, contract: Contract, rejected: list[Rejected]
) -> None:
    if not rejected:
        return
    frame = pd.DataFrame(
        {
            "file_sha256": ctx.sha256,
            "source_path": ctx.relative_path,
            "row_number": pd.array([r.row_number for r in rejected], dtype="Int64"),
            "raw_content": [r.raw_content[:4000] for r in rejected],
            "contract": contract.name,
            "contract_version": contract.version,
            "check_name": [r.check for r in rejected],
            "reason": [r.reason for r in rejected],
            "run_id": ctx.run_id,
            "quarantined_at": ctx.ingested_at,
        }
    )[[n for n, _ in QUARANTINE]]
    insert_frame(con, "raw", "quarantine", frame)


def _ledger_row(
    *,
    sha: str | None,
    path: str,
    size: int | None,
    system: str,
    site: str,
    status: str,
    reason: str | None,
    read: int,
    loaded: int,
    quarantined: int,
    contract: Contract,
    run_id: str,
    at: datetime,
) -> list:
    return [
        sha,
        path,
        size,
        system,
        site,
        status,
        reason,
        read,
        loaded,
        quarantined,
        contract.name,
        contract.version,
        run_id,
        at,
        at,
    ]


def _ledger_rows(con: duckdb.DuckDBPyConnection, rows: list[list]) -> None:
    if not rows:
        return
    insert_frame(con, "raw", "file_ledger", pd.DataFrame(rows, columns=[n for n, _ in LEDGER]))


def _ledger(con: duckdb.DuckDBPyConnection, **fields) -> None:
    con.execute(
        "INSERT INTO raw.file_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _ledger_row(**fields),
    )


# DuckDB errors that mean "this file's bytes cannot be read as that format"; anything else
# (a busy connection, a full disk, a bug) is not the file's fault and stops the run.
READ_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)

# Errors of the machine, not of the file (a full disk, a lost warehouse, no memory): they stop
# the run, so that a good file is never quarantined for them. Anything else a loader raises on
# a file quarantines that file with the exception's class and message; the next file loads.
ENVIRONMENT_ERRORS = (OSError, MemoryError, duckdb.IOException, duckdb.FatalException)

GROUP_BYTES = 128 * 1024 * 1024  # one transaction per ~128 MB of grouped files
GROUP_FILES = 400
# fewer new files than this are parsed on the ingesting thread alone: each parsing thread
# starts a parser worker (allotropy's import, about 2 s), a file's parse takes ~25 ms
POOL_MIN_FILES = 20


def parse_workers(env: Mapping[str, str] | None = None) -> int:
    """Threads that parse files ahead of the load (BIOTWIN_PARSE_WORKERS; default: one per
    core; 1 or less parses on the ingesting thread)."""
    value = (os.environ if env is None else env).get("BIOTWIN_PARSE_WORKERS", "")
    try:
        return int(value) if value else (os.cpu_count() or 1)
    except ValueError:
        return os.cpu_count() or 1


def parse_pool(loader: Loader, new_files: int) -> tuple[Executor | None, int]:
    """Threads for a loader's `parse` and how many, or (None, 0) when the loader has none,
    when there are too few new files to pay the workers' start, or when they are turned off.
    Threads, not processes: the instrument parse waits on its worker process's pipe
    (assets/ingest/parser_pool.py), so each thread keeps one core busy elsewhere."""
    workers = min(parse_workers(), new_files)
    if loader.parse is None or workers < 2 or new_files < POOL_MIN_FILES:
        return None, 0
    return ThreadPoolExecutor(workers, thread_name_prefix=f"parse-{loader.system}"), workers


def parsed_ahead_or_here(ctx: FileContext, parse: Parse):
    """What a loader's `parse` gave for this file: a thread's result when one parsed it
    ahead (its exception, e.g. a refusal, raised here), else parsed here."""
    return ctx.parsed.result() if ctx.parsed is not None else parse(ctx)


def _ahead(items: Iterable, size: int, on_enter: Callable) -> Iterator:
    """The items in order, each handed to `on_enter` `size` items before it is yielded (so
    that work on it can start early)."""
    window: deque = deque()
    for item in items:
        on_enter(item)
        window.append(item)
        if len(window) > size:
            yield window.popleft()
    yield from window


def ingest_system(
    con: duckdb.DuckDBPyConnection,
    landing_root: Path,
    loader: Loader,
    run_id: str,
    site_timezones: dict[str, str],
    site_formats: Mapping[str, SiteFormat] | None = None,
    settle_s: float | None = None,
    on_file: Callable[[SystemSummary, int], None] | None = None,
) -> SystemSummary:
    """Load every new file of `system`; record every file in the ledger. `on_file(summary,
    total)` is called after each file (progress for the console).

    Files the loader can take together (big CSV exports) are loaded many per transaction;
    each file still gets its own ledger row, and a group either commits whole or not at all.
    """
    system, contract = loader.system, loader.contract
    summary = SystemSummary(system)
    known = {
        (sha, path, status)
        for sha, path, status in con.execute(
            "SELECT file_sha256, source_path, status FROM raw.file_ledger WHERE system = ?",
            [system],
        ).fetchall()
    }
    seen_paths = {(sha, path) for sha, path, _ in known}
    # sha256 -> the path its bytes were loaded from
    processed = {sha: path for sha, path, status in known if status != "duplicate" and sha}
    refused = {path for sha, path, _ in known if sha is None}
    group: list[tuple[FileContext, int]] = []

    def account(ctx: FileContext, outcome: FileOutcome | None) -> None:
        if outcome is None:  # vanished while it was being loaded: nothing written
            summary.arriving.append(ctx.relative_path)
            processed.pop(ctx.sha256, None)
            seen_paths.discard((ctx.sha256, ctx.relative_path))
            return
        _account(summary, ctx, outcome)

    def unread(
        sha: str | None, rel: str, size: int | None, site: str, status: str, why: str, at: datetime
    ) -> None:
        """The ledger row of a file whose rows are not read: refused, or a duplicate."""
        _ledger(
            con,
            sha=sha,
            path=rel,
            size=size,
            system=system,
            site=site,
            status=status,
            reason=why,
            read=0,
            loaded=0,
            quarantined=0,
            contract=contract,
            run_id=run_id,
            at=at,
        )

    def flush() -> None:
        if group:
            for ctx, outcome in _load_group(con, group, loader):
                account(ctx, outcome)
            group.clear()

    entries = list_landing(landing_root, system)
    listed = [e.path for e in entries]
    refusals = {e.path: e.refused for e in entries}
    # a file still being written is not data: held back, unrecorded, for a later run
    window = settle_seconds() if settle_s is None else settle_s
    _, still_arriving = settled([p for p in listed if not refusals[p]], window)
    summary.arriving = [p.relative_to(landing_root).as_posix() for p in still_arriving]
    paths = [p for p in listed if p not in set(still_arriving)]
    # hash ahead in a background thread while DuckDB loads the files before (hashlib and
    # file reads release the GIL); a refused path is never opened
    hasher = ThreadPoolExecutor(max_workers=1)
    digests = iter(hasher.map(_digest, [p for p in paths if not refusals[p]]))
    hashed = ((path, None if refusals[path] else next(digests)) for path in paths)
    known_paths = {path for _, path, _ in known}
    new_files = sum(
        1
        for p in paths
        if not refusals[p] and p.relative_to(landing_root).as_posix() not in known_paths
    )
    pool, workers = parse_pool(loader, new_files)
    parsing: dict[Path, Future] = {}
    prefetching = pool is not None

    def parse_ahead(item: tuple[Path, str | None]) -> None:
        """Start parsing a file a worker can take, if it looks new (a guess: the loop below
        decides; a parse it does not use is dropped)."""
        nonlocal prefetching
        path, sha = item
        if not prefetching or sha is None or sha in processed:
            return
        rel = path.relative_to(landing_root).as_posix()
        site = rel.split("/")[1] if rel.count("/") >= 2 else ""
        if (sha, rel) in seen_paths or site not in site_timezones:
            return
        request = FileContext(
            path, rel, system, site, sha, site_timezones[site], run_id, datetime.now(UTC)
        )
        try:
            parsing[path] = pool.submit(loader.parse, request)
        except RuntimeError:  # the pool cannot start a thread: parse here
            prefetching = False

    try:
        for path, sha in _ahead(hashed, 2 * workers, parse_ahead):
            if on_file is not None:
                on_file(summary, len(paths))
            rel = path.relative_to(landing_root).as_posix()
            parts = rel.split("/")
            site = parts[1] if len(parts) > 2 else ""
            summary.files_seen += 1
            now = datetime.now(UTC)
            ahead = parsing.pop(path, None)
            why = refusals[path]
            if why:
                if rel not in refused:
                    unread(None, rel, None, site, "quarantined", f"refused: {why}", now)
                    refused.add(rel)
                    summary.count("quarantined")
                continue
            if sha is None:
                summary.arriving.append(rel)
                continue
            if (sha, rel) in seen_paths:
                continue  # this exact file was handled by an earlier run
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                summary.arriving.append(rel)
                continue
            seen_paths.add((sha, rel))
            if sha in processed:
                why = f"same bytes as {processed[sha]}, already ingested"
                unread(sha, rel, size, site, "duplicate", why, now)
                summary.count("duplicate")
                continue
            processed[sha] = rel
            ctx = FileContext(
                path,
                rel,
                system,
                site,
                sha,
                site_timezones.get(site),
                run_id,
                now,
                site_format=(site_formats or {}).get(site, DEFAULT_FORMAT),
                parsed=ahead,
            )
            if (
                loader.load_group is not None
                and ctx.site_timezone
                and loader.groupable(ctx)
                and cut_short(ctx.path, ctx.system) is None
            ):
                group.append((ctx, size))
                if sum(n for _, n in group) >= GROUP_BYTES or len(group) >= GROUP_FILES:
                    flush()
                continue
            account(ctx, _load_one(con, ctx, loader, size))
        flush()
    finally:
        hasher.shutdown(cancel_futures=True)
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return summary


def _account(summary: SystemSummary, ctx: FileContext, outcome: FileOutcome) -> None:
    summary.count(_status(outcome))
    summary.rows_read += outcome.rows_read
    summary.rows_loaded += outcome.rows_loaded
    summary.rows_quarantined += len(outcome.rejected)
    summary.checks_run.update(outcome.checks)
    for r in outcome.rejected[: max(0, 5 - len(summary.quarantine_samples))]:
        summary.quarantine_samples.append(
            {"file": ctx.relative_path, "row": r.row_number, "check": r.check, "reason": r.reason}
        )


def _load_group(
    con: duckdb.DuckDBPyConnection, group: list[tuple[FileContext, int]], loader: Loader
) -> list[tuple[FileContext, FileOutcome | None]]:
    """Many files in one transaction; if the group cannot be read together, one by one."""
    assert loader.load_group is not None
    contract = loader.contract
    con.execute("BEGIN TRANSACTION")
    try:
        register_files(con, [ctx for ctx, _ in group])
        outcomes = loader.load_group(con, [ctx for ctx, _ in group])
        ledger_rows: list[list] = []
        for ctx, size in group:
            _finish(con, ctx, outcomes[ctx.relative_path], contract, size, ledger_rows)
        _ledger_rows(con, ledger_rows)
    except ENVIRONMENT_ERRORS:
        con.execute("ROLLBACK")
        if all(ctx.path.exists() for ctx, _ in group):
            raise
        # one of them vanished meanwhile: one by one, the vanished one held back
        return [(ctx, _load_one(con, ctx, loader, size)) for ctx, size in group]
    except Exception:  # a file the group cannot take: one by one, each with its own outcome
        con.execute("ROLLBACK")
        return [(ctx, _load_one(con, ctx, loader, size)) for ctx, size in group]
    con.execute("COMMIT")
    return [(ctx, outcomes[ctx.relative_path]) for ctx, _ in group]


def _status(outcome: FileOutcome) -> str:
    if outcome.rows_loaded == 0 and outcome.rejected:
        return "quarantined"
    if outcome.rejected:
        return "partially_loaded"
    return "loaded"


def _load_one(
    con: duckdb.DuckDBPyConnection, ctx: FileContext, loader: Loader, size: int
) -> FileOutcome | None:
    """One transaction: raw rows + quarantine rows + ledger row, or (on rejection) only the
    whole-file quarantine row and the ledger row. None: the file vanished before it could be
    read, and nothing was written (it is not data; if it comes back, a later run loads it)."""
    con.execute("BEGIN TRANSACTION")
    try:
        if ctx.site_timezone is None:
            raise FileRejected(
                "site:known", f"site folder {ctx.site_id!r} is not in reference sites.csv"
            )
        cut = cut_short(ctx.path, ctx.system)
        if cut:
            raise FileRejected("file:complete", cut)
        register_files(con, [ctx])
        outcome = loader.load(con, ctx)
    except FileRejected as exc:
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
        outcome = whole_file_rejection(ctx, exc)
    except READ_ERRORS as exc:  # DuckDB could not read the file (encoding, quoting, …)
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        outcome = whole_file_rejection(ctx, FileRejected("file:read", f"cannot be read: {first}"))
    except ENVIRONMENT_ERRORS:
        con.execute("ROLLBACK")
        if not ctx.path.exists():  # vanished while it was read (DuckDB says IOException)
            return None
        raise
    except Exception as exc:  # a loader bug or a hostile file: this file only
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
        first = (str(exc).splitlines() or [""])[0][:300]
        outcome = whole_file_rejection(
            ctx,
            FileRejected(
                "loader:exception",
                f"the {ctx.system} loader failed on this file: {type(exc).__name__}: {first}",
            ),
        )
    _finish(con, ctx, outcome, loader.contract, size)
    con.execute("COMMIT")
    return outcome


def whole_file_rejection(ctx: FileContext, exc: FileRejected) -> FileOutcome:
    """A file whose shape is wrong counts as one record read and one quarantined."""
    return FileOutcome(
        1, 0, [Rejected(None, _head(ctx.path), exc.check, f"{ctx.relative_path}: {exc.reason}")]
    )


def _finish(
    con: duckdb.DuckDBPyConnection,
    ctx: FileContext,
    outcome: FileOutcome,
    contract: Contract,
    size: int,
    ledger_sink: list[list] | None = None,
) -> None:
    """Check the accounting, then write the file's quarantine rows and its ledger row (or add
    the ledger row to `ledger_sink`, written by the caller in one insert)."""
    if outcome.rows_read != outcome.rows_loaded + len(outcome.rejected):
        con.execute("ROLLBACK")
        msg = (
            f"{ctx.relative_path}: rows read {outcome.rows_read} != loaded "
            f"{outcome.rows_loaded} + quarantined {len(outcome.rejected)}"
        )
        raise RuntimeError(msg)
    _quarantine(con, ctx, contract, outcome.rejected)
    reason = outcome.rejected[0].reason if outcome.rejected and outcome.rows_loaded == 0 else None
    row = _ledger_row(
        sha=ctx.sha256,
        path=ctx.relative_path,
        size=size,
        system=ctx.system,
        site=ctx.site_id,
        status=_status(outcome),
        reason=reason,
        read=outcome.rows_read,
        loaded=outcome.rows_loaded,
        quarantined=len(outcome.rejected),
        contract=contract,
        run_id=ctx.run_id,
        at=ctx.ingested_at,
    )
    if ledger_sink is None:
        _ledger_rows(con, [row])
    else:
        ledger_sink.append(row)


def _head(path: Path, limit: int = 2000) -> str:
    """The start of a rejected file, as text a person can read (bytes kept safe)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit)
    except FileNotFoundError:
        return "(the file vanished from the landing zone before its start could be kept)"
    return data.decode("utf-8", errors="backslashreplace")
