"""A PI Web API value as the historian's raw table keeps it: the text the API wrote."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from assets.ingest.historian import _value_text


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers()))
def test_a_number_is_kept_as_json_writes_it(value: float) -> None:
    """The fast path for numbers writes exactly what json.dumps writes."""
    assert _value_text(value) == json.dumps(value)


def test_a_digital_state_is_kept_by_name_and_nothing_as_empty() -> None:
    assert _value_text({"Name": "Shutdown", "Value": 254, "IsSystem": True}) == "Shutdown"
    assert _value_text(None) == ""
    assert _value_text(True) == "True"  # not a number: a state the contract lets through
