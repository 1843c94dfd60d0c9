"""Shared fixtures: one generated plant per test session (12 batches, seed 7, default period)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthetic.generate import DEFAULT_START, generate

PLANT_BATCHES = 12
PLANT_SEED = 7
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def plant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plant")
    generate(out, PLANT_BATCHES, PLANT_SEED, DEFAULT_START)
    return out


@pytest.fixture(scope="session")
def manifest(plant_dir: Path) -> dict:
    return json.loads((plant_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"../shared is missing (looked for {SHARED}): instrument examples and "
            "OpenLineage schemas live there"
        )
    return SHARED
