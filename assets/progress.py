"""Progress an asset reports while it works, for the console of `biotwin run`.

An asset logs `progress: …` lines through its Dagster context; the run's progress logger
(orchestration/progress.py) prints them as they come, and the UI keeps them in the run's log.
`Throttled` keeps a long loop to one line every few seconds, plus its last.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PREFIX = "progress: "


class Throttled:
    """Calls `log(PREFIX + text)` at most every `every_s` seconds, and always when `last`."""

    def __init__(self, log: Callable[[str], None], every_s: float = 5.0) -> None:
        self.log, self.every_s, self.at = log, every_s, float("-inf")

    def __call__(self, text: str, last: bool = False) -> None:
        now = time.monotonic()
        if last or now - self.at >= self.every_s:
            self.at = now
            self.log(PREFIX + text)
