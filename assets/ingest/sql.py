"""SQL identifiers: only names that pass a check are ever placed into SQL text.

Values (paths, tags, cell contents) are always bound parameters; table and column names come
from this project's own constants, are checked here and quoted.
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """A checked, double-quoted SQL identifier."""
    if not _IDENT.match(name):
        msg = f"refusing SQL identifier {name!r}"
        raise ValueError(msg)
    return f'"{name}"'


def table(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"
