"""The page that shows every scored batch's plot of one twin asset run (pure: HTML text)."""

from __future__ import annotations

import html
from collections.abc import Sequence

STYLE = """body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}
figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.3em}img{max-width:100%}"""


def plot_page(title: str, subtitle: str, figures: Sequence[tuple[str, str]]) -> str:
    """`figures`: (caption, image file relative to the page), one per scored batch."""
    items = "\n".join(
        f'<figure id="{html.escape(src)}"><figcaption>{html.escape(caption)}</figcaption>'
        f'<img src="{html.escape(src)}" alt="{html.escape(caption)}"></figure>'
        for caption, src in figures
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(subtitle)}</p>{items or '<p>no batch was scored</p>'}</body></html>"
    )
