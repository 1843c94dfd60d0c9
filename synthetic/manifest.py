"""What the generator records beside the files it writes: every planted mess item, with its
place, for the tests and the docs that check the pipeline found it (manifest.json, "mess").
Shared by every system's writer, with the two helpers they all use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


@dataclass
class Manifest:
    out: Path
    items: list[dict] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, kind: str, system: str, site_id: str, path: Path | None, **detail) -> None:
        self.counters[kind] += 1
        self.items.append(
            {
                "id": f"{kind}-{self.counters[kind]}",
                "kind": kind,
                "system": system,
                "site_id": site_id,
                "path": self.rel(path) if path else None,
                "detail": detail,
            }
        )

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()


def purpose_rng(seed: int, purpose: str) -> np.random.Generator:
    """A random stream of its own per purpose (a site's LIMS mess, its custody mess …): one
    system's choices never shift another's."""
    return np.random.default_rng(np.random.SeedSequence([seed, 4242, *purpose.encode()]))


def iso_utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
