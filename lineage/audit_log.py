"""`audit.audit_log` in the warehouse: append entries to the chain, read it back, audit files.

Appending reads the last (seq, hash) and links the new entries in the caller's transaction, so
the writer pool (one writer) keeps the chain linear. The embedded DuckDB default has no roles:
anyone who can write the file can change the table, and `verify` is what makes that evident
(docs/gmp.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from biotwin.warehouse import table_exists
from lineage.audit import GENESIS, Verdict, chain, verify
from lineage.audit_anchor import (
    AnchorDamaged,
    anchor_path,
    check_against_anchors,
    read_anchors,
    unvouched,
    write_anchor,
)

DDL = [
    "CREATE SCHEMA IF NOT EXISTS audit",
    """CREATE TABLE IF NOT EXISTS audit.audit_log (
        seq BIGINT NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL,
        kind VARCHAR NOT NULL,
        subject VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        detail VARCHAR NOT NULL,
        prev_hash VARCHAR NOT NULL,
        hash VARCHAR NOT NULL
    )""",
]
COLUMNS = ("seq", "recorded_at", "kind", "subject", "actor", "detail", "prev_hash", "hash")


def ensure_audit_table(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def _detail(detail: Mapping[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def append(con: duckdb.DuckDBPyConnection, entries: Iterable[Mapping[str, Any]]) -> int:
    """Link and insert entries ({kind, subject, actor, detail: dict}); returns how many."""
    ensure_audit_table(con)
    last = con.execute("SELECT seq, hash FROM audit.audit_log ORDER BY seq DESC LIMIT 1").fetchall()
    last_seq, last_hash = last[0] if last else (0, GENESIS)
    now = datetime.now(UTC)
    prepared = [
        {
            "recorded_at": entry.get("recorded_at", now),
            "kind": entry["kind"],
            "subject": entry["subject"],
            "actor": entry["actor"],
            "detail": _detail(entry["detail"]),
        }
        for entry in entries
    ]
    rows = chain(prepared, last_seq, last_hash)
    if rows:
        con.executemany(
            f"INSERT INTO audit.audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 8)})",  # noqa: S608
            [[row[c] for c in COLUMNS] for row in rows],
        )
    return len(rows)


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The seq the next appended entry gets: what an anchor after the append vouches from."""
    ensure_audit_table(con)
    found = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM audit.audit_log").fetchall()
    return int(found[0][0])


def append_committed(con: duckdb.DuckDBPyConnection, entries: list[Mapping[str, Any]]) -> int:
    """`append` in a transaction of its own (for callers outside one), then anchored."""
    con.execute("BEGIN TRANSACTION")
    try:
        since = next_seq(con)
        added = append(con, entries)
    except Exception:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    if added:
        anchor(con, since)
    return added


def warehouse_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The DuckDB file of the connection (None in memory)."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return Path(rows[0][0]) if rows and rows[0][0] else None


def anchor(con: duckdb.DuckDBPyConnection, since: int) -> None:
    """Append the committed head of the log to the anchor outside the warehouse, vouching for
    the entries from `since` on, which the caller has just committed itself
    (lineage/audit_anchor.py). Called right after every commit that grows the log."""
    warehouse = warehouse_file(con)
    if warehouse is None or not table_exists(con, "audit", "audit_log"):
        return
    head = con.execute("SELECT seq, hash FROM audit.audit_log ORDER BY seq DESC LIMIT 1").fetchall()
    if head:
        write_anchor(anchor_path(warehouse), int(head[0][0]), str(head[0][1]), since)


