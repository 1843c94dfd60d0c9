"""The landing zone as a list of files: system, site, path, size and sha256 (no Dagster here).

A file is identified by the sha256 of its bytes, not by its name (docs/formats.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SYSTEMS = ("historian", "mes", "lims", "instruments", "custody")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    system: str
    site_id: str
    path: Path  # absolute
    relative_path: str  # inside the landing root, POSIX separators
    size: int
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def inventory(landing_root: Path) -> list[LandingFile]:
    """Every regular file under `landing/<system>/<site>/`, sorted by path."""
    files = []
    for system in SYSTEMS:
        system_dir = landing_root / system
        if not system_dir.is_dir():
            continue
        for path in sorted(p for p in system_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(landing_root)
            files.append(
                LandingFile(
                    system, rel.parts[1], path, rel.as_posix(), path.stat().st_size, sha256_of(path)
                )
            )
    return files


def summarise(files: list[LandingFile]) -> dict[str, dict[str, int]]:
    """Files per system and site, plus distinct contents (same bytes = one content)."""
    out: dict[str, dict[str, int]] = {}
    for f in files:
        out.setdefault(f.system, {}).setdefault(f.site_id, 0)
        out[f.system][f.site_id] += 1
    return out
