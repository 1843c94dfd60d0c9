"""Bounds an instrument file cannot get past before a parser sees it.

allotropy reads a whole export into memory, and an `.xlsx` is a zip archive whose parts
expand when opened: a small file can hold gigabytes of sheet XML (a "zip bomb") and take the
machine with it. So an instrument file is checked on its bytes first: its size, and, for a
zip container, the sizes its members declare (Python's zipfile, which openpyxl uses, never
expands a member past its declared size). A file beyond a bound is quarantined naming the bound;
nothing is parsed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from assets.contracts.base import FileRejected

# an instrument export is kilobytes to a few megabytes; a plate reader's xlsx tens of MB
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_EXPANDED_BYTES = 512 * 1024 * 1024  # all members of a zip container, once expanded
MAX_RATIO = 200  # expanded / compressed per member; real xlsx parts are 5-20x


def check_instrument_file(
    path: Path,
    max_bytes: int = MAX_FILE_BYTES,
    max_expanded: int = MAX_EXPANDED_BYTES,
    max_ratio: float = MAX_RATIO,
) -> None:
    """Raise FileRejected if the file, or what its zip members expand to, is beyond a bound."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRejected(
            "file:size", f"the file is {size:,} bytes, larger than the {max_bytes:,} bytes allowed"
        )
    if not zipfile.is_zipfile(path):
        return  # not a (readable) zip: a cut xlsx fails in the parser and is quarantined there
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected("file:archive", f"the zip container cannot be read: {exc}") from exc
    expanded = sum(m.file_size for m in members)
    if expanded > max_expanded:
        raise FileRejected(
            "file:archive",
            f"its zip members expand to {expanded:,} bytes, more than the "
            f"{max_expanded:,} bytes allowed",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > max_ratio:
            raise FileRejected(
                "file:archive",
                f"zip member {member.filename!r} expands {ratio:,.0f} times "
                f"({member.compress_size:,} to {member.file_size:,} bytes), more than the "
                f"{max_ratio:,.0f} times allowed (a zip bomb)",
            )
