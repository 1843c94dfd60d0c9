"""Multivariate batch monitoring: PCA on aligned trajectories, Hotelling T² and SPE (Q).

Each observation (batch, step) is scaled by the golden envelope *at that step* (centre and
SD), so a score at step k uses only the batch's values at step k: no look-ahead by
construction. A PCA model of the reference batches' scaled observations gives T² (distance
inside the model plane) and SPE (distance from it). Control limits are the 99.5th percentiles
of T² and SPE of reference batches each scored by a model fitted without it (leave one batch
out), which is what a new batch sees. An alarm is `k` consecutive steps beyond a limit; the
first alarm is the step at which the k-th such point arrives. Contributions split T² and SPE
over the parameters to say which ones drive an alarm.

Before fitting, the reference is screened: a batch that leaves the robust envelope of all
reference batches by more than SCREEN_SD for `k` consecutive steps on any parameter is not a
golden batch (a fault the batch record did not call a deviation), and would otherwise set the
control limits to its own size. What the pipeline feeds in (`twin.data.monitoring_cube`) has
controlled parameters as deviations from each batch's own set-point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.golden import Envelope, envelope

EXPLAINED = 0.8  # components kept: the fewest that explain this share of variance
LIMIT_QUANTILE = 0.995
CONSECUTIVE = 4
CLEANING_ROUNDS = 1
SCREEN_SD = 6.0  # robust SDs beyond which, for CONSECUTIVE steps, a reference batch is screened out
SD_FLOOR_SHARE = 0.1  # an SD below 10 % of the parameter's typical SD is raised to it


@dataclass(frozen=True)
class Scores:
    t2: np.ndarray  # [batch, step]; NaN where the batch has no value at that step
    spe: np.ndarray  # [batch, step]
    t2_contrib: np.ndarray  # [batch, step, parameter]
    spe_contrib: np.ndarray  # [batch, step, parameter]


@dataclass(frozen=True)
class MonitoringModel:
    envelope: Envelope
    scale: np.ndarray  # [step, parameter] SD with the floor; inf where not monitored
    loadings: np.ndarray  # [parameter, component]
    eigenvalues: np.ndarray  # [component]
    t2_limit: float
    spe_limit: float
    held_out: Scores  # each reference batch scored by the model fitted without it
    consecutive: int = CONSECUTIVE


def _scale(env: Envelope) -> np.ndarray:
    typical = np.nanmedian(np.where(env.sd > 0, env.sd, np.nan), axis=0)
    floor = SD_FLOOR_SHARE * np.nan_to_num(typical, nan=1.0)
    scale = np.maximum(np.nan_to_num(env.sd, nan=np.inf), floor[None, :])
    scale[np.isnan(env.centre)] = np.inf
    return scale


def standardise(cube: np.ndarray, env: Envelope, scale: np.ndarray) -> np.ndarray:
    """(value - centre) / scale per step; 0 where missing or not monitored."""
    z = (cube - np.nan_to_num(env.centre)[None]) / scale[None]
    return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)


def _pca(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, s, vt = np.linalg.svd(rows, full_matrices=False)
    variance = s**2 / max(len(rows) - 1, 1)
    share = np.cumsum(variance) / max(variance.sum(), 1e-12)
    n = int(np.searchsorted(share, EXPLAINED) + 1)
    n = min(n, rows.shape[1] - 1) if rows.shape[1] > 1 else 1
    return vt[:n].T, np.maximum(variance[:n], 1e-9)


def _observed(cube: np.ndarray) -> np.ndarray:
    """[batch, step]: the batch has at least one value at that step."""
    return ~np.all(np.isnan(cube), axis=2)


def _fit_plane(cube: np.ndarray) -> tuple[Envelope, np.ndarray, np.ndarray, np.ndarray]:
    env = envelope(cube)
    scale = _scale(env)
    z = standardise(cube, env, scale)
    rows = z[_observed(cube)]
    loadings, eigenvalues = _pca(rows)
    return env, scale, loadings, eigenvalues


def _statistics(
    cube: np.ndarray, env: Envelope, scale: np.ndarray, loadings: np.ndarray, eig: np.ndarray
) -> Scores:
    z = standardise(cube, env, scale)
    t = z @ loadings  # [batch, step, component]
    residual = z - t @ loadings.T
    t2_contrib = (t / eig) @ loadings.T * z  # sums over parameters to T²
    spe_contrib = residual**2
    observed = _observed(cube)
    t2 = np.where(observed, np.sum(t**2 / eig, axis=2), np.nan)
    spe = np.where(observed, np.sum(spe_contrib, axis=2), np.nan)
    return Scores(t2=t2, spe=spe, t2_contrib=t2_contrib, spe_contrib=spe_contrib)


def fit(reference_cube: np.ndarray) -> MonitoringModel:
    """Fit on the reference batches [batch, step, parameter]; limits by leave-one-batch-out."""
    if reference_cube.shape[0] < 3:
        raise ValueError(
            f"monitoring needs at least 3 reference batches, got {reference_cube.shape[0]}"
        )
    parts = [
        _statistics(reference_cube[i : i + 1], *_fit_plane(np.delete(reference_cube, i, axis=0)))
        for i in range(reference_cube.shape[0])
    ]
    held_out = Scores(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Scores.__dataclass_fields__)
    )
    env, scale, loadings, eig = _fit_plane(reference_cube)
    return MonitoringModel(
        envelope=env,
        scale=scale,
        loadings=loadings,
        eigenvalues=eig,
        t2_limit=float(np.nanquantile(held_out.t2, LIMIT_QUANTILE)),
        spe_limit=float(np.nanquantile(held_out.spe, LIMIT_QUANTILE)),
        held_out=held_out,
    )


def score(model: MonitoringModel, cube: np.ndarray) -> Scores:
    return _statistics(cube, model.envelope, model.scale, model.loadings, model.eigenvalues)


def beyond_limits(model: MonitoringModel, scores: Scores) -> np.ndarray:
    """[batch, step]: T² or SPE beyond its limit."""
    with np.errstate(invalid="ignore"):
        return (scores.t2 > model.t2_limit) | (scores.spe > model.spe_limit)


def first_alarms(model: MonitoringModel, scores: Scores) -> list[int | None]:
    """Per batch, the step index at which `consecutive` points beyond a limit are complete."""
    out: list[int | None] = []
    for row in beyond_limits(model, scores):
        run, found = 0, None
        for k, beyond in enumerate(row):
            run = run + 1 if beyond else 0
            if run >= model.consecutive:
                found = k
                break
        out.append(found)
    return out


def top_contributors(
    scores: Scores, batch: int, step: int, parameters: tuple[str, ...], n: int = 3
) -> list[tuple[str, float]]:
    """The parameters that contribute most to T² + SPE at one step, with their share."""
    total = np.abs(scores.t2_contrib[batch, step]) + scores.spe_contrib[batch, step]
    share = total / max(total.sum(), 1e-12)
    order = np.argsort(-share)[:n]
    return [(parameters[j], float(share[j])) for j in order]


def _longest_excursion(z: np.ndarray, consecutive: int) -> np.ndarray:
    """[batch]: the largest |z| held for `consecutive` steps in a row, over steps and parameters."""
    a = np.nan_to_num(np.abs(z), nan=0.0, posinf=0.0, neginf=0.0)
    n = a.shape[1] - consecutive + 1
    if n <= 0:
        return np.zeros(a.shape[0])
    held = np.min(np.stack([a[:, i : i + n, :] for i in range(consecutive)]), axis=0)
    return held.max(axis=(1, 2))


def screen(reference_cube: np.ndarray, consecutive: int = CONSECUTIVE) -> list[int]:
    """Rows of the reference batches that are no golden batch: beyond SCREEN_SD robust SDs of the
    reference envelope for `consecutive` steps. None are screened out if fewer than 3 would
    remain."""
    env = envelope(reference_cube)
    z = (reference_cube - env.centre[None]) / _scale(env)[None]
    out = [int(i) for i in np.flatnonzero(_longest_excursion(z, consecutive) > SCREEN_SD)]
    return out if reference_cube.shape[0] - len(out) >= 3 else []


def fit_cleaned(
    reference_cube: np.ndarray, batch_ids: list[str], rounds: int = CLEANING_ROUNDS
) -> tuple[MonitoringModel, list[str], list[str]]:
    """Screen the reference; fit; drop the reference batches that alarm when held out (a fault
    the batch record did not call a major deviation); refit; repeat up to `rounds` times while
    some are dropped and at least 3 remain. Returns (model, kept, dropped)."""
    screened = set(screen(reference_cube))
    keep_rows = np.array([i for i in range(len(batch_ids)) if i not in screened], dtype=int)
    kept = [batch_ids[i] for i in keep_rows]
    dropped = [batch_ids[i] for i in sorted(screened)]
    model = fit(reference_cube[keep_rows])
    for _ in range(rounds):
        alarms = first_alarms(model, model.held_out)
        out = [i for i, a in enumerate(alarms) if a is not None]
        if not out or len(kept) - len(out) < 3:
            break
        dropped += [kept[i] for i in out]
        keep_rows = np.delete(keep_rows, out)
        kept = [kept[i] for i in range(len(kept)) if i not in set(out)]
        model = fit(reference_cube[keep_rows])
    return model, kept, dropped
