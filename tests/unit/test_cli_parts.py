"""The CLI's pure parts: `biotwin run --select` (asset keys, a definition's name, a clear
refusal otherwise) and the Dagster instance's configuration."""

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


def test_the_instance_config_names_the_postgres_variable_and_never_a_password() -> None:
    from orchestration.cli import instance_config

    sqlite = instance_config({})
    assert "storage:" not in sqlite and "pools:" in sqlite
    url = "postgresql+psycopg2://biotwin_writer:s3cret@127.0.0.1:55432/dagster"
    postgres = instance_config({"BIOTWIN_DAGSTER_POSTGRES_URL": url})
    assert postgres.startswith(sqlite)
    assert "env: BIOTWIN_DAGSTER_POSTGRES_URL" in postgres and "s3cret" not in postgres
