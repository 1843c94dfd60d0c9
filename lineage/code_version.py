"""The code version a run used: the git commit when the project is a checkout, else the
installed package version. Recorded in the audit log (and, later, in lineage events)."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from biotwin.settings import PROJECT_ROOT


@cache
def code_version() -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],  # noqa: S607 - git on PATH
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return f"git:{done.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        return f"biotwin=={version('biotwin')}"
    except PackageNotFoundError:
        return "unknown"
