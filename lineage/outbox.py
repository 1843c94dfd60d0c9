"""The lineage outbox: every OpenLineage event is first appended to a local file, then shipped
to an HTTP backend when one is configured. A backend that is down loses nothing: an event
stays pending until a delivery succeeds. Events are keyed by (runId, eventType, job): run ids
are deterministic, so re-emitting or replaying a run adds nothing to the outbox.

Delivery is at least once, with a stable identity: an event is marked delivered only after
the backend acknowledged it, so a shipper killed between the acknowledgement and the mark sends
that event again, byte for byte the same (same runId, eventType, eventTime), which a backend
can recognise as a repeat. Nothing else is sent twice: one shipper at a time (a lock on the
outbox), each request has a total deadline (a backend that trickles bytes cannot hold it), and
any HTTP or protocol error counts as "not delivered" (docs/lineage.md).

Files under the outbox folder (append-only JSON lines): `events.jsonl` (the events) and
`delivered.jsonl` (keys delivered, with the time and the backend); `ship.lock` while shipping.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Key = tuple[str, str, str]


def event_key(event: Mapping[str, Any]) -> Key:
    job = event["job"]
    return (event["run"]["runId"], event["eventType"], f"{job['namespace']}/{job['name']}")


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _append_line(path: Path, record: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
        handle.flush()


@dataclass(frozen=True)
class Outbox:
    folder: Path

    @property
    def events_path(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def delivered_path(self) -> Path:
        return self.folder / "delivered.jsonl"

    def append(self, *events: Mapping[str, Any]) -> int:
        """Store events unless the same (run, type, job) is already stored; returns how many
        were new. The stored keys are read once per call, so pass a run's events together."""
        known = {event_key(e) for e in _lines(self.events_path)}
        added = 0
        for event in events:
            key = event_key(event)
            if key not in known:
                _append_line(self.events_path, event)
                known.add(key)
                added += 1
        return added

    def pending(self) -> list[dict]:
        done = {tuple(d["key"]) for d in _lines(self.delivered_path)}
        return [e for e in _lines(self.events_path) if event_key(e) not in done]

    def mark_delivered(self, event: Mapping[str, Any], backend: str) -> None:
        _append_line(
            self.delivered_path,
            {"key": list(event_key(event)), "at": datetime.now(UTC).isoformat(), "to": backend},
        )


DEADLINE_S = 10.0  # the whole request: connect, send, status line, headers, body
DELIVERY_ERRORS = (OSError, http.client.HTTPException, ValueError)  # "not delivered"


def post_json(url: str, payload: Mapping[str, Any], deadline_s: float = DEADLINE_S) -> int:
    """POST one event; returns the HTTP status. The request as a whole must finish within
    `deadline_s`: a watchdog closes the socket when it is up, so a backend that sends one byte
    a second cannot keep it waiting (a socket timeout alone is per read)."""
    parts = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname or "", parts.port, timeout=deadline_s)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline_s, cut)
    watchdog.start()
    try:
        path = parts.path or "/"
        conn.request(
            "POST",
            path + (f"?{parts.query}" if parts.query else ""),
            body=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        if expired.is_set():
            raise TimeoutError(f"no complete answer within {deadline_s:g} s")
        return response.status
    except DELIVERY_ERRORS:
        if expired.is_set():
            raise TimeoutError(f"no complete answer within {deadline_s:g} s") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()


class ShipperBusy(RuntimeError):
    """Another shipper holds the outbox's lock."""


class _ShipLock:
    """An exclusive, non-blocking lock on the outbox (flock: released if the holder dies)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(folder / "ship.lock", os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> _ShipLock:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise ShipperBusy("another lineage shipper is running on this outbox") from None
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


@dataclass(frozen=True)
class ShipResult:
    delivered: int
    pending: int
    attempts: int
    last_error: str | None

    def summary(self) -> str:
        error = f", last error: {self.last_error}" if self.last_error else ""
        return (
            f"delivered {self.delivered}, pending {self.pending} ({self.attempts} attempts{error})"
        )


def ship(
    outbox: Outbox,
    endpoint: str,
    retries: int = 5,
    backoff_s: float = 0.5,
    post: Callable[[str, Mapping[str, Any]], int] = post_json,
    sleep: Callable[[float], None] = time.sleep,
) -> ShipResult:
    """Deliver pending events in order, one shipper at a time (ShipperBusy if another holds the
    outbox). Each event gets `retries` attempts with exponential back-off; when one still
    fails, shipping stops (order kept) and the rest stay pending."""
    with _ShipLock(outbox.folder):
        return _ship(outbox, endpoint, retries, backoff_s, post, sleep)


def _ship(
    outbox: Outbox,
    endpoint: str,
    retries: int,
    backoff_s: float,
    post: Callable[[str, Mapping[str, Any]], int],
    sleep: Callable[[float], None],
) -> ShipResult:
    delivered, attempts, error = 0, 0, None
    pending = outbox.pending()
    for index, event in enumerate(pending):
        for attempt in range(retries):
            attempts += 1
            try:
                status = post(endpoint, event)
            except DELIVERY_ERRORS as exc:  # refused, timed out, not HTTP: not delivered
                status, error = 0, f"{type(exc).__name__}: {exc}"
            if 200 <= status < 300:
                outbox.mark_delivered(event, endpoint)
                delivered += 1
                break
            error = error if status == 0 else f"HTTP {status}"
            sleep(backoff_s * 2**attempt)
        else:
            return ShipResult(delivered, len(pending) - index, attempts, error)
    return ShipResult(delivered, 0, attempts, None)
