"""`biotwin run --select`: asset keys, a definition's name, and a clear refusal otherwise."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from orchestration.cli import UnknownSelection, selected_keys
from orchestration.definitions import defs


def test_a_definition_name_selects_every_asset_it_writes_and_a_key_selects_itself() -> None:
    keys = selected_keys(defs, ["dbt_models", "raw/historian"])
    assert AssetKey(["raw", "historian"]) in keys
    assert AssetKey(["marts", "fct_process_timeseries"]) in keys
    assert AssetKey(["twin", "outcome_forecast"]) not in keys
    assert selected_keys(defs, ["marts/dim_batch"]) == [AssetKey(["marts", "dim_batch"])]


def test_an_unknown_name_is_refused_naming_it_and_what_exists() -> None:
    with pytest.raises(UnknownSelection) as refused:
        selected_keys(defs, ["marts/dim_batch", "dbt_model"])
    message = str(refused.value)
    assert "dbt_model;" in message and "dbt_models" in message and "marts/dim_batch" in message
