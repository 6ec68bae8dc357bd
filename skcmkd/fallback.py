r"""What the student predicts with when no alignment is used: the net and a linear model.

Where the checks turn the alignment off (or nothing is aligned), the student
is a small net trained on the labelled rows alone. With a few labels per class
such a net is often a point or two below a logistic regression on the same
rows, and on other data above it; which one wins changes from split to split.
Their product does better than either on average (a *product of experts*: the
class probabilities multiplied and renormalised, so the logits add), and that
is what :class:`~skcmkd.SafeAlignment` predicts with by default
(``fallback="linear"``) whenever its final model trains without an alignment
term.

The logistic regression sees the features in one of two scalings, chosen by
cross-validation on the labelled rows:

``"standardised"``
    Each feature to mean 0 and variance 1, as the net sees them: blind to
    units, so a feature in millimetres and one in kilometres weigh the same.
``"global"``
    Every feature shifted to mean 0 and all divided by one common spread:
    the features keep their relative sizes, so the L2 penalty favours the
    wide ones. That is a strong prior where the features share a unit
    (spectra, pixel or Fourier coefficients, embeddings) and a harmful one
    where they do not.

``"global"`` is used only where its cross-validated accuracy is strictly
higher; ties and too few labels to compare keep ``"standardised"``, which
cannot be misled by units. ``docs/fallback.md`` gives what was tried, the
probe seeds and families the rule was chosen on, the families it was shown
on, and the control with features in mixed units (``benchmarks/fallback.py``).
"""

import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ._inputs import stratified_subset

#: The scalings :func:`fit_linear_fallback` chooses between, the safe one first.
SCALINGS = ("standardised", "global")


@dataclass(frozen=True)
class LinearFallback:
    """A fitted logistic regression as an affine map from raw features to logits.

    The logits are ``((X / divisor - offset) / scale) @ coef.T + intercept``,
    one column per class of the distiller.

    Attributes
    ----------
    scaling : str
        ``"standardised"`` or ``"global"``.
    divisor, offset, scale : ndarray of shape (n_features,)
    coef : ndarray of shape (n_classes, n_features)
    intercept : ndarray of shape (n_classes,)
    """

    scaling: str
    divisor: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def logits(self, X):
        """Class logits of raw (validated) ``X``, float64."""
        Z = (np.asarray(X, dtype=np.float64) / self.divisor - self.offset) / self.scale
        return Z @ self.coef.T + self.intercept

    def to_arrays(self):
        """The fields, as a dict of arrays (for :func:`~skcmkd.save_model`)."""
        return {name: value for name, value in asdict(self).items() if name != "scaling"}


@dataclass(frozen=True)
class FallbackChoice:
    """What :func:`fit_linear_fallback` decided (:class:`~skcmkd.SafeAlignment` records it).

    Attributes
    ----------
    used : bool
        Whether predictions add the linear model's logits.
    scaling : str or None
        The scaling of the linear model used.
    cv_standardised, cv_global : float
        Cross-validated accuracy of the logistic regression on the labelled
        rows in each scaling; NaN where not measured.
    n_rows : int
        Labelled rows the linear model was fitted on.
    reason : str
    """

    used: bool
    scaling: str | None
    cv_standardised: float
    cv_global: float
    n_rows: int
    reason: str

    def to_dict(self):
        return asdict(self)


def scalings(scaler):
    """``(divisor, offset, scale)`` of each scaling, from the distiller's fitted scaler.

    Both come from the statistics the scaler already holds (per column: the
    largest absolute value, then the mean and variance after dividing by it),
    so no copy of the rows is made at any size, and huge magnitudes stay
    finite: the common scale divides every column by the largest absolute
    value of all, then by one spread (the root mean of the column variances).

    Parameters
    ----------
    scaler : Pipeline
        The distiller's fitted :func:`~skcmkd._inputs.input_scaler`, fitted
        on every student row (labelled or not).

    Returns
    -------
    maps : dict
        Scaling name to its three arrays of shape (n_features,).
    """
    divider, standard = scaler[0], scaler[1]
    column_max = np.asarray(divider.scale_, dtype=np.float64)  # 1 for an all-zero column
    mean = np.asarray(standard.mean_, dtype=np.float64)
    divisor = float(column_max.max())
    ratio = column_max / divisor  # at most 1: nothing overflows
    spread = float(np.sqrt(np.mean(np.asarray(standard.var_) * ratio**2)))
    spread = spread if spread > 0 else 1.0
    return {
        "standardised": (column_max, mean, np.asarray(standard.scale_, dtype=np.float64)),
        "global": (np.full(len(mean), divisor), mean * ratio, np.full(len(mean), spread)),
    }