def read(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The log in stored order (insertion order; never re-sorted, so a reordering shows)."""
    rows = con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit.audit_log"  # noqa: S608
    ).fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def verify_log(con: duckdb.DuckDBPyConnection) -> Verdict:
    """The chain, its anchors and its cross-checks with the file ledger (docs/gmp.md)."""
    warehouse = warehouse_file(con)
    try:
        anchors = read_anchors(anchor_path(warehouse)) if warehouse else []
    except AnchorDamaged as exc:
        return Verdict(False, 0, None, str(exc))
    has_ledger = table_exists(con, "raw", "file_ledger")
    ledger_rows = (
        con.execute("SELECT count(*) FROM raw.file_ledger").fetchall()[0][0] if has_ledger else 0
    )
    if not table_exists(con, "audit", "audit_log"):
        if anchors or ledger_rows:
            return Verdict(
                False,
                0,
                1,
                "audit.audit_log is missing (dropped?), but "
                + (f"{len(anchors)} anchors" if anchors else f"{ledger_rows} ledger rows")
                + " say it existed",
            )
        return Verdict(True, 0)
    rows = read(con)
    verdict = verify(rows)
    if not verdict.ok:
        return verdict
    if rows and not anchors:
        return Verdict(
            False,
            verdict.checked,
            None,
            f"no anchor at {anchor_path(warehouse) if warehouse else '(in memory)'} vouches for "
            f"the {len(rows)} entries: the anchor file was deleted or moved "
            "(BIOTWIN_AUDIT_ANCHOR says where it is)",
        )
    problem = check_against_anchors(rows, anchors)
    if problem:
        return Verdict(False, verdict.checked, None, problem)
    problem = _ledger_cross_check(con) if has_ledger else None
    if problem:
        return Verdict(False, verdict.checked, None, problem)
    return verdict


def _ledger_cross_check(con: duckdb.DuckDBPyConnection) -> str | None:
    """Every ledger row has its file entry, and every file entry its ledger row: a deleted
    entry, or one forged with a correct hash, shows here even after the last anchor."""
    subject = (
        "l.source_path || '@' || coalesce(l.file_sha256, '-') || '@' || "
        "strftime(l.processed_at, '%Y-%m-%dT%H:%M:%S.%f')"
    )
    unaudited = con.execute(
        f"""SELECT count(*) FROM raw.file_ledger AS l WHERE NOT EXISTS (
               SELECT 1 FROM audit.audit_log AS a
               WHERE a.kind LIKE 'file_%' AND a.subject = {subject})"""  # noqa: S608
    ).fetchall()[0][0]
    if unaudited:
        return (
            f"{unaudited} file ledger rows have no audit entry (deleted entries, or a crash "
            "before they were audited: the next run catches up)"
        )
    forged = con.execute(
        f"""SELECT min(a.seq), count(*) FROM audit.audit_log AS a
            WHERE a.kind LIKE 'file_%' AND NOT EXISTS (
                SELECT 1 FROM raw.file_ledger AS l WHERE a.subject = {subject})"""  # noqa: S608
    ).fetchall()[0]
    if forged[1]:
        return (
            f"{forged[1]} file entries name no file ledger row, the first at entry {forged[0]} "
            "(forged, or the ledger row was deleted)"
        )
    return None


def audit_new_ledger_rows(con: duckdb.DuckDBPyConnection, system: str, actor: str) -> int:
    """One entry per ledger row of `system` not yet in the log: every file loaded,
    quarantined, refused or seen as a duplicate. Catches up after a crash between the load
    and this call, because the ledger, not memory, says what is missing."""
    ensure_audit_table(con)
    ledger = con.execute(
        """
        SELECT l.source_path, l.file_sha256, l.status, l.reason, l.rows_read, l.rows_loaded,
               l.rows_quarantined, l.contract, l.contract_version, l.run_id, l.processed_at
        FROM raw.file_ledger AS l
        WHERE l.system = ?
          AND NOT EXISTS (
              SELECT 1 FROM audit.audit_log AS a
              WHERE a.kind LIKE 'file_%'
                AND a.subject = l.source_path || '@' || coalesce(l.file_sha256, '-')
                    || '@' || strftime(l.processed_at, '%Y-%m-%dT%H:%M:%S.%f'))
        ORDER BY l.processed_at, l.source_path
        """,
        [system],
    ).fetchall()
    entries = [
        {
            "recorded_at": processed_at,
            "kind": f"file_{status}",
            "subject": f"{path}@{sha or '-'}@{processed_at.strftime('%Y-%m-%dT%H:%M:%S.%f')}",
            "actor": actor,
            "detail": {
                "system": system,
                "path": path,
                "sha256": sha,
                "reason": reason,
                "rows_read": read_,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "contract": f"{contract} {version}",
                "run_id": run_id,
            },
        }
        for (
            path,
            sha,
            status,
            reason,
            read_,
            loaded,
            quarantined,
            contract,
            version,
            run_id,
            processed_at,
        ) in ledger
    ]
    return append_committed(con, entries)


def audit_run(
    con: duckdb.DuckDBPyConnection, asset: str, run_id: str, detail: Mapping[str, Any]
) -> int:
    """One entry for one asset run: what ran, in which Dagster run, with which code."""
    from lineage.code_version import code_version

    entry = {
        "kind": "asset_run",
        "subject": f"{asset}@{run_id}",
        "actor": f"dagster run {run_id}",
        "detail": {**detail, "code_version": code_version()},
    }
    return append_committed(con, [entry])


class NothingToAcknowledge(ValueError):
    """`acknowledge` was asked to vouch for entries that do not need it, or not all that do."""


def acknowledge(con: duckdb.DuckDBPyConnection, through: int, reason: str, actor: str) -> str:
    """Vouch for the entries no anchor vouches for, up to `through` (the last of them), once
    a person has reviewed them: an `audit_acknowledged` entry naming them, the person and the
    reason, then an anchor from the first of them on. The review itself stays in the log."""
    warehouse = warehouse_file(con)
    anchors = read_anchors(anchor_path(warehouse)) if warehouse else []
    rows = read(con)
    gaps = unvouched(len(rows), anchors)
    if not gaps:
        raise NothingToAcknowledge("every entry is vouched for by an anchor: nothing to do")
    last = gaps[-1][1]
    if through != last:
        listed = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in gaps)
        raise NothingToAcknowledge(
            f"the entries no anchor vouches for are {listed}: review them all and acknowledge "
            f"through {last}"
        )
    first = gaps[0][0]
    con.execute("BEGIN TRANSACTION")
    since = next_seq(con)
    append(
        con,
        [
            {
                "kind": "audit_acknowledged",
                "subject": f"entries {first}-{through}",
                "actor": actor,
                "detail": {"reason": reason, "entries": [list(g) for g in gaps]},
            }
        ],
    )
    con.execute("COMMIT")
    anchor(con, first)
    return f"acknowledged entries {first}-{through} (entry {since}): {reason}"
