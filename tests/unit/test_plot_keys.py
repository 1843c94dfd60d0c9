"""A twin plot's key names exactly what it draws: the same rows give the same key whatever
their index, and a changed value or argument gives another (assets/twin_plots.py)."""

from __future__ import annotations

import pandas as pd

from assets.twin_plots import plot_key


def test_a_plot_key_follows_content_not_index() -> None:
    rows = pd.DataFrame({"batch_id": ["B1", "B1"], "elapsed_h": [1.0, 2.0], "t2": [0.5, 3.0]})
    same = rows.set_axis([7, 9])
    assert plot_key(rows, "B1") == plot_key(same, "B1")
    changed = rows.copy()
    changed.loc[1, "t2"] = 3.5
    assert plot_key(changed, "B1") != plot_key(rows, "B1")
    assert plot_key(rows, "B2") != plot_key(rows, "B1")
    assert plot_key(rows.rename(columns={"t2": "spe"}), "B1") != plot_key(rows, "B1")
