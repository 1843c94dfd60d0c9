"""Multivariate batch monitoring: PCA on aligned trajectories, Hotelling T², SPE (Q) and a
drift statistic, with limits set per batch to a stated false-alarm rate.

Each observation (batch, step) is centred and scaled by the golden envelope *at that step*
(variable-wise scaling per grid step, as batch-wise unfolding does), so a score at step k uses
only the batch's values at step k: no look-ahead by construction. A PCA model of the reference
batches' scaled observations gives T² (distance inside the model plane) and SPE (distance from
it). A slow drift stays inside per-step limits for hours, so beside them the drift statistic
is the largest exponentially weighted mean (EWMA, up to step k only) of a scaled parameter.

Limits are per batch, not per point. Each reference batch is scored by the model fitted
without it; each statistic is put in units of its 99th percentile over those steps; a batch's
*held level* is the highest value of the largest of the three that it holds for `k`
consecutive steps. The limit is the quantile of a Gumbel law fitted to the reference batches'
held levels at the false-alarm rate (default 5 % of normal batches); fewer than 10 reference
batches widen it and say so. An alarm is `k` consecutive steps beyond a
limit; the first alarm is the step at which the k-th such point arrives. Contributions split
the statistic furthest beyond its limit over the parameters.

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
POINT_QUANTILE = 0.99  # each statistic's unit: its 99th percentile over held-out reference steps
FALSE_ALARM_RATE = 0.05  # per batch: the share of normal batches that may alarm, at most
CONSECUTIVE = 4
EWMA_LAMBDA = 0.1  # weight of the newest step in the drift statistic (memory of ~20 steps)
Z_CLIP = 30.0  # scaled values beyond this are far out: clipped before PCA and scoring
EWMA_CLIP = 3.0  # scaled values enter the drift statistic clipped to ± this (the band)
CLEANING_ROUNDS = 1
CLEAN_MAD = 4.0  # a held-out reference batch this many robust SDs above the others is dropped
SCREEN_SD = 6.0  # robust SDs beyond which, for CONSECUTIVE steps, a reference batch is screened out
SD_FLOOR_SHARE = 0.1  # an SD below 10 % of the parameter's typical SD is raised to it
LIMIT_CONFIDENCE_Z = 1.2816  # one-sided 90 % normal quantile: limits hold the rate with 90 %
SMALL_CROSS_FIT = 20  # fewer reference batches than this are cross-fitted leave-one-out
SMALL_REFERENCE = 10  # fewer reference batches than this: limits widened, and said so
SMALL_REFERENCE_WIDEN = 1.5


@dataclass(frozen=True)
class Scores:
    t2: np.ndarray  # [batch, step]; NaN where the batch has no value at that step
    spe: np.ndarray  # [batch, step]
    drift: np.ndarray  # [batch, step] largest |EWMA| of a standardised parameter, in its SDs
    t2_contrib: np.ndarray  # [batch, step, parameter]
    spe_contrib: np.ndarray  # [batch, step, parameter]
    drift_contrib: np.ndarray  # [batch, step, parameter] squared EWMA per parameter


@dataclass(frozen=True)
class MonitoringModel:
    envelope: Envelope
    scale: np.ndarray  # [step, parameter] SD with the floor; inf where not monitored
    loadings: np.ndarray  # [parameter, component]
    eigenvalues: np.ndarray  # [component]
    t2_limit: float
    spe_limit: float
    drift_limit: float
    held_out: Scores  # each reference batch scored by the model fitted without it
    batch_limit: float  # the per-batch limit on the common scale (units of POINT_QUANTILE)
    limit_basis: str  # how the limit was set, in words (registry, report)
    small_reference: bool  # fewer than SMALL_REFERENCE reference batches: limits widened
    consecutive: int = CONSECUTIVE


def _scale(env: Envelope) -> np.ndarray:
    typical = np.nanmedian(np.where(env.sd > 0, env.sd, np.nan), axis=0)
    floor = SD_FLOOR_SHARE * np.nan_to_num(typical, nan=1.0)
    scale = np.maximum(np.nan_to_num(env.sd, nan=np.inf), floor[None, :])
    scale[np.isnan(env.centre)] = np.inf
    return scale


def standardise(cube: np.ndarray, env: Envelope, scale: np.ndarray) -> np.ndarray:
    """(value - centre) / scale per step, clipped to ±Z_CLIP; 0 where missing or not monitored.

    Why the clip: at a step where the reference batches agree almost exactly (a feed that is
    off until hour 101 and on after it) the robust SD is tiny, and a batch whose feed started
    minutes later is hundreds of SDs out for that one step. Unclipped, those few values were
    most of the scaled data's variance on one plant (seed 3): the PCA kept one component, the
    feed at that hour, and T² watched nothing else (5 components with the clip). Beyond Z_CLIP
    a value is far out whatever its size; a clip at 10 hid temperature excursions of the small
    processes behind their widened limits."""
    z = (cube - np.nan_to_num(env.centre)[None]) / scale[None]
    return np.clip(np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0), -Z_CLIP, Z_CLIP)


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


def _ewma(z: np.ndarray, observed: np.ndarray, weight: float = EWMA_LAMBDA) -> np.ndarray:
    """Exponentially weighted mean of z [batch, step, parameter] over steps, up to each step
    only (no look-ahead); a step without values carries the mean on."""
    out = np.zeros_like(z)
    current = np.zeros((z.shape[0], z.shape[2]))
    for k in range(z.shape[1]):
        updated = weight * z[:, k, :] + (1.0 - weight) * current
        current = np.where(observed[:, k, None], updated, current)
        out[:, k, :] = current
    return out


def _statistics(
    cube: np.ndarray,
    env: Envelope,
    scale: np.ndarray,
    loadings: np.ndarray,
    eig: np.ndarray,
) -> Scores:
    z = standardise(cube, env, scale)
    t = z @ loadings  # [batch, step, component]
    residual = z - t @ loadings.T
    t2_contrib = (t / eig) @ loadings.T * z  # sums over parameters to T²
    spe_contrib = residual**2
    observed = _observed(cube)
    # a slow drift stays inside the per-step limits for hours; its running mean does not. Each
    # step enters clipped to the band: one spike (a feed starting an hour late) must not hold
    # the mean up for the steps it takes to fade, which T² and SPE would judge as a blip
    clipped = np.clip(z, -EWMA_CLIP, EWMA_CLIP)
    ewma = _ewma(clipped, observed) / np.sqrt(EWMA_LAMBDA / (2.0 - EWMA_LAMBDA))
    t2 = np.where(observed, np.sum(t**2 / eig, axis=2), np.nan)
    spe = np.where(observed, np.sum(spe_contrib, axis=2), np.nan)
    drift = np.where(observed, np.max(np.abs(ewma), axis=2), np.nan)
    return Scores(t2, spe, drift, t2_contrib, spe_contrib, ewma**2)


def _units(held_out: Scores) -> tuple[float, float, float]:
    """Each statistic's POINT_QUANTILE over the held-out reference steps: dividing by it puts
    T², SPE and drift on one scale."""
    return tuple(
        max(float(np.nanquantile(getattr(held_out, s), POINT_QUANTILE)), 1e-12)
        for s in ("t2", "spe", "drift")
    )


def _common(scores: Scores, units: tuple[float, float, float]) -> np.ndarray:
    """[batch, step]: the largest of T², SPE and drift, each in its unit; NaN where unobserved."""
    with np.errstate(invalid="ignore"):
        return np.fmax(
            np.fmax(scores.t2 / units[0], scores.spe / units[1]), scores.drift / units[2]
        )


def _held(a: np.ndarray, consecutive: int) -> np.ndarray:
    """[batch, window, ...]: the level `a` [batch, step, ...] holds over each run of
    `consecutive` steps (its minimum there); NaN counts as 0. Empty when too few steps."""
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    n = a.shape[1] - consecutive + 1
    if n <= 0:
        return np.zeros((a.shape[0], 1, *a.shape[2:]))
    return np.min(np.stack([a[:, i : i + n] for i in range(consecutive)]), axis=0)


def held_levels(common: np.ndarray, consecutive: int = CONSECUTIVE) -> np.ndarray:
    """[batch]: the highest level a batch holds for `consecutive` steps in a row. A batch alarms
    exactly when this exceeds the limit, so limits on it are limits per batch."""
    return _held(common, consecutive).max(axis=1)


def batch_limit(levels: np.ndarray, rate: float = FALSE_ALARM_RATE) -> tuple[float, str, bool]:
    """The limit on held levels that at most `rate` of new normal batches exceed, with 90 %
    confidence: the upper confidence bound of the (1 - rate) quantile of a Gumbel distribution
    fitted (maximum likelihood) to the held-out reference batches' levels. A held level is a
    maximum over a batch's steps, which is what the Gumbel law describes; its quantile scatters
    less between reference sets than an order statistic (simulated batches, 40 reference
    batches: 2-8 % realised for the plain Gumbel quantile against 2-18 % for the conformal
    rank). Fewer than SMALL_REFERENCE batches cannot pin a tail down: the limit is then at least
    the largest level, widened, and the model says so."""
    from scipy import stats  # imported when a model is fitted, not when Dagster loads

    n = len(levels)
    location, scale = stats.gumbel_r.fit(levels)
    y = -np.log(-np.log(1.0 - rate))  # the quantile of the standard Gumbel law
    # the fitted quantile's standard error (maximum likelihood, Gumbel law): the limit is its
    # one-sided upper confidence bound, so a reference set that happened to be tame does not
    # set a limit that too many new normal batches exceed
    se = scale * np.sqrt((1.10866 + 0.51404 * y + 0.60793 * y**2) / n)
    limit = float(location + scale * y + LIMIT_CONFIDENCE_Z * se)
    basis = (
        f"upper 90 % confidence bound of the {1.0 - rate:.0%} quantile of a Gumbel law fitted "
        f"to {n} held-out reference batches"
    )
    if n >= SMALL_REFERENCE:
        return limit, basis, False
    widened = max(limit, float(np.max(levels))) * SMALL_REFERENCE_WIDEN
    return (
        widened,
        f"only {n} reference batches (fewer than {SMALL_REFERENCE}): the {basis} or the largest "
        f"held-out level, whichever is higher, x {SMALL_REFERENCE_WIDEN}",
        True,
    )


def fit(reference_cube: np.ndarray, rate: float = FALSE_ALARM_RATE) -> MonitoringModel:
    """Fit on the reference batches [batch, step, parameter]. Limits from the reference batches
    scored leave-one-batch-out, set per batch to the false-alarm `rate`."""
    if reference_cube.shape[0] < 3:
        raise ValueError(
            f"monitoring needs at least 3 reference batches, got {reference_cube.shape[0]}"
        )
    parts = [
        _statistics(
            reference_cube[i : i + 1],
            *_fit_plane(np.delete(reference_cube, i, axis=0)),
        )
        for i in range(reference_cube.shape[0])
    ]
    held_out = Scores(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Scores.__dataclass_fields__)
    )
    env, scale, loadings, eig = _fit_plane(reference_cube)
    units = _units(held_out)
    limit, basis, small = batch_limit(held_levels(_common(held_out, units)), rate)
    return MonitoringModel(
        envelope=env,
        scale=scale,
        loadings=loadings,
        eigenvalues=eig,
        t2_limit=limit * units[0],
        spe_limit=limit * units[1],
        drift_limit=limit * units[2],
        held_out=held_out,
        batch_limit=limit,
        limit_basis=basis,
        small_reference=small,
    )


def score(model: MonitoringModel, cube: np.ndarray) -> Scores:
    return _statistics(cube, model.envelope, model.scale, model.loadings, model.eigenvalues)


def beyond_limits(model: MonitoringModel, scores: Scores) -> np.ndarray:
    """[batch, step]: T², SPE or drift beyond its limit."""
    with np.errstate(invalid="ignore"):
        return (
            (scores.t2 > model.t2_limit)
            | (scores.spe > model.spe_limit)
            | (scores.drift > model.drift_limit)
        )


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
    model: MonitoringModel,
    scores: Scores,
    batch: int,
    step: int,
    parameters: tuple[str, ...],
    n: int = 3,
) -> list[tuple[str, float]]:
    """The parameters that contribute most, with their share, to the statistic that is
    furthest beyond its limit at one step (T², SPE or drift)."""
    ratios = {
        "t2": scores.t2[batch, step] / model.t2_limit,
        "spe": scores.spe[batch, step] / model.spe_limit,
        "drift": scores.drift[batch, step] / model.drift_limit,
    }
    statistic = max(ratios, key=lambda s: np.nan_to_num(ratios[s], nan=-1.0))
    total = np.abs(getattr(scores, f"{statistic}_contrib")[batch, step])
    share = total / max(total.sum(), 1e-12)
    order = np.argsort(-share)[:n]
    return [(parameters[j], float(share[j])) for j in order]


def _longest_excursion(z: np.ndarray, consecutive: int) -> np.ndarray:
    """[batch]: the largest |z| held for `consecutive` steps in a row, over steps and parameters."""
    return _held(np.abs(z), consecutive).max(axis=(1, 2))


def screen(reference_cube: np.ndarray, consecutive: int = CONSECUTIVE) -> list[int]:
    """Rows of the reference batches that are no golden batch: beyond SCREEN_SD robust SDs of the
    reference envelope for `consecutive` steps. None are screened out if fewer than 3 would
    remain."""
    env = envelope(reference_cube)
    z = (reference_cube - env.centre[None]) / _scale(env)[None]
    out = [int(i) for i in np.flatnonzero(_longest_excursion(z, consecutive) > SCREEN_SD)]
    return out if reference_cube.shape[0] - len(out) >= 3 else []


def _outliers(levels: np.ndarray) -> list[int]:
    """Rows whose held level is far above the others': log level beyond the median by CLEAN_MAD
    robust SDs. A normal batch that sits at the top of a calibrated limit is not one of them."""
    logs = np.log(np.maximum(levels, 1e-12))
    centre = np.median(logs)
    sd = max(1.4826 * np.median(np.abs(logs - centre)), 1e-6)
    return [int(i) for i in np.flatnonzero(logs > centre + CLEAN_MAD * sd)]


def fit_cleaned(
    reference_cube: np.ndarray,
    batch_ids: list[str],
    rounds: int = CLEANING_ROUNDS,
) -> tuple[MonitoringModel, list[str], list[str]]:
    """Screen the reference; fit; drop the reference batches whose held-out level is far above
    the others' (a fault the batch record did not call a major deviation); refit; repeat up to
    `rounds` times while some are dropped and at least 3 remain. Returns (model, kept,
    dropped)."""
    screened = set(screen(reference_cube))
    keep_rows = np.array([i for i in range(len(batch_ids)) if i not in screened], dtype=int)
    kept = [batch_ids[i] for i in keep_rows]
    dropped = [batch_ids[i] for i in sorted(screened)]
    model = fit(reference_cube[keep_rows])
    for _ in range(rounds):
        units = (model.t2_limit, model.spe_limit, model.drift_limit)
        out = _outliers(held_levels(_common(model.held_out, units)))
        if not out or len(kept) - len(out) < 3:
            break
        dropped += [kept[i] for i in out]
        keep_rows = np.delete(keep_rows, out)
        kept = [kept[i] for i in range(len(kept)) if i not in set(out)]
        model = fit(reference_cube[keep_rows])
    return model, kept, dropped


def cross_fitted(
    reference_cube: np.ndarray, folds: int = 5
) -> list[tuple[np.ndarray, MonitoringModel, Scores]]:
    """Each reference batch judged as a new batch would be: per fold (batch rows), the model and
    its limits fitted on the other folds, and the fold's scores. What the false-alarm rate of
    normal batches is measured on: the limits never saw the batches they judge."""
    n = reference_cube.shape[0]
    # a small reference is held out one batch at a time: five folds of 8 batches would judge
    # each batch by a model of 6, noisier than the production model of 8 it stands for
    k = n if n < SMALL_CROSS_FIT else min(folds, n)
    out = []
    for rows in np.array_split(np.arange(n), k):
        rest = np.delete(np.arange(n), rows)
        if len(rest) < 3:
            continue
        model = fit(reference_cube[rest])
        out.append((rows, model, score(model, reference_cube[rows])))
    return out
