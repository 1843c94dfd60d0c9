"""Published states: what every reader reads, so that no reader ever meets a run's lock.

DuckDB lets one process write a file and no other process open it meanwhile, not even to read.
So readers never open the warehouse: after every successful run the whole warehouse (raw,
marts, twin, audit — `biotwin trace` follows a row back to its raw record) is copied, once
checkpointed and while the run still holds it, into a new file under `published/` that nothing
writes again. The list of publications (`published/index.json`) is replaced in one rename,
which is the swap: a reader takes the newest entry, or the one a question names ("as of run R
or time T"), and opens that file read-only. A reader on an older publication keeps reading it;
the oldest publications beyond the number kept are deleted (an open file stays readable until
its reader closes it).

Pure file handling and DuckDB; no Dagster (assets/publication.py runs it after a run).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

INDEX = "index.json"
CHUNK = 8 * 1024 * 1024
PUBLISHED_SCHEMAS = ("marts", "twin")  # the tables a publication counts (it holds every table)


class NotPublished(LookupError):
    """No publication answers the question (none yet, or none as of that run or time)."""


@dataclass(frozen=True)
class Publication:
    """One published state: its file (inside the publication folder), the run that made it,
    when, with which code, the file's sha256 and the rows of every mart and twin table."""

    seq: int
    file: str
    run_id: str
    published_at: str  # ISO 8601, UTC
    code_version: str
    sha256: str
    bytes: int
    tables: dict[str, int]

    def path(self, folder: Path) -> Path:
        return folder / self.file


def publications(folder: Path) -> list[Publication]:
    """Every kept publication, oldest first (none when nothing was published yet)."""
    try:
        entries = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Publication(**entry) for entry in entries]


def current(folder: Path) -> Publication:
    """The newest publication."""
    kept = publications(folder)
    if not kept:
        raise NotPublished(
            f"nothing is published in {folder} yet: a run publishes when it succeeds "
            "(`make demo` or `biotwin run`)"
        )
    return kept[-1]


def as_of(folder: Path, when: str | None) -> Publication:
    """The publication a reader asked for: the newest (`when` None), the one a run made
    (`when` a run id or its first characters), or the newest published at or before a time
    (`when` an ISO 8601 time; a time without a zone is UTC)."""
    if when is None:
        return current(folder)
    kept = publications(folder)
    by_run = [p for p in kept if p.run_id.startswith(when)]
    if by_run:
        return by_run[-1]
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        moment = None
    if moment is None:
        raise NotPublished(f"no kept publication was made by a run {when!r}{_kept_runs(kept)}")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    before = [p for p in kept if datetime.fromisoformat(p.published_at) <= moment]
    if not before:
        raise NotPublished(f"no kept publication is as old as {when}{_kept_runs(kept)}")
    return before[-1]


def _kept_runs(kept: list[Publication]) -> str:
    if not kept:
        return " (nothing is published yet)"
    listed = ", ".join(f"{p.run_id[:8]} at {p.published_at}" for p in kept)
    return f"; kept: {listed}"


def table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every table of the published schemas ({"marts.dim_batch": 24, …})."""
    names = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN (SELECT unnest(?)) AND table_type = 'BASE TABLE' "
        "ORDER BY 1, 2",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    return {
        f"{schema}.{name}": int(
            con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchall()[0][0]  # noqa: S608
        )
        for schema, name in names
    }


def copy_and_hash(source: Path, target: Path) -> tuple[str, int]:
    """Copy `source` to `target` in one pass that also hashes it; (sha256, bytes). The copy
    is flushed to disk before it is named a publication."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def publish(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    folder: Path,
    run_id: str,
    code_version: str,
    keep: int,
) -> Publication:
    """Publish the warehouse that `con` holds for writing (so nothing else writes it during
    the copy): checkpoint, copy, hash, then swap the index to name the new file, and delete
    what is beyond the newest `keep`. A publication that fails half-way leaves only a
    `.tmp` file, never a listed one."""
    folder.mkdir(parents=True, exist_ok=True)
    con.execute("CHECKPOINT")  # every committed change in the file itself, the WAL empty
    kept = publications(folder)
    seq = (kept[-1].seq + 1) if kept else 1
    name = f"{seq:06d}-{run_id[:8]}.duckdb"
    tmp = folder / f"{name}.tmp"
    sha, size = copy_and_hash(warehouse, tmp)
    tmp.chmod(0o444)
    tmp.replace(folder / name)
    entry = Publication(
        seq=seq,
        file=name,
        run_id=run_id,
        published_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        code_version=code_version,
        sha256=sha,
        bytes=size,
        tables=table_rows(con),
    )
    keep = max(keep, 2)  # the previous state stays for readers that opened it a moment ago
    listed = [*kept, entry][-keep:]
    _write_index(folder, listed)
    for old in kept[: max(0, len(kept) + 1 - keep)]:
        old.path(folder).unlink(missing_ok=True)
    return entry


def _write_index(folder: Path, listed: list[Publication]) -> None:
    """The index written whole, flushed, and renamed into place: a reader sees the old list
    or the new one, never part of one."""
    tmp = folder / f"{INDEX}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump([asdict(p) for p in listed], handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(folder / INDEX)
