"""One sensor per source system: list the landing folder, hash new files, request a run.

The file ledger in the warehouse decides what is new (same bytes = already seen), not the
sensor cursor: a replayed tick or a reset cursor finds nothing new once the files are in the
ledger, and a run that was requested anyway loads nothing twice. Run keys make a repeated
request for the same set of files a no-op while a run is still on its way.
"""

from __future__ import annotations

import hashlib

import duckdb
from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.ingest.run import LOADERS
from assets.landing_files import sha256_of
from biotwin.query import table_exists
from orchestration.resources import PlantPaths


def ledger_state(paths: PlantPaths, system: str) -> tuple[set[str], set[tuple[str, int]]] | None:
    """(sha256s, (path, size) pairs) the ledger holds for `system`; None if the warehouse is
    busy (a writer holds the lock)."""
    warehouse = paths.warehouse_path()
    if not warehouse.exists():
        return set(), set()
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return None  # a writer holds the lock: try again next tick
    try:
        if not table_exists(con, "raw", "file_ledger"):
            return set(), set()
        rows = con.execute(
            "SELECT file_sha256, source_path, size_bytes FROM raw.file_ledger WHERE system = ? "
            "AND file_sha256 IS NOT NULL",
            [system],
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}, {(r[1], r[2]) for r in rows}


def new_files(
    paths: PlantPaths, system: str, hashes: set[str], seen: set[tuple[str, int]]
) -> list[tuple[str, str]]:
    """(relative path, sha256) of regular files whose bytes the ledger has not seen.

    A file whose path and size the ledger already holds is not hashed again: a tick must not
    read the whole landing zone. (Ingestion itself hashes every file, so changed bytes of the
    same size under the same name are still caught by the next run.)"""
    root = paths.landing_path()
    base = root / system
    if not base.is_dir():
        return []
    out = []
    for path in sorted(base.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if (rel, path.stat().st_size) in seen:
            continue
        sha = sha256_of(path)
        if sha not in hashes:
            out.append((rel, sha))
    return out


def _landing_sensor(system: str):
    @sensor(
        name=f"{system}_landing_sensor",
        # the new files, then everything downstream: conformed tables, then the twin re-scores
        # in-progress batches (monitoring and forecasts) on the new data
        asset_selection=AssetSelection.assets(AssetKey(["raw", system])).downstream(),
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description=f"Ingests, conforms and re-scores the twin when new {system} files land.",
    )
    def _sensor(context: SensorEvaluationContext, paths: PlantPaths):
        state = ledger_state(paths, system)
        if state is None:
            return SkipReason("warehouse busy (a run is writing); will look again")
        fresh = new_files(paths, system, *state)
        if not fresh:
            return SkipReason(f"no new {system} files")
        digest = hashlib.sha256("\n".join(sorted(sha for _, sha in fresh)).encode()).hexdigest()
        context.log.info("%d new %s files", len(fresh), system)
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=f"{system}:{digest}",
                    tags={"biotwin/new_files": str(len(fresh))},
                )
            ],
            cursor=digest,
        )

    return _sensor


LANDING_SENSORS = [_landing_sensor(system) for system in LOADERS]
