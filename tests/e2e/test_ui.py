"""The Dagster UI as a new user opens it: `biotwin ui` from a plain shell (no virtualenv
activated, no dbt on PATH), the real webserver and code location, asked through GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from biotwin.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent

LOCATION = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
ASSETS = """{ assetNodes { assetKey { path } description groupName kinds
  owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  assetChecksOrError { ... on AssetChecks { checks { name description } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _loaded(port: int, deadline: float) -> list[dict]:
    """The code location entries once none is loading any more."""
    while time.monotonic() < deadline:
        try:
            entries = _graphql(port, LOCATION)["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return entries
        except OSError:
            pass  # the webserver is not listening yet
        time.sleep(1)
    raise AssertionError("the code location did not load within the deadline")


def test_the_ui_loads_every_asset_with_owners_kinds_and_descriptions(tmp_path: Path) -> None:
    from orchestration.definitions import defs

    port, reports_port = _free_port(), _free_port()
    plot = tmp_path / "home" / "reports" / "twin" / "batch_monitoring" / "run-1" / "B-1.png"
    plot.parent.mkdir(parents=True)
    plot.write_bytes(b"\x89PNG\r\n\x1a\n a plot")
    plain = {  # a plain shell: the system's PATH only, nothing of the venv
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "BIOTWIN_HOME": str(tmp_path / "home"),
        "BIOTWIN_REPORTS_URL": f"http://127.0.0.1:{reports_port}",
        **{k: v for k, v in os.environ.items() if k.startswith(("SSL_", "LANG", "LC_"))},
    }
    ui = subprocess.Popen(
        [str(BIN / "biotwin"), "ui", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=plain,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # dagster dev starts a webserver, a daemon and a code server
    )
    try:
        entries = _loaded(port, time.monotonic() + 240)
        assert [e["locationOrLoadError"]["__typename"] for e in entries] == ["RepositoryLocation"]
        nodes = _graphql(port, ASSETS)["assetNodes"]
        # the twin's plots, which the asset pages show by URL, are served beside the UI
        url = f"http://127.0.0.1:{reports_port}/twin/batch_monitoring/run-1/B-1.png"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == plot.read_bytes()
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
    shown = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    defined = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    assert defined <= set(shown) and {"raw/file_ledger", "marts/dim_source_file"} <= defined
    for key in defined:
        node = shown[key]
        assert node["description"], key
        assert node["kinds"], key
        assert node["owners"] == [{"__typename": "TeamAssetOwner", "team": "biotwin-data"}], key
        assert node["groupName"] != "default", key
        for check in node["assetChecksOrError"].get("checks", []):
            assert check["description"], (key, check["name"])
    assert {"dbt", "duckdb"} <= set(shown["marts/dim_batch"]["kinds"])
    assert "pandera" in shown["raw/historian"]["kinds"]
    twin_checks = {
        c["name"] for c in shown["twin/outcome_forecast"]["assetChecksOrError"]["checks"]
    }
    assert twin_checks == {"beats_naive", "interval_coverage"}
