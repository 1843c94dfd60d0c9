"""A twin asset's plots as files the Dagster UI shows and links (the edge: writes files).

A data-URI image inside markdown metadata is too large for Dagster to render inline (it
shows "[Show Markdown]" above 1,000 characters), so each plot is a PNG under
`$BIOTWIN_HOME/reports/twin/<asset>/<run id>/`, one per scored batch, with a page listing them
all; the metadata holds short markdown with the example batch's image by URL (inline in the
asset's overview) and a link to the page. `biotwin ui` serves the folder on 127.0.0.1.

Drawing is most of a twin run's cost (about 0.17 s a plot, every scored batch), while a run
a new file triggers changes the pictures of one or two batches. So each plot carries a key, a
hash of exactly what it draws (its rows, its parameters and the plotting code), and a plot
whose key the previous run drew is copied, not drawn again (`reports/twin/.drawn/<asset>/`,
which keeps the latest run's plots only).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import pandas as pd
from dagster import MetadataValue

from biotwin.settings import settings
from twin.plot_page import plot_page

# (batch id, caption, draws the PNG, key: a hash of what it draws, see `plot_key`)
Plot = tuple[str, str, Callable[[], bytes], str]


@cache
def _plotting_code() -> bytes:
    from twin import plots

    return Path(plots.__file__).read_bytes()


def plot_key(*parts: object) -> str:
    """A hash of what one plot draws: its frames' rows (by content, not by index) and any
    other argument, plus the plotting code itself, so a change of either draws it again."""
    digest = hashlib.sha256(_plotting_code())
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(str(list(part.columns)).encode())
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _file_name(batch_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", batch_id) + ".png"


def publish_plots(
    asset: str, run_id: str, plots: Iterable[Plot], example: str | None, title: str
) -> dict[str, MetadataValue]:
    """Draw and write every plot, then the page; the metadata that shows and links them."""
    s = settings()
    folder = plots_folder_of(asset, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = s.reports_dir / "twin" / ".drawn" / asset
    drawn.mkdir(parents=True, exist_ok=True)
    figures, keys = [], set()
    for batch_id, caption, draw, key in plots:
        name = _file_name(batch_id)
        known = drawn / f"{key}.png"
        if known.exists():
            png = known.read_bytes()
        else:
            png = draw()
            partial = known.with_suffix(".tmp")
            partial.write_bytes(png)
            partial.replace(known)  # whole or absent: a crash never leaves half a picture
        (folder / name).write_bytes(png)
        figures.append((batch_id, caption, name))
        keys.add(known.name)
    for old in drawn.glob("*.png"):  # only the latest run's plots are kept for the next
        if old.name not in keys:
            old.unlink(missing_ok=True)
    subtitle = f"Dagster run {run_id}: {len(figures)} batches scored."
    page = folder / "index.html"
    page.write_text(plot_page(title, subtitle, [(c, n) for _, c, n in figures]), "utf-8")
    url = f"{s.reports_url}/{page.parent.relative_to(s.reports_dir).as_posix()}"
    meta: dict[str, MetadataValue] = {}
    shown = next((f for f in figures if f[0] == example), figures[-1] if figures else None)
    if shown is not None:
        meta["plot"] = MetadataValue.md(f"{shown[1]}\n\n![{shown[0]}]({url}/{shown[2]})")
    meta["plots"] = MetadataValue.url(f"{url}/index.html")
    meta["plots_folder"] = MetadataValue.path(str(folder))
    meta["batches_plotted"] = MetadataValue.int(len(figures))
    return meta


def plots_folder_of(asset: str, run_id: str) -> Path:
    """Where one run of a twin asset keeps its plots."""
    return settings().reports_dir / "twin" / asset / run_id
