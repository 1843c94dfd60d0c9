"""Where to ship lineage: the OpenLineage HTTP backend a site configured, if any.

Read the way OpenLineage clients read it: `OPENLINEAGE_URL` (with `OPENLINEAGE_ENDPOINT`,
default `api/v1/lineage`) wins; otherwise an `openlineage.yml` with an `http` transport, found
at `OPENLINEAGE_CONFIG`, then `$BIOTWIN_HOME/openlineage.yml`, then `./openlineage.yml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

DEFAULT_ENDPOINT = "api/v1/lineage"


def _join(url: str, endpoint: str | None) -> str:
    return url.rstrip("/") + "/" + (endpoint or DEFAULT_ENDPOINT).lstrip("/")


def endpoint_from_yaml(text: str, source: str) -> str | None:
    """The POST URL of an `openlineage.yml`; ValueError naming the file when it is unusable."""
    doc = yaml.safe_load(text) or {}
    transport = doc.get("transport") if isinstance(doc, dict) else None
    if not transport:
        return None
    if transport.get("type") != "http" or not transport.get("url"):
        raise ValueError(f"{source}: transport must be type http with a url (found {transport})")
    return _join(str(transport["url"]), transport.get("endpoint"))


def config_candidates(env: Mapping[str, str], home: Path) -> list[Path]:
    explicit = env.get("OPENLINEAGE_CONFIG")
    if explicit:
        return [Path(explicit)]
    return [home / "openlineage.yml", Path("openlineage.yml")]


def lineage_endpoint(env: Mapping[str, str], home: Path, url: str | None = None) -> str | None:
    """The backend's POST URL, or None when no backend is configured."""
    url = url or env.get("OPENLINEAGE_URL")
    if url:
        return _join(url, env.get("OPENLINEAGE_ENDPOINT"))
    for path in config_candidates(env, home):
        if path.is_file():
            return endpoint_from_yaml(path.read_text(encoding="utf-8"), str(path))
    return None
