"""Run the suite twice — in file order, then shuffled with another hash seed — and compare.

    python -m tests.determinism [--seed N] [pytest args…]      (make test-repeat)

A test whose outcome depends on the order tests run in, on Python's string hashing (set and
dict order of str keys), on the machine's time zone, or on chance shows up as a test that
passed in one run and not in the other. The second run shuffles every test across the whole
session (pytest-random-order, bucket `global`) and uses PYTHONHASHSEED=N and TZ=Pacific/Chatham
(UTC+13:45, a DST zone far from every site); the first keeps the file order, PYTHONHASHSEED=0
and the machine's own time zone. Exit 0 only when both runs are green and agree test by test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from biotwin.settings import PROJECT_ROOT

SHUFFLED_TZ = "Pacific/Chatham"


def outcomes(junit: Path) -> dict[str, str]:
    """Test id -> passed / failed / error / skipped, from a pytest junit XML report."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out[test] = kinds[0] if kinds else "passed"
    return out


def differences(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """One line per test that did not pass in both runs alike (missing counts as a difference)."""
    lines = []
    for test in sorted(set(first) | set(second)):
        a, b = first.get(test, "missing"), second.get(test, "missing")
        if a != b or a in ("failure", "error"):
            lines.append(f"{test}: in order {a}, shuffled {b}")
    return lines


def run(junit: Path, variables: dict[str, str], extra: list[str]) -> int:
    env = {**os.environ, **variables}
    cmd = [sys.executable, "-m", "pytest", f"--junitxml={junit}", *extra]
    shown = " ".join(f"{k}={v}" for k, v in variables.items())
    print(f"$ {shown} {' '.join(cmd[1:])}", flush=True)
    return subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261201, help="shuffle and hash seed")
    args, extra = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="biotwin-determinism-") as tmp:
        first, second = Path(tmp) / "in_order.xml", Path(tmp) / "shuffled.xml"
        run(first, {"PYTHONHASHSEED": "0"}, extra)
        shuffle = ["--random-order-bucket=global", f"--random-order-seed={args.seed}"]
        run(second, {"PYTHONHASHSEED": str(args.seed), "TZ": SHUFFLED_TZ}, [*shuffle, *extra])
        if not (first.exists() and second.exists()):
            print("determinism: a run ended before pytest wrote its report", file=sys.stderr)
            return 2
        a, b = outcomes(first), outcomes(second)
    lines = differences(a, b)
    if lines:
        print(f"determinism: {len(lines)} test(s) not green in both runs alike:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in lines), file=sys.stderr)
        print(
            f"re-run the shuffled order with: PYTHONHASHSEED={args.seed} TZ={SHUFFLED_TZ} "
            ".venv/bin/pytest "
            f"--random-order-bucket=global --random-order-seed={args.seed}",
            file=sys.stderr,
        )
        return 1
    print(
        f"determinism: {len(a)} tests, the same outcome in file order and shuffled (seed "
        f"{args.seed})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
