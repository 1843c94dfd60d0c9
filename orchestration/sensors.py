"""One sensor per source system: list the landing folder, hash new files, request a run.

The file ledger in the warehouse decides what is new (same bytes = already seen), not the
sensor cursor: a replayed tick or a reset cursor finds nothing new once the files are in the
ledger, and a run that was requested anyway loads nothing twice. Run keys make a repeated
request for the same set of files a no-op while a run is still on its way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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

from assets.ingest.listing import list_landing
from assets.ingest.run import LOADERS
from assets.resources import PlantPaths
from biotwin.files import sha256_of
from biotwin.warehouse import WarehouseBusy, connect, table_exists


@dataclass(frozen=True)
class LedgerState:
    """What the ledger holds for a system: bytes seen, (path, size) pairs, refused paths."""

    hashes: set[str]
    seen: set[tuple[str, int]]
    refused: set[str]


def ledger_state(paths: PlantPaths, system: str) -> LedgerState | None:
    """The ledger's state for `system`; None if the warehouse is busy (a writer holds it)."""
    warehouse = paths.warehouse_path()
    if not warehouse.exists():
        return LedgerState(set(), set(), set())
    try:
        con = connect(warehouse, read_only=True, wait_s=0)
    except WarehouseBusy:
        return None  # a writer holds the lock: try again next tick
    try:
        if not table_exists(con, "raw", "file_ledger"):
            return LedgerState(set(), set(), set())
        rows = con.execute(
            "SELECT file_sha256, source_path, size_bytes FROM raw.file_ledger WHERE system = ?",
            [system],
        ).fetchall()
    finally:
        con.close()
    return LedgerState(
        hashes={sha for sha, _, _ in rows if sha},
        seen={(path, size) for sha, path, size in rows if sha},
        refused={path for sha, path, _ in rows if sha is None},
    )


def new_files(paths: PlantPaths, system: str, state: LedgerState) -> list[tuple[str, str]]:
    """(relative path, identity) of what the next ingestion would record that the ledger has
    not: a file whose bytes it has not seen (identity: the sha256), or a refused path it has
    not recorded (identity: `refused:<path>`). The listing is ingestion's own
    (assets/ingest/listing.py), so a hidden or misplaced file is new once, not on every tick.

    A file whose path and size the ledger already holds is not hashed again: a tick must not
    read the whole landing zone. (Ingestion itself hashes every file, so changed bytes of the
    same size under the same name are still caught by the next run.)"""
    out = []
    for entry in list_landing(paths.landing_path(), system):
        if entry.refused:
            if entry.relative not in state.refused:
                out.append((entry.relative, f"refused:{entry.relative}"))
            continue
        try:
            size = entry.path.stat().st_size
            if (entry.relative, size) in state.seen:
                continue
            sha = sha256_of(entry.path)
        except OSError:
            continue  # gone between the listing and the read: nothing to ingest
        if sha not in state.hashes:
            out.append((entry.relative, sha))
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
        fresh = new_files(paths, system, state)
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
