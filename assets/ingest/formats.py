"""Timestamps and numbers as a site's systems really write them (docs/onboarding.md).

Every system accepts ISO 8601 — with or without an offset, `Z`, fractional seconds, `T` or a
space between date and time. A site declares anything else per system in
`reference/site_formats.csv`: strptime patterns (`%d-%b-%Y %H:%M:%S` for LabWare's
`01-OCT-2026 06:12:00`, `%m/%d/%Y %I:%M %p` for US `10/01/2026 6:12 AM`, `%d.%m.%Y %H:%M` …),
a decimal comma, a `;` or tab field separator. Pure functions: text in, parsed values out.

A time with an offset is an instant (UTC). A time without one is the wall clock of the site:
it is kept naive here and resolved with the site's zone in dbt, where the hour the clocks go
back is flagged (`dst_ambiguous`), never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

FIELD_SEPARATORS = {",": ",", ";": ";", "tab": "\t", "|": "|"}
ISO_8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
ISO_NAME = "ISO 8601"
DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$")


@dataclass(frozen=True)
class SiteFormat:
    """How one system of one site writes times and numbers; the default is ISO 8601, a decimal
    point and commas between fields."""

    datetime_formats: tuple[str, ...] = ()
    decimal_separator: str = "."
    field_separator: str = ","

    def tried(self) -> str:
        """The formats a time is tried against, for a quarantine reason."""
        return ", ".join((ISO_NAME, *self.datetime_formats))


DEFAULT = SiteFormat()


@dataclass(frozen=True)
class ParsedTimes:
    """One parsed column: `utc` where the text carries an offset, `local` (naive wall clock)
    where it carries none; `ok` is False where the text matches no format (empty is ok)."""

    utc: pd.Series
    local: pd.Series
    ok: pd.Series


def parse_times(text: pd.Series, site_format: SiteFormat = DEFAULT) -> ParsedTimes:
    """Parse a column of timestamps written in ISO 8601 or one of the site's formats."""
    values = text.fillna("").astype(str).str.strip()
    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    local = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    done = values.eq("")
    iso = values.str.match(ISO_8601) & ~done
    if iso.any():
        offset = values[iso].str.extract(ISO_8601)["offset"].notna()
        aware, naive = values[iso][offset], values[iso][~offset]
        utc[aware.index] = pd.to_datetime(aware, utc=True, errors="coerce", format="ISO8601")
        local[naive.index] = pd.to_datetime(naive, errors="coerce", format="ISO8601")
        done |= utc.notna() | local.notna()
    for pattern in site_format.datetime_formats:
        todo = values[~done]
        if todo.empty:
            break
        if "%z" in pattern or "%Z" in pattern:
            parsed = pd.to_datetime(todo, format=pattern, utc=True, errors="coerce")
            utc[parsed.index[parsed.notna()]] = parsed[parsed.notna()]
        else:
            parsed = pd.to_datetime(todo, format=pattern, errors="coerce")
            local[parsed.index[parsed.notna()]] = parsed[parsed.notna()]
        done |= parsed.reindex(values.index).notna()
    return ParsedTimes(utc=utc, local=local, ok=done)


def resolve_wall_clock(parsed: ParsedTimes, timezone: str | None) -> tuple[pd.Series, pd.Series]:
    """UTC instants of parsed times, and why one could not be had: a written offset is the
    instant; a wall-clock time is placed in the site's `timezone`, except in the hour the
    clocks go back (`dst_ambiguous`) or skip (`dst_nonexistent`), or without a zone
    (`unknown_site_timezone`). For systems whose times must be instants at ingestion (the
    batch record's phase windows); LIMS, custody and historian resolve in dbt instead."""
    utc = parsed.utc.copy()
    issue = pd.Series(None, index=utc.index, dtype=object)
    wall = parsed.local.notna()
    if not wall.any():
        return utc, issue
    if not timezone:
        issue[wall] = "unknown_site_timezone"
        return utc, issue
    local = parsed.local[wall]
    early = local.dt.tz_localize(timezone, ambiguous=True, nonexistent="NaT")
    late = local.dt.tz_localize(timezone, ambiguous=False, nonexistent="NaT")
    issue[wall & early.reindex(utc.index).isna()] = "dst_nonexistent"
    ambiguous = (early != late) & early.notna()
    issue[ambiguous.reindex(utc.index, fill_value=False)] = "dst_ambiguous"
    resolved = early.where(~ambiguous).dt.tz_convert("UTC")
    utc[local.index] = resolved
    return utc, issue


def normalise_numbers(text: pd.Series, site_format: SiteFormat = DEFAULT) -> pd.Series:
    """Numbers as written, with a decimal comma turned into a point where the site writes one
    (`12,5` → `12.5`); everything else unchanged, so the contract judges what is left."""
    if site_format.decimal_separator != ",":
        return text
    values = text.fillna("").astype(str)
    comma = values.str.strip().str.match(DECIMAL_COMMA)
    return values.where(~comma, values.str.strip().str.replace(",", ".", regex=False))


def site_format_from_row(row: dict[str, str]) -> SiteFormat:
    """A SiteFormat from one `site_formats.csv` row (empty cells keep the defaults)."""
    formats = tuple(f.strip() for f in (row.get("datetime_formats") or "").split("|") if f.strip())
    separator = (row.get("field_separator") or ",").strip() or ","
    return SiteFormat(
        datetime_formats=formats,
        decimal_separator=(row.get("decimal_separator") or ".").strip() or ".",
        field_separator=FIELD_SEPARATORS.get(separator, separator),
    )
