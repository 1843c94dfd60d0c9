"""Timestamps and numbers as sites write them (assets/ingest/formats.py), without Dagster."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.ingest.formats import SiteFormat, normalise_numbers, parse_times, site_format_from_row

LABWARE_US = SiteFormat(datetime_formats=("%d-%b-%Y %H:%M:%S", "%m/%d/%Y %I:%M %p"))


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-10-01T06:12:00+02:00", "2026-10-01 04:12:00+00:00"),
        ("2026-10-01T06:12:00Z", "2026-10-01 06:12:00+00:00"),
        ("2026-10-01 06:12:00.250-04:00", "2026-10-01 10:12:00.250+00:00"),
        ("2026-10-01T06:12:00+0530", "2026-10-01 00:42:00+00:00"),
    ],
)
def test_an_offset_gives_the_instant(text: str, utc: str) -> None:
    parsed = parse_times(pd.Series([text]))
    assert parsed.ok.all() and parsed.local.isna().all()
    assert parsed.utc.iloc[0] == pd.Timestamp(utc)


@pytest.mark.parametrize(
    ("text", "local", "site_format"),
    [
        ("2026-10-01 06:12", "2026-10-01 06:12:00", SiteFormat()),
        ("2026-10-01T06:12:00.5", "2026-10-01 06:12:00.5", SiteFormat()),
        ("01-OCT-2026 06:12:00", "2026-10-01 06:12:00", LABWARE_US),
        ("10/01/2026 6:12 PM", "2026-10-01 18:12:00", LABWARE_US),
        ("01.10.2026 06:12", "2026-10-01 06:12:00", SiteFormat(("%d.%m.%Y %H:%M",))),
    ],
)
def test_no_offset_gives_the_site_wall_clock(text: str, local: str, site_format) -> None:
    parsed = parse_times(pd.Series([text]), site_format)
    assert parsed.ok.all() and parsed.utc.isna().all()
    assert parsed.local.iloc[0] == pd.Timestamp(local)


def test_a_time_in_no_declared_format_is_not_ok_and_empty_is() -> None:
    parsed = parse_times(pd.Series(["01-OCT-2026 06:12:00", "2026-13-01 00:00", "", None]))
    assert parsed.ok.tolist() == [False, False, True, True]
    assert "ISO 8601, %d-%b-%Y %H:%M:%S" in LABWARE_US.tried()


def test_a_decimal_comma_becomes_a_point_only_where_the_site_writes_one() -> None:
    text = pd.Series(["12,5", "-0,25", "1,5E3", "<0,50", "1.5", ""])
    comma = SiteFormat(decimal_separator=",")
    assert normalise_numbers(text, comma).tolist() == ["12.5", "-0.25", "1.5E3", "<0,50", "1.5", ""]
    assert normalise_numbers(text).tolist() == text.tolist()


def test_a_reference_row_becomes_a_site_format() -> None:
    row = {
        "datetime_formats": "%d-%b-%Y %H:%M:%S | %m/%d/%Y %I:%M %p",
        "decimal_separator": ",",
        "field_separator": "tab",
    }
    assert site_format_from_row(row) == SiteFormat(
        ("%d-%b-%Y %H:%M:%S", "%m/%d/%Y %I:%M %p"), ",", "\t"
    )
    assert site_format_from_row({}) == SiteFormat()
