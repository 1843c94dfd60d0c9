"""The lineage outbox: every OpenLineage event is first appended to a local file, then shipped
to an HTTP backend when one is configured. A backend that is down loses nothing: an event
stays pending until a delivery succeeds. Events are keyed by (runId, eventType, job): run ids
are deterministic, so re-emitting or replaying a run adds nothing and ships nothing twice.

Files under the outbox folder (append-only JSON lines): `events.jsonl` (the events) and
`delivered.jsonl` (keys delivered, with the time and the backend).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
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


def post_json(url: str, payload: Mapping[str, Any], timeout: float = 10.0) -> int:
    """POST one event; returns the HTTP status (urllib raises on 4xx/5xx: caught here)."""
    request = urllib.request.Request(  # noqa: S310 - the configured backend URL
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


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
    """Deliver pending events in order. Each event gets `retries` attempts with exponential
    back-off; when one still fails, shipping stops (order kept) and the rest stay pending."""
    delivered, attempts, error = 0, 0, None
    pending = outbox.pending()
    for index, event in enumerate(pending):
        for attempt in range(retries):
            attempts += 1
            try:
                status = post(endpoint, event)
            except OSError as exc:  # connection refused, timeout: the backend is down
                status, error = 0, str(exc)
            if 200 <= status < 300:
                outbox.mark_delivered(event, endpoint)
                delivered += 1
                break
            error = error if status == 0 else f"HTTP {status}"
            sleep(backoff_s * 2**attempt)
        else:
            return ShipResult(delivered, len(pending) - index, attempts, error)
    return ShipResult(delivered, 0, attempts, None)
