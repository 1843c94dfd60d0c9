"""Which backend lineage is shipped to: OPENLINEAGE_URL, else openlineage.yml, else none."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.backend import lineage_endpoint


def test_url_from_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "openlineage.yml").write_text("transport: {type: http, url: http://yml:1}\n")
    env = {"OPENLINEAGE_URL": "http://marquez:5000/"}
    assert lineage_endpoint(env, tmp_path) == "http://marquez:5000/api/v1/lineage"
    env["OPENLINEAGE_ENDPOINT"] = "/custom/lineage"
    assert lineage_endpoint(env, tmp_path) == "http://marquez:5000/custom/lineage"
    assert lineage_endpoint(env, tmp_path, "http://cli:1") == "http://cli:1/custom/lineage"


def test_openlineage_yml_under_biotwin_home_or_named_by_openlineage_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "openlineage.yml").write_text("transport: {type: http, url: 'http://yml:1'}\n")
    assert lineage_endpoint({}, tmp_path) == "http://yml:1/api/v1/lineage"
    other = tmp_path / "other.yml"
    other.write_text("transport:\n  type: http\n  url: http://o:2\n  endpoint: v2/events\n")
    assert lineage_endpoint({"OPENLINEAGE_CONFIG": str(other)}, tmp_path) == "http://o:2/v2/events"


def test_no_backend_and_an_unusable_config(tmp_path: Path) -> None:
    assert lineage_endpoint({}, tmp_path / "nowhere") is None
    bad = tmp_path / "openlineage.yml"
    bad.write_text("transport: {type: kafka, topic: lineage}\n")
    with pytest.raises(ValueError, match=r"openlineage\.yml: transport must be type http"):
        lineage_endpoint({}, tmp_path)
