"""Planted file damage shared by every system: a damaged copy of a file's bytes.

Damaged copies are always *extra* files (a failed export that was retried), so the ground truth
never depends on what a malformed file would have held. The mess of one system's rows lives
with that system's writer (synthetic/historian.py, lims.py, custody.py …).
"""

from __future__ import annotations


def truncate(data: bytes, fraction: float = 0.55) -> bytes:
    """The first part of a file, cut in the middle of a line (an export that died)."""
    cut = int(len(data) * fraction)
    while cut < len(data) and data[cut - 1 : cut] in (b"\n", b"\r", b'"', b","):
        cut += 1
    return data[:cut]
