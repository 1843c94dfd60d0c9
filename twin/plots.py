"""Plots of twin results as PNG bytes (matplotlib, no display): one function per picture, used
by the Dagster asset metadata and the HTML report alike."""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt
import pandas as pd


def _png(fig) -> bytes:
    """The figure as PNG bytes. Fixed margins, not `bbox_inches="tight"`: a tight box draws the
    figure twice, and drawing is most of a plot's cost (every scored batch gets plots)."""
    width, height = fig.get_size_inches()  # margins in inches: room for labels at any size
    fig.subplots_adjust(
        left=0.8 / width, right=1 - 0.15 / width, top=1 - 0.2 / height, bottom=0.55 / height
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def envelope_plot(
    envelope: pd.DataFrame,
    trajectory: pd.DataFrame,
    batch_id: str,
    parameters: list[str],
    units: Mapping[str, str] | None = None,
) -> bytes:
    """The batch's trajectory against the golden envelope, one panel per parameter, each
    axis in the parameter's canonical unit (ref.parameters)."""
    fig, axes = plt.subplots(len(parameters), 1, figsize=(6, 1.6 * len(parameters)), sharex=True)
    axes = [axes] if len(parameters) == 1 else list(axes)
    for ax, parameter in zip(axes, parameters, strict=True):
        env = envelope[envelope["parameter_id"] == parameter].sort_values("elapsed_h")
        ax.fill_between(
            env["elapsed_h"], env["lower"], env["upper"], color="#c8d8ea", label="±3 SD"
        )
        ax.plot(env["elapsed_h"], env["centre"], color="#4a6f96", lw=1, label="reference mean")
        own = trajectory[
            (trajectory["batch_id"] == batch_id) & (trajectory["parameter_id"] == parameter)
        ].sort_values("elapsed_h")
        ax.plot(own["elapsed_h"], own["value"], color="#c0392b", lw=1.2, label=batch_id)
        ax.set_ylabel(_label(parameter, (units or {}).get(parameter)), fontsize=8)
    axes[0].legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("elapsed time since batch start [h]")
    return _png(fig)


def monitoring_plot(monitoring: pd.DataFrame, batch_id: str) -> bytes:
    """T², SPE and drift of one batch with their limits and the first alarm."""
    rows = monitoring[monitoring["batch_id"] == batch_id].sort_values("elapsed_h")
    panels = [("t2", "T² [no unit]"), ("spe", "SPE [no unit]"), ("drift", "drift [SD]")]
    fig, axes = plt.subplots(len(panels), 1, figsize=(6, 4.8), sharex=True)
    for ax, (stat, label) in zip(axes, panels, strict=True):
        ax.plot(rows["elapsed_h"], rows[stat].clip(lower=1e-2), color="#2c3e50", lw=1)
        if len(rows):
            limit = rows[f"{stat}_limit"].iloc[0]
            ax.axhline(limit, color="#c0392b", ls="--", lw=1, label="limit")
        ax.set_yscale("log")
        ax.set_ylabel(label)
    alarm = rows.loc[rows["is_first_alarm"].astype(bool), "elapsed_h"]
    for ax in axes:
        for hour in alarm:
            ax.axvline(hour, color="#e67e22", lw=1.5, label=f"first alarm {hour:g} h")
    axes[0].legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("elapsed time since batch start [h]")
    return _png(fig)


def soft_sensor_plot(
    estimates: pd.DataFrame,
    labs: pd.DataFrame,
    batch_id: str,
    units: Mapping[str, str] | None = None,
) -> bytes:
    """One panel per lab quantity a soft sensor estimates: the estimate and its 90 % interval
    at every step, and the lab results of the batch as points."""
    rows = estimates[estimates["batch_id"] == batch_id]
    quantities = sorted(rows["parameter_id"].unique())
    fig, axes = plt.subplots(
        len(quantities), 1, figsize=(6, 1.6 * len(quantities)), sharex=True, squeeze=False
    )
    for ax, quantity in zip(axes[:, 0], quantities, strict=True):
        own = rows[rows["parameter_id"] == quantity].sort_values("elapsed_h")
        ax.fill_between(own["elapsed_h"], own["lower"], own["upper"], color="#d5e8d4", label="90 %")
        ax.plot(own["elapsed_h"], own["estimate"], color="#2e7d32", lw=1, label="soft sensor")
        lab = labs[(labs["batch_id"] == batch_id) & (labs["parameter_id"] == quantity)]
        ax.plot(lab["elapsed_h"], lab["value"], "o", color="#c0392b", ms=3, label="lab")
        label = _label(quantity.replace("_", " "), (units or {}).get(quantity))
        ax.set_ylabel(textwrap.fill(label, 16), fontsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    axes[-1, 0].set_xlabel("elapsed time since batch start [h]")
    return _png(fig)


def _label(name: str, unit: str | None) -> str:
    return f"{name} [{unit}]" if unit else name


def forecast_plot(
    forecasts: pd.DataFrame, batch_id: str, outcome: str = "outcome", unit: str = ""
) -> bytes:
    """Forecast of the outcome at each checkpoint with its 90 % interval (and the actual)."""
    rows = forecasts[forecasts["batch_id"] == batch_id].sort_values("checkpoint_h")
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.errorbar(
        rows["checkpoint_h"],
        rows["predicted"],
        yerr=[rows["predicted"] - rows["lower"], rows["upper"] - rows["predicted"]],
        fmt="o",
        color="#2c3e50",
        capsize=4,
        label="forecast, 90 % interval",
    )
    actual = rows["actual"].dropna()
    if len(actual):
        ax.axhline(actual.iloc[0], color="#27ae60", ls="--", label="actual")
    ax.set_xlabel("checkpoint: elapsed time since batch start [h]")
    ax.set_ylabel(_label(outcome, unit))
    ax.legend(fontsize=7)
    return _png(fig)
