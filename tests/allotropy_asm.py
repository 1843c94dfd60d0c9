"""Whole ASM documents of instrument files, straight from allotropy: a script the tests run
with the parser's own interpreter (.parser-venv; allotropy is not in the project's
environment), to check files without the loader's flattening.

stdin: a JSON list of [path, vendor, timezone]; stdout: a JSON object path -> the ASM
document, or {"error": "<exception class>: <first line>"}.
"""

from __future__ import annotations

import json
import sys
from zoneinfo import ZoneInfo

from allotropy.parser_factory import Vendor
from allotropy.to_allotrope import allotrope_from_file


def main() -> None:
    out = {}
    for path, vendor, timezone in json.load(sys.stdin):
        try:
            out[path] = allotrope_from_file(
                path, Vendor[vendor.upper()], default_timezone=ZoneInfo(timezone)
            )
        except Exception as exc:  # every refusal is reported, not raised
            first = str(exc).splitlines()[0] if str(exc) else ""
            out[path] = {"error": f"{type(exc).__name__}: {first}"}
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
