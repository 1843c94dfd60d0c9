"""A twin asset's plots as files the Dagster UI shows and links (the edge: writes files).

A data-URI image inside markdown metadata is too large for Dagster to render inline (it
shows "[Show Markdown]" above 1,000 characters), so each plot is a PNG under
`$BIOTWIN_HOME/reports/twin/<asset>/<run id>/`, one per scored batch, with a page listing them
all; the metadata holds short markdown with the example batch's image by URL (inline in the
asset's overview) and a link to the page. `biotwin ui` serves the folder on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from dagster import MetadataValue

from biotwin.settings import settings
from twin.plot_page import plot_page

Plot = tuple[str, str, Callable[[], bytes]]  # (batch id, caption, draws the PNG)


def _file_name(batch_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", batch_id) + ".png"


def publish_plots(
    asset: str, run_id: str, plots: Iterable[Plot], example: str | None, title: str
) -> dict[str, MetadataValue]:
    """Draw and write every plot, then the page; the metadata that shows and links them."""
    s = settings()
    folder = plots_folder_of(asset, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    figures = []
    for batch_id, caption, draw in plots:
        name = _file_name(batch_id)
        (folder / name).write_bytes(draw())
        figures.append((batch_id, caption, name))
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
