"""What is in a system's landing folder, and what of it must not be read: one listing for
ingestion and for the landing sensors, so that both see the same files.

A landing path is `landing/<system>/<site>/...`. Anything else — a file directly under the
system's folder, a hidden file, a symbolic link, a name with control characters, a path that
resolves outside the landing root, anything that is not a regular file — is refused with a
reason: ingestion records the refusal once in the ledger, and a sensor does not ask for a run
for it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandingEntry:
    path: Path
    relative: str  # from the landing root, `/`-separated: the ledger's source_path
    site: str  # "" when not inside a site folder
    refused: str | None  # why it must not be read, or None


def refusal(landing_root: Path, path: Path) -> str | None:
    """Why a landing path must not be read, or None. Symlinks are never followed."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in str(path.relative_to(landing_root))):
        return "file name contains control characters"
    if path.is_symlink():
        return "symbolic links are not read (the landing zone must hold the files themselves)"
    try:
        resolved = path.resolve(strict=True)
    except OSError as exc:
        return f"cannot resolve path: {exc.strerror}"
    if not resolved.is_relative_to(landing_root.resolve()):
        return "path resolves outside the landing root"
    if not path.is_file():
        return "not a regular file"
    if any(part.startswith(".") for part in path.relative_to(landing_root).parts):
        return "hidden file (its name or a folder's starts with a dot)"
    return None


def _entries(landing_root: Path, system: str) -> list[Path]:
    """Everything under landing/<system>/<site>/, without following symlinked folders."""
    base = landing_root / system
    if not base.is_dir():
        return []
    out = []
    for site_dir in sorted(base.iterdir()):
        if site_dir.is_symlink() or not site_dir.is_dir():
            out.append(site_dir)
            continue
        for path in sorted(site_dir.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            out.append(path)
    return out


def list_landing(landing_root: Path, system: str) -> list[LandingEntry]:
    """Every entry under landing/<system>/, in order, each with its refusal (or None)."""
    out = []
    for path in _entries(landing_root, system):
        parts = path.relative_to(landing_root).parts
        inside_site = len(parts) > 2
        out.append(
            LandingEntry(
                path=path,
                relative="/".join(parts),
                site=parts[1] if inside_site else "",
                refused=refusal(landing_root, path) if inside_site else "not inside a site folder",
            )
        )
    return out
