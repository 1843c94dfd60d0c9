"""Readers during a run, as a plant has them: a scientist's `biotwin query` in a loop, a plain
read-only DuckDB client (a notebook, a BI tool) and a PostgreSQL client on the read-only role
while a full run writes and serves. Real processes, real files, a real server: no reader may
meet a lock or an error, and every read must see exactly one publication."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from biotwin.publication import publications
from biotwin.settings import PROJECT_ROOT
from synthetic.generate import generate

BIN = Path(sys.executable).parent
COUNTED = ("marts.fct_process_timeseries", "marts.fct_lab_result", "marts.dim_batch")
COUNTS_SQL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in COUNTED)

# a notebook's loop: the newest publication from the index, opened read-only, counted
PLAIN_READER = f"""
import json, sys, time, duckdb
folder, stop = sys.argv[1], float(sys.argv[2])
while time.time() < stop:
    entry = json.load(open(folder + "/index.json"))[-1]
    try:
        con = duckdb.connect(folder + "/" + entry["file"], read_only=True)
        print(json.dumps({{"counts": list(con.execute({COUNTS_SQL!r}).fetchone())}}), flush=True)
        con.close()
    except Exception as exc:
        print(json.dumps({{"error": f"{{type(exc).__name__}}: {{exc}}"}}), flush=True)
    time.sleep(0.2)
"""

pytestmark = pytest.mark.postgres  # make test-postgres (a real server, started for it)


def _run(home: Path, log: Path, served_to: str) -> subprocess.Popen:
    """A whole `biotwin run` serving to PostgreSQL at `served_to`, its output to `log` (a pipe
    nobody reads would stall it)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [str(BIN / "biotwin"), "run"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "BIOTWIN_HOME": str(home), "BIOTWIN_POSTGRES_WRITER_URL": served_to},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _query(home: Path, *options: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / "biotwin"), "query", "--csv", *options, COUNTS_SQL],
        cwd=PROJECT_ROOT,
        env={**os.environ, "BIOTWIN_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    return done


class ServedReader(threading.Thread):
    """A BI tool on the read-only role: the same counts, one statement (one snapshot) a time."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.seen, self.errors = url, [], []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as con:
            while not self.stop.is_set():
                try:
                    self.seen.append(tuple(con.execute(COUNTS_SQL).fetchone()))
                except psycopg.Error as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.2)


def _counts(csv: str) -> tuple[int, ...]:
    return tuple(int(v) for v in csv.strip().splitlines()[-1].split(","))


def test_readers_during_a_full_run_never_meet_a_lock_and_see_one_publication(
    tmp_path: Path, postgres: dict[str, str]
) -> None:
    home = tmp_path / "home"
    generate(home, 3, 11, fedbatch_batches=2)
    parked = tmp_path / "parked"  # the newest LIMS extracts arrive between the two runs
    late = [max(site.glob("*.csv")) for site in sorted((home / "landing" / "lims").iterdir())]
    for path in late:
        target = parked / path.relative_to(home)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    served_to = postgres["BIOTWIN_POSTGRES_WRITER_URL"]
    first = _run(home, tmp_path / "first.log", served_to)
    assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()
    for path in late:
        shutil.move(parked / path.relative_to(home), path)

    served = ServedReader(postgres["BIOTWIN_POSTGRES_READER_URL"])
    served.start()
    second = _run(home, tmp_path / "second.log", served_to)
    plain_log = tmp_path / "plain.jsonl"
    with plain_log.open("w") as out:
        plain = subprocess.Popen(
            [sys.executable, "-c", PLAIN_READER, str(home / "published"), str(time.time() + 3600)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    answers = []
    while second.poll() is None:
        answers.append(_query(home))
    answers.append(_query(home))  # and one after the run
    time.sleep(0.5)
    served.stop.set()
    served.join()
    plain.kill()
    plain.wait()
    text = plain_log.read_text()
    whole = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]  # killed mid-line
    plain_lines = [json.loads(line) for line in whole if line]
    assert second.returncode == 0, (tmp_path / "second.log").read_text()

    published = {tuple(p.tables[t] for t in COUNTED) for p in publications(home / "published")}
    assert len(published) == 2  # the late LIMS rows changed what the second run published
    assert len(answers) >= 3 and len(plain_lines) >= 10
    errors = [a.stderr for a in answers if a.returncode != 0]
    errors += [p for p in plain_lines if "error" in p] + served.errors
    assert errors == []
    seen = {_counts(a.stdout) for a in answers}
    seen |= {tuple(p["counts"]) for p in plain_lines}
    assert len(served.seen) >= 10 and set(served.seen) <= published  # PostgreSQL's readers too
    assert served.seen[-1] == tuple(publications(home / "published")[-1].tables[t] for t in COUNTED)
    assert seen <= published  # every read saw one publication's counts, never a mix
    assert len(seen) == 2  # both states were read: before the swap and after it

    # as of the first run: its publication's rows, although the second run changed them
    first_state, second_state = publications(home / "published")
    earlier = _query(home, "--as-of", first_state.run_id[:8])
    assert earlier.returncode == 0, earlier.stderr
    assert _counts(earlier.stdout) == tuple(first_state.tables[t] for t in COUNTED)
    assert _counts(earlier.stdout) != tuple(second_state.tables[t] for t in COUNTED)
    assert f"as of publication {first_state.seq}: run {first_state.run_id[:8]}" in earlier.stderr
