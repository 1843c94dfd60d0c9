"""`biotwin-dbt`: dbt, bound to the life of the process that started it.

A run's Python process starts `dbt build` as a child. If that process is killed (SIGKILL, out
of memory), Linux re-parents the child to init and dbt goes on writing the warehouse with
nobody to read its results. This launcher asks the kernel to send dbt SIGTERM the moment its
parent dies (`prctl(PR_SET_PDEATHSIG)`, kept across `exec`), then becomes the real dbt beside
this interpreter. If the parent died before the request took effect (dbt's parent is then
init), it exits instead of building; the parent sets nothing for this. Where prctl does not
exist (not Linux), dbt runs as before and the next run's recovery stops an orphan
(orchestration/recovery.py). Only the standard library, so it starts in milliseconds.

`biotwin-dbt --version` answers from the installed packages' metadata instead of starting dbt:
dagster-dbt asks for the version before every dbt command, and dbt's own answer imports all of
dbt (about 3 s) and looks up the latest release on the internet, which a plant network may
not allow.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def bind_to_parent() -> bool:
    """Ask for SIGTERM when the parent dies; False where the kernel has no such request."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def installed_versions() -> str:
    """What `dbt --version` says about the installed packages, in its layout (dagster-dbt
    reads the first version number), without importing dbt or asking the internet."""
    from importlib.metadata import PackageNotFoundError, version

    lines = ["Core:", f"  - installed: {version('dbt-core')}", "", "Plugins:"]
    for plugin in ("dbt-duckdb", "dbt-postgres", "dbt-spark"):
        try:
            lines.append(f"  - {plugin.removeprefix('dbt-')}: {version(plugin)}")
        except PackageNotFoundError:
            continue
    return "\n".join(lines) + "\n"


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(installed_versions())
        return
    parent = os.getppid()
    bound = bind_to_parent()
    if bound and (parent == 1 or os.getppid() != parent):
        # the parent died before the request took effect (dbt was re-parented to init or a
        # subreaper): nobody can read what dbt would do, so nothing is done
        sys.stderr.write("biotwin-dbt: the process that started dbt is gone; not building\n")
        sys.exit(143)
    dbt = str(Path(sys.executable).with_name("dbt"))
    os.execv(dbt, [dbt, *sys.argv[1:]])  # noqa: S606 - the venv's own dbt, no shell


if __name__ == "__main__":
    main()
