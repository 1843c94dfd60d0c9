"""`biotwin twin report`: one self-contained HTML page per batch (plots inlined as data URIs)."""

from __future__ import annotations

import html

import pandas as pd

from twin import plots
from twin.data import TwinData
from twin.pipeline import FORECAST_COLUMNS

STYLE = """body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#eef2f6}h2{margin-top:1.5em;border-bottom:1px solid #ddd}"""


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>none</p>"
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)


def batch_report(
    data: TwinData,
    batch_id: str,
    envelope: pd.DataFrame,
    monitoring: pd.DataFrame,
    forecasts: pd.DataFrame,
    generated_at: str = "",
    code_version: str = "",
    soft_sensor: pd.DataFrame | None = None,
) -> str:
    """The page: batch against its envelope, T²/SPE with limits and alarm, forecasts. Its
    header says when it was generated, by which code, from which models, and every value
    carries its unit, so a printed page stands on its own in a batch record."""
    features = data.features.set_index("batch_id")
    if batch_id not in features.index:
        raise ValueError(f"no batch {batch_id} in marts.batch_features")
    row = features.loc[batch_id]
    process = data.processes[row["product_id"]]
    mon = monitoring[monitoring["batch_id"] == batch_id]
    fc = forecasts[forecasts["batch_id"] == batch_id]
    alarms = mon[mon["is_first_alarm"].astype(bool)][["elapsed_h", "t2", "spe", "top_contributors"]]
    outcome_unit = data.units.get(process.outcome_parameter_id, "")
    models = sorted(
        {str(m) for frame in (mon, fc) if "model_id" in frame for m in frame["model_id"].dropna()}
    )
    parts = [
        f"<h1>{html.escape(batch_id)}</h1>",
        "<p class='provenance'>generated "
        f"{html.escape(generated_at or 'now')} by biotwin code {html.escape(code_version or '?')}"
        f"; models: {html.escape(', '.join(models) or 'none yet')}</p>",
        f"<p>{html.escape(row['product_id'])} ({html.escape(process.process_type)}), status "
        f"{html.escape(str(row['status']))}, observed {row['observed_h']} h of "
        f"{process.expected_duration_h:g} h expected; outcome "
        f"{html.escape(process.outcome_parameter_id)} = {row['outcome_value']} "
        f"{html.escape(outcome_unit)}</p>",
        "<h2>Trajectory against the golden envelope</h2>",
    ]
    env = envelope[envelope["product_id"] == row["product_id"]]
    if len(env):
        png = plots.envelope_plot(
            env, data.trajectory, batch_id, list(process.parameters)[:6], data.units
        )
        parts.append(f'<img alt="envelope" src="{plots.data_uri(png)}">')
    else:
        parts.append("<p>no envelope for this process (fewer than 3 reference batches)</p>")
    parts.append("<h2>Multivariate monitoring (Hotelling T² and SPE)</h2>")
    if len(mon):
        parts.append(
            f'<img alt="monitoring" src="{plots.data_uri(plots.monitoring_plot(mon, batch_id))}">'
        )
    parts += ["<h3>Alarms</h3>", _table(alarms), "<h2>Outcome forecasts (90 % interval)</h2>"]
    if len(fc):
        parts.append(
            '<img alt="forecast" src="'
            + plots.data_uri(
                plots.forecast_plot(
                    fc,
                    batch_id,
                    process.outcome_parameter_id,
                    data.units.get(process.outcome_parameter_id, ""),
                )
            )
            + '">'
        )
    columns = list(FORECAST_COLUMNS[2:-1])
    shown = fc[columns] if len(fc) else fc
    if outcome_unit:  # the forecast's values are the outcome's, in its unit
        shown = shown.rename(
            columns={c: f"{c} [{outcome_unit}]" for c in ("predicted", "lower", "upper", "actual")}
        )
    parts.append(_table(shown))
    parts.append("<h2>Soft sensors (estimates between lab samples, 90 % interval)</h2>")
    sensed = soft_sensor[soft_sensor["batch_id"] == batch_id] if soft_sensor is not None else None
    if sensed is not None and len(sensed):
        png = plots.soft_sensor_plot(sensed, data.labs, batch_id, data.units)
        parts.append(f'<img alt="soft sensors" src="{plots.data_uri(png)}">')
    else:
        parts.append("<p>none (no lab quantity of this process is explained by online data)</p>")
    body = "\n".join(parts)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(batch_id)}"
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
