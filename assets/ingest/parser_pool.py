"""Worker processes of the instrument parser: allotropy runs in its own locked environment.

allotropy since 0.1.135 caps jsonschema below 4.18, dbt-core 1.11 needs 4.19.1 or later, and
forcing the newer jsonschema on allotropy breaks its schema validation (measured: the QIAcuity
dPCR example fails "Unresolvable JSON pointer" with each one tried: 4.19.2, 4.21.1, 4.23.0,
4.25.1 and 4.26.0). So
allotropy lives in `.parser-venv` (instrument_parser/pyproject.toml and its uv.lock, installed
by `make install`) and is called as `instrument_parser/worker.py`: one long-lived process per
thread that parses, answering one JSON line per file (protocol in the worker's docstring).

A parse takes an idle worker or starts one (allotropy's import, about 2 s, is the start-up
cost) and gives it back when the file is done: parsing on N threads keeps N workers busy, both
cores working while the ingesting process waits on pipes, and the workers stay for the
process's next run (a run of a test suite or a notebook pays the start once, not per run);
they stop with the process (or `close()`). A worker that dies on a
file is restarted and the file tried once more; a second death refuses the file
(`parser:crash`). A parser environment that is missing or cannot start is not the file's fault:
`ParserUnavailable` (an OSError, so ingestion stops with the reason and leaves the files for
the next run instead of quarantining them).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "instrument_parser" / "worker.py"
DEFAULT_PYTHON = ROOT / ".parser-venv" / "bin" / "python"
START_TIMEOUT_S = 120.0


class ParserUnavailable(OSError):
    """The parser's environment is missing or its worker cannot start."""


class ParserCrashed(RuntimeError):
    """A worker died while parsing a file."""


def parser_python() -> Path:
    """The parser environment's interpreter (BIOTWIN_PARSER_PYTHON, else .parser-venv)."""
    return Path(os.environ.get("BIOTWIN_PARSER_PYTHON") or DEFAULT_PYTHON)


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        python = parser_python()
        if not python.exists():
            raise ParserUnavailable(
                f"the instrument parser's environment is not installed ({python} is missing): "
                "run `make install`"
            )
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._process = subprocess.Popen(  # noqa: S603 (our interpreter, our script)
            [str(python), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        hello = self._process.stdout.readline()
        if not hello:
            raise ParserUnavailable(
                f"the instrument parser ({python} {WORKER.name}) did not start: "
                f"{self._stderr_tail()} (reinstall it with `make install`)"
            )
        self.allotropy = json.loads(hello)["allotropy"]
        self.closed = False

    def _stderr_tail(self) -> str:
        self._process.wait(timeout=START_TIMEOUT_S)
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self._process.returncode}"

    def parse(self, request: dict) -> dict:
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            reply = self._process.stdout.readline()
        except (BrokenPipeError, OSError) as exc:
            raise ParserCrashed(f"the parser worker died: {exc}") from exc
        if not reply:
            self._process.wait()
            raise ParserCrashed(f"the parser worker died (exit code {self._process.returncode})")
        return json.loads(reply)

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        self.closed = True
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._stderr.close()


_idle: list[_Worker] = []
_lock = threading.Lock()


def _acquire() -> _Worker:
    with _lock:
        while _idle:
            worker = _idle.pop()
            if not worker.closed and worker.alive():
                return worker
    return _Worker()


def _release(worker: _Worker) -> None:
    with _lock:
        _idle.append(worker)


def parse_file(path: Path, vendor: str, timezone: str) -> tuple[dict, str]:
    """The worker's reply for one file (see instrument_parser/worker.py) and the allotropy
    version that parsed it. A worker that dies is replaced and the file tried once more; a
    second death is the file's: {"ok": False, "check": "parser:crash"}."""
    request = {"path": str(path), "vendor": vendor, "timezone": timezone}
    for attempt in (1, 2):
        worker = _acquire()
        try:
            reply = worker.parse(request)
        except ParserCrashed as exc:
            worker.close()
            if attempt == 2:
                return {"ok": False, "check": "parser:crash", "reason": f"{exc}, twice"}, ""
            continue
        _release(worker)
        return reply, worker.allotropy
    raise AssertionError("unreachable")


def close() -> None:
    """Stop the idle workers (at exit; a later parse starts new ones)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.close()


atexit.register(close)
