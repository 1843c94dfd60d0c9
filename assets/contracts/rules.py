"""A source's contract, declared once: per record type, its fields and their structural rules.

Everything else is derived from the one declaration, so it cannot drift:
- the pandera schema that checks records in pandas (`Contract.schema`);
- the SQL conditions that check records inside DuckDB (`Contract.sql_checks`);
- the check names quarantine records (`<column>:<check>`) and the lineage facet reports
  (`Contract.checks`).

A rule here is structural: a record that breaks it cannot be trusted and is quarantined with
its file, row and rule. Rules about values (unknown codes, implausible numbers) are never
declared here; they flow on and become dq issues.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandera.pandas as pa

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RuleKind = Literal["not_nullable", "not_blank", "min_length", "matches", "at_least", "parsed_time"]


def sql_text(text: str) -> str:
    """A Python string as the inside of a SQL string literal."""
    return text.replace("'", "''")


@dataclass(frozen=True)
class Rule:
    """One structural rule on one field. `arg` is the rule's parameter (a length, a regex, a
    bound); `parsed_time` is evaluated by the time parser (assets/ingest/formats.py and the
    historian's SQL typing), which writes `<field>__utc` and `<field>__local`."""

    kind: RuleKind
    arg: str | int | None = None

    @property
    def check(self) -> str:
        """The check's name, as quarantine records it after `<column>:`. The names of the
        rules pandera also knows are pandera's own, so quarantine rows keep one vocabulary."""
        if self.kind == "not_blank":
            return "not_empty"
        if self.kind == "parsed_time":
            return "datetime_format"
        if self.kind == "not_nullable":
            return "not_nullable"
        check = self.pandera()
        assert check is not None
        return str(check.error)

    def pandera(self) -> pa.Check | None:
        """The pandera check (None: not a column check — nullability is the column's own
        setting, a time's format is the parser's)."""
        if self.kind == "min_length":
            return pa.Check.str_length(min_value=self.arg)
        if self.kind == "matches":
            return pa.Check.str_matches(str(self.arg))
        if self.kind == "at_least":
            return pa.Check.ge(self.arg)
        if self.kind == "not_blank":
            return pa.Check(
                lambda s: s.notna() & s.astype(str).str.strip().ne(""),
                element_wise=False,
                ignore_na=False,
                error="not_empty",
            )
        return None

    def failing_sql(self, column: str) -> str:
        """A SQL condition, never NULL, that is true where a row breaks this rule. `column`
        is the field's name, checked by the caller; the rules that pandera also runs skip a
        NULL exactly as pandera does (only `not_nullable` and `not_blank` fail it)."""
        c = f'"{column}"'
        if self.kind == "not_nullable":
            return f"{c} IS NULL"
        if self.kind == "not_blank":
            return f"coalesce(trim({c}), '') = ''"
        if self.kind == "min_length":
            return f"coalesce(length({c}) < {int(self.arg)}, false)"
        if self.kind == "matches":
            # pandera's str_matches is re.match: anchored at the start only
            return f"coalesce(NOT regexp_matches({c}, '^(?:{sql_text(str(self.arg))})'), false)"
        if self.kind == "at_least":
            return f"coalesce({c} < {float(self.arg)!r}, false)"
        return f'("{column}__utc" IS NULL AND "{column}__local" IS NULL)'

    def explain(self, column: str) -> str:
        """What a quarantined row broke, in words (the SQL path; pandera writes its own)."""
        return {
            "not_nullable": f"{column} is missing",
            "not_blank": f"{column} is empty",
            "min_length": f"{column} is shorter than {self.arg} characters",
            "matches": f"{column} does not match {self.arg}",
            "at_least": f"{column} is below {self.arg}",
            "parsed_time": f"{column} matches none of the site's formats "
            "(ISO 8601, then site_formats.csv)",
        }[self.kind]


@dataclass(frozen=True)
class Field:
    """A field of a record and its rules. `dtype` is what pandera checks the column holds."""

    name: str
    rules: tuple[Rule, ...] = ()
    dtype: type = str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):  # names are placed into SQL text
            msg = f"a contract field needs a plain name, not {self.name!r}"
            raise ValueError(msg)

    @property
    def nullable(self) -> bool:
        return not any(r.kind == "not_nullable" for r in self.rules)


def required(name: str, *rules: Rule, dtype: type = str) -> Field:
    """A field every record must carry (a null fails `not_nullable`), with further rules."""
    return Field(name, (Rule("not_nullable"), *rules), dtype)


def optional(name: str, *rules: Rule, dtype: type = str) -> Field:
    """A field that may be null; its other rules apply where it is not."""
    return Field(name, rules, dtype)


def time_field(name: str) -> Field:
    """A time as written, which must be ISO 8601 or one of the site's formats."""
    return Field(name, (Rule("parsed_time"),), str)


NOT_BLANK = Rule("not_blank")
NON_EMPTY = Rule("min_length", 1)


def matches(regex: str) -> Rule:
    return Rule("matches", regex)


def at_least(bound: int) -> Rule:
    return Rule("at_least", bound)


@dataclass(frozen=True)
class Contract:
    """One source system's contract: its records, and for delimited files their header and
    the columns where a site's decimal comma becomes a point before the rules run."""

    name: str
    version: str
    records: Mapping[str, tuple[Field, ...]]
    header: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def times(self, record: str) -> tuple[str, ...]:
        """The fields of `record` whose rule is the time parser's."""
        return tuple(
            f.name for f in self.records[record] if any(r.kind == "parsed_time" for r in f.rules)
        )

    def checks(self, record: str | None = None) -> list[tuple[str, str]]:
        """(check name as quarantine records it, column) for every rule, in declaration order;
        of one record type, or of all of them (each name once)."""
        records = [record] if record else list(self.records)
        out = [
            (f"{f.name}:{r.check}", f.name)
            for rec in records
            for f in self.records[rec]
            for r in f.rules
        ]
        return list(dict.fromkeys(out))

    def schema(self, record: str) -> pa.DataFrameSchema:
        """The pandera schema of `record`: every field with a pandera-checkable rule (a time's
        format is the parser's; a field with only that rule is not in the schema)."""
        columns = {
            f.name: pa.Column(
                f.dtype,
                checks=[c for c in (r.pandera() for r in f.rules) if c is not None],
                nullable=f.nullable,
            )
            for f in self.records[record]
            if any(r.kind != "parsed_time" for r in f.rules)
        }
        return pa.DataFrameSchema(columns, strict=False, name=f"{self.name}.{record}")

    def sql_checks(self, record: str) -> list[tuple[str, str, str]]:
        """(check name, SQL condition true where a row fails, reason) for every rule of
        `record`, over columns named as its fields (times: `<field>__utc`, `<field>__local`)."""
        return [
            (f"{f.name}:{r.check}", r.failing_sql(f.name), r.explain(f.name))
            for f in self.records[record]
            for r in f.rules
        ]