def fit_linear_fallback(
    X,
    codes,
    n_classes,
    scaler,
    *,
    max_rows=2000,
    cv_rows=500,
    n_splits=5,
    sample_weight=None,
    random_state=0,
):
    """Fit the linear model the student's predictions are combined with.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Every student row, raw (validated); only the labelled ones are read.
    codes : ndarray of shape (n_samples,)
        Class codes ``0 .. n_classes - 1``, ``-1`` for unlabelled rows.
    n_classes : int
        Classes of the distiller; each needs a labelled row.
    scaler : Pipeline
        The distiller's input scaler, fitted on every student row: both
        scalings come from its statistics (:func:`scalings`).
    max_rows : int, default=2000
        Labelled rows the linear model is fitted on at most (a stratified
        draw beyond): the fall-back stays a small fixed cost at any size.
    cv_rows : int, default=500
        Labelled rows the cross-validation compares the scalings on at most.
    n_splits : int, default=5
        Folds of that cross-validation (fewer where a class has fewer rows).
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Weights of the rows; the labelled rows' weigh the logistic
        regression's fits (and its cross-validation).
    random_state : int, RandomState instance or None, default=0
        Draws the folds and, beyond ``max_rows`` labelled rows, the rows.

    Returns
    -------
    fallback : LinearFallback or None
        None where the linear model cannot speak for every class.
    choice : FallbackChoice
    """
    labelled = np.flatnonzero(codes >= 0)
    counts = np.bincount(codes[labelled], minlength=n_classes)
    if n_classes < 2 or (counts == 0).any():
        reason = (
            f"classes {np.flatnonzero(counts == 0).tolist()} have no labelled row: a linear "
            "model cannot predict them"
            if n_classes >= 2
            else "one class: nothing to combine"
        )
        return None, FallbackChoice(False, None, np.nan, np.nan, len(labelled), reason)
    rng = check_random_state(random_state)
    if len(labelled) > max_rows:
        labelled = stratified_subset(labelled, codes[labelled], max_rows, rng)
    y = codes[labelled]
    weights = None if sample_weight is None else np.asarray(sample_weight)[labelled]
    maps = scalings(scaler)
    inputs = {name: _apply(X[labelled], *maps[name]) for name in SCALINGS}
    compared = np.arange(len(labelled))
    if len(compared) > cv_rows:
        compared = stratified_subset(compared, y, cv_rows, rng)
    n_splits = min(n_splits, int(np.bincount(y[compared]).min()))
    cv = {name: np.nan for name in SCALINGS}
    if n_splits >= 2:
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=rng.randint(2**31))
        for name in SCALINGS:
            X_compared, y_compared = inputs[name][compared], y[compared]
            w_compared = None if weights is None else weights[compared]
            cv[name] = _cross_validated(X_compared, y_compared, w_compared, folds)
        scaling = "global" if cv["global"] > cv["standardised"] else "standardised"
        reason = (
            f"logistic regression on {len(labelled)} labelled rows, {n_splits}-fold accuracy "
            f"on {len(compared)} of them: standardised {cv['standardised']:.3f}, global "
            f"{cv['global']:.3f}: {scaling}"
        )
    else:
        scaling = "standardised"
        reason = (
            "a class has a single labelled row: the scalings are not compared; logistic "
            f"regression on {len(labelled)} labelled rows, standardised"
        )
    with _quiet():
        model = _logistic().fit(inputs[scaling], y, sample_weight=weights)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two classes: sklearn keeps the second class's logit only
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    fallback = LinearFallback(scaling, *maps[scaling], coef, intercept)
    choice = FallbackChoice(True, scaling, cv["standardised"], cv["global"], len(labelled), reason)
    return fallback, choice


def _logistic():
    return LogisticRegression(max_iter=2000)


def _cross_validated(X, y, weights, folds):
    """Mean accuracy of the logistic regression over ``folds``, fitted with ``weights``.

    The loop ``cross_val_score`` runs, written out: the weights go to each
    fit directly, so scikit-learn's metadata routing, when a user turns it
    on, has nothing to route (it would refuse weights no estimator asked for).
    """
    scores = []
    with _quiet():
        for train, test in folds.split(X, y):
            weight = None if weights is None else weights[train]
            model = _logistic().fit(X[train], y[train], sample_weight=weight)
            scores.append(model.score(X[test], y[test]))
    return float(np.mean(scores))


def _apply(X, divisor, offset, scale):
    return (np.asarray(X, dtype=np.float64) / divisor - offset) / scale


@contextmanager
def _quiet():
    """A few labels rarely let lbfgs converge to the last digit; the model is fine.

    One BLAS thread: on these small problems a thread pool costs more than it
    computes (docs/performance.md).
    """
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
