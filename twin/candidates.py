"""The family of outcome models a checkpoint's forecast is chosen from (`twin.forecast`).

Every candidate maps the features known at a checkpoint (`twin.forecast.features_at`) to the
log of the outcome, and reads only the columns it is made for:

- `training_mean`: the naive forecast, the mean outcome of the training batches. It is the
  fallback: a checkpoint where nothing beats it in inner cross-validation gets it, so a forecast
  is never silently worse than doing nothing;
- `ridge_labs`: ridge regression on what the lab said last (latest result of each lab quantity,
  its rate since the sample before), the soft sensors' estimates of those quantities now, the
  recipe and the growth projection to the planned harvest (twin.projection): what a process
  scientist reads first;
- `lasso_all`: a sparse linear model (lasso, penalty by its own CV) on the summaries (recipe,
  latest lab results, and per online parameter the mean so far, the recent mean, the specific
  rate and its product with the planned hours): of some two hundred summaries a few carry the
  outcome, and the lasso finds them where ridge spreads its weight over all (seed-7 plant, CART
  at 40 %: 12.6 % against 14.0 % MAPE);
- `pls_trajectory`: partial least squares on the trajectory so far (each online parameter's
  means over segments of the elapsed culture, batch-wise unfolded) and the recipe;
- `gradient_boosting`: shallow boosted trees on the summaries and the lab rates, for
  interactions and thresholds a linear model misses.

The mechanistic growth model is not a candidate: its fit takes seconds per batch set, and
inner cross-validation would refit it 5 times per checkpoint and outer fold (docs/twin.md). Its
closed-form projection to the planned harvest (twin.projection) is a column the linear
candidates read instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LassoCV, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from twin.process import NAIVE_FORECAST

ALPHAS = np.logspace(-2, 3, 12)
TRAJECTORY_PREFIX = "traj__"
LAB_PREFIX = "lab__"
LAB_RATE_PREFIX = "labrate__"
RECIPE_PREFIX = "setpoint__"
SOFT_PREFIX = "soft__"  # a soft sensor's estimate of a lab quantity now
GROWTH_PREFIX = "growth__"  # the growth projection (twin.projection)


class OutcomeMean(BaseEstimator, RegressorMixin):
    """The naive forecast: log of the training outcomes' mean (the mean in the outcome's unit,
    which is what the naive MAPE is measured against)."""

    def fit(self, x, log_y):
        self.value_ = float(np.log(np.mean(np.exp(log_y))))
        return self

    def predict(self, x):
        return np.full(len(x), self.value_)


class FlatPLS(BaseEstimator, RegressorMixin):
    """PLS regression with at most `components` latent variables (fewer when the data have
    fewer columns or rows), predicting a flat array."""

    def __init__(self, components: int = 2):
        self.components = components

    def fit(self, x, log_y):
        n = max(1, min(self.components, x.shape[1], x.shape[0] - 1))
        self.model_ = PLSRegression(n_components=n, scale=False).fit(x, log_y)
        return self

    def predict(self, x):
        return np.ravel(self.model_.predict(x))


class QuietLasso(BaseEstimator, RegressorMixin):
    """A lasso whose penalty is chosen by its own 5-fold CV (LassoCV), without the warnings of
    path steps that stop at their iteration limit: on a few dozen batches and a few hundred
    summaries some weak penalties do, and the CV picks a stronger one anyway."""

    def fit(self, x, log_y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            folds = max(2, min(5, len(log_y)))  # a process's first few batches: fewer folds
            self.model_ = LassoCV(alphas=30, cv=folds, max_iter=5000, random_state=0)
            self.model_.fit(x, log_y)
        return self

    def predict(self, x):
        return self.model_.predict(x)


def _scaled(estimator) -> object:
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), estimator
    )


def _is_summary(column: str) -> bool:
    return not column.startswith((TRAJECTORY_PREFIX, LAB_RATE_PREFIX))


def _is_lab_or_recipe(column: str) -> bool:
    return column.startswith(
        (LAB_PREFIX, LAB_RATE_PREFIX, RECIPE_PREFIX, SOFT_PREFIX, GROWTH_PREFIX)
    )


def _is_trajectory_or_recipe(column: str) -> bool:
    return column.startswith((TRAJECTORY_PREFIX, RECIPE_PREFIX)) and not column.endswith("__log")


def _is_raw_summary(column: str) -> bool:
    """Everything but the trajectory segments, without logs (trees need none)."""
    return not column.startswith(TRAJECTORY_PREFIX) and not column.endswith("__log")


@dataclass(frozen=True)
class Candidate:
    name: str
    reads: Callable[[str], bool]  # which feature columns the model reads
    make: Callable[[], object]  # a fresh, unfitted estimator of log(outcome)


FALLBACK = NAIVE_FORECAST
CANDIDATES: tuple[Candidate, ...] = (  # simplest first: the choice prefers the earlier
    Candidate(FALLBACK, lambda c: False, OutcomeMean),
    Candidate("ridge_labs", _is_lab_or_recipe, lambda: _scaled(RidgeCV(alphas=ALPHAS))),
    Candidate("pls_trajectory", _is_trajectory_or_recipe, lambda: _scaled(FlatPLS(2))),
    Candidate("lasso_all", _is_summary, lambda: _scaled(QuietLasso())),
    Candidate(
        "gradient_boosting",
        _is_raw_summary,
        lambda: make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            GradientBoostingRegressor(
                n_estimators=150,
                max_depth=2,
                learning_rate=0.05,
                subsample=0.8,
                min_samples_leaf=3,
                random_state=0,
            ),
        ),
    ),
)
BY_NAME = {c.name: c for c in CANDIDATES}
