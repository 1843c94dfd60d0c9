"""Validate OpenLineage events against the official JSON schemas in ../shared/openlineage-spec
(where https://openlineage.io/spec/ points), each facet against its own `_schemaURL`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC = Path(__file__).resolve().parents[2] / "shared" / "openlineage-spec"
BASE = "https://openlineage.io/spec/"
MISSING = f"official OpenLineage schemas not found at {SPEC} (../shared is absent)"


@cache
def registry() -> Registry:
    resources = []
    for path in SPEC.rglob("*.json"):
        uri = BASE + path.relative_to(SPEC).as_posix()
        resources.append((uri, Resource.from_contents(json.loads(path.read_text()))))
    return Registry().with_resources(resources)


@cache
def _validator(schema_url: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": schema_url}, registry=registry())


def errors(instance: dict, schema_url: str) -> list[str]:
    return [e.message for e in _validator(schema_url).iter_errors(instance)]


def all_facets(event: dict) -> Iterator[tuple[str, dict]]:
    for name, facet in event["run"]["facets"].items():
        yield name, facet
    for name, facet in event["job"]["facets"].items():
        yield name, facet
    for dataset in event["inputs"] + event["outputs"]:
        yield from dataset["facets"].items()


def event_errors(event: dict) -> list[str]:
    """Every schema violation of the event and of each of its facets (empty: valid)."""
    found = [f"event: {m}" for m in errors(event, event["schemaURL"])]
    for name, facet in all_facets(event):
        found += [f"{name}: {m}" for m in errors(facet, facet["_schemaURL"])]
    return found
