"""The lineage outbox against a real local HTTP server that refuses the first deliveries."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from lineage import events
from lineage.outbox import Outbox, event_key, ship


class _Backend(BaseHTTPRequestHandler):
    refuse_first = 3
    received: ClassVar[list[dict]] = []
    calls = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls += 1
        if type(self).calls <= type(self).refuse_first:
            self.send_response(503)
        else:
            type(self).received.append(body)
            self.send_response(201)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def backend():
    _Backend.received, _Backend.calls, _Backend.refuse_first = [], 0, 3
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/lineage"
    server.shutdown()


def _events(n: int) -> list[dict]:
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        run = events.run_id("dagster-run", f"job{i}")
        for state in ("START", "COMPLETE"):
            out.append(events.to_dict(events.run_event(state, at, run, "biotwin", f"job{i}")))
    return out


def test_nothing_is_lost_and_nothing_is_delivered_twice(backend: str, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "lineage")
    for event in _events(3):
        assert outbox.append(event)
    assert not outbox.append(_events(3)[0])  # a replayed event is not stored again

    # the backend refuses 3 times: with 2 attempts per event, shipping stops and keeps the rest
    first = ship(outbox, backend, retries=2, backoff_s=0.001)
    assert first.delivered == 0 and first.pending == 6 and first.last_error == "HTTP 503"
    second = ship(outbox, backend, retries=3, backoff_s=0.001)
    assert second.delivered == 6 and second.pending == 0
    assert ship(outbox, backend).delivered == 0  # nothing left to send

    keys = [event_key(e) for e in _Backend.received]
    assert len(keys) == len(set(keys)) == 6
    assert set(keys) == {event_key(e) for e in _events(3)}


def test_a_backend_that_is_down_keeps_everything_pending(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "lineage")
    for event in _events(1):
        outbox.append(event)
    result = ship(outbox, "http://127.0.0.1:9/api/v1/lineage", retries=2, backoff_s=0.001)
    assert result.delivered == 0 and result.pending == 2 and result.last_error
    assert len(outbox.pending()) == 2


def test_biotwin_lineage_ship_delivers_the_outbox(backend: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _Backend.refuse_first = 0
    home = tmp_path / "home"
    outbox = Outbox(home / "lineage")
    for event in _events(2):
        outbox.append(event)
    base = backend.removesuffix("/api/v1/lineage")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("biotwin")), "lineage", "ship"],
        env={**os.environ, "BIOTWIN_HOME": str(home), "OPENLINEAGE_URL": base},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "delivered 4, pending 0" in done.stdout
    assert len(_Backend.received) == 4


def test_the_ship_job_reads_openlineage_yml_and_loses_nothing_while_the_backend_refuses(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    from assets.resources import PlantPaths
    from orchestration.definitions import defs

    schedule = next(s for s in defs.schedules if s.name == "lineage_ship_every_15_min")
    assert schedule.job_name == "lineage_ship"
    config = tmp_path / "openlineage.yml"
    base = backend.removesuffix("/api/v1/lineage")
    config.write_text(f"transport:\n  type: http\n  url: {base}\n  endpoint: api/v1/lineage\n")
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    outbox = Outbox(tmp_path / "lineage")
    outbox.append(*_events(2))
    _Backend.refuse_first = 1000  # down

    def run():
        return defs.resolve_job_def("lineage_ship").execute_in_process(
            instance=DagsterInstance.ephemeral(),
            resources={"paths": PlantPaths(lineage=str(outbox.folder))},
            run_config={"ops": {"ship_lineage_events": {"config": {"backoff_s": 0.001}}}},
            raise_on_error=False,
        )

    assert not run().success
    assert len(outbox.pending()) == 4 and _Backend.received == []
    _Backend.refuse_first = 0  # back up
    assert run().success
    assert outbox.pending() == [] and len(_Backend.received) == 4
    assert run().success and len(_Backend.received) == 4  # nothing shipped twice


def test_the_ship_job_without_a_backend_keeps_everything_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    from assets.resources import PlantPaths
    from orchestration.definitions import defs

    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BIOTWIN_HOME", str(tmp_path / "home"))  # no openlineage.yml there
    monkeypatch.chdir(tmp_path)  # nor in the working directory
    outbox = Outbox(tmp_path / "lineage")
    outbox.append(*_events(1))
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("lineage_ship").execute_in_process(
        instance=instance, resources={"paths": PlantPaths(lineage=str(outbox.folder))}
    )
    assert result.success
    assert len(outbox.pending()) == 2
    logged = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("no lineage backend configured; 2 events kept" in m for m in logged)


class _RawBackend:
    """A TCP server on 127.0.0.1 that answers every connection with `reply(conn)`: for the
    backends a real network has (one that trickles bytes, one that is not HTTP at all)."""

    def __init__(self, reply) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.reply = reply
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/v1/lineage"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        try:
            conn.recv(65536)
            self.reply(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def _trickle(conn, stop) -> None:
    for byte in b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n":
        if stop.wait(0.5):
            return
        conn.sendall(bytes([byte]))


def _garbage(conn, stop) -> None:
    conn.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")


def test_a_backend_that_trickles_bytes_cannot_hold_the_shipper(tmp_path: Path) -> None:
    import time

    from lineage import outbox as module

    server = _RawBackend(_trickle)
    outbox = Outbox(tmp_path / "lineage")
    outbox.append(*_events(1))
    try:
        started = time.monotonic()
        result = ship(
            outbox,
            server.url,
            retries=2,
            backoff_s=0.01,
            post=lambda url, event: module.post_json(url, event, deadline_s=1.0),
        )
        took = time.monotonic() - started
    finally:
        server.close()
    # two attempts of at most 1 s each (the full answer would take 23 s)
    assert took < 4.0, took
    assert result.delivered == 0 and result.pending == 2
    assert "TimeoutError" in result.last_error and len(outbox.pending()) == 2


def test_a_backend_that_is_not_http_leaves_events_pending_without_a_crash(tmp_path: Path) -> None:
    server = _RawBackend(_garbage)
    outbox = Outbox(tmp_path / "lineage")
    outbox.append(*_events(1))
    try:
        result = ship(outbox, server.url, retries=2, backoff_s=0.01)
    finally:
        server.close()
    assert result.delivered == 0 and result.pending == 2
    assert "BadStatusLine" in result.last_error or "HTTPException" in result.last_error


def test_two_shippers_at_once_deliver_each_event_once(backend: str, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from lineage.outbox import ShipperBusy

    _Backend.refuse_first = 0
    outbox = Outbox(tmp_path / "lineage")
    outbox.append(*_events(20))

    def one() -> str:
        try:
            return ship(outbox, backend, retries=2, backoff_s=0.01).summary()
        except ShipperBusy as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: one(), range(2)))
    # one delivered everything; the other found the lock taken (or, started after the first
    # finished, nothing pending): without the lock both would send all 40
    assert sum(a.startswith("delivered 40") for a in answers) == 1, answers
    keys = [event_key(e) for e in _Backend.received]
    assert len(keys) == len(set(keys)) == 40
    assert outbox.pending() == []
