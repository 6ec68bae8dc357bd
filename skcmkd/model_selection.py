"""Choosing hyper-parameters on partly labelled data: folds and scorers.

scikit-learn's default folds (``StratifiedKFold`` on ``y``) treat ``-1`` as
one more class: every validation fold then holds unlabelled rows, which the
estimator's own ``score`` skips but a ``scoring=`` string counts as errors
(accuracy is scaled down by the labelled share of the fold; scorers of
probabilities fail on the unknown label ``-1``), and every training fold
loses a share of the unlabelled rows the alignment terms learn from. The
estimator never sees the scorer, so nothing it does can refuse that
combination. Three ways are right by construction:

- no ``scoring=`` (the estimator's ``score``, which skips ``-1`` rows);
- :func:`labeled_scorer`: any scorer, or several, scoring the labelled rows
  of whatever folds it is given;
- :class:`LabeledStratifiedKFold`: folds of the labelled rows only, every
  unlabelled row in every training fold, so that any scorer is right and no
  unlabelled row is wasted.

:func:`bound_score` is a scorer that needs no label: the measurable terms of
the bound (feature and label alignment) on the rows it is given, labelled or
not.
"""

import warnings

import numpy as np
from sklearn.metrics import get_scorer
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold
from sklearn.utils.metadata_routing import get_routing_for_object

from ._compat import _safe_indexing
from ._inputs import labelled_mask
from .alignment import measured_feature_alignment

__all__ = [
    "LabeledStratifiedKFold",
    "LabelledStratifiedKFold",
    "bound_score",
    "labeled_scorer",
    "prefer_defaults",
]


class LabeledStratifiedKFold(BaseCrossValidator):
    """Stratified K-fold over the labelled rows; unlabelled rows always train.

    Each validation fold holds labelled rows only (stratified by class, as
    :class:`~sklearn.model_selection.StratifiedKFold` would split them); its
    training fold holds the other labelled rows and *every* unlabelled row
    (``y == -1``). Use it as ``cv=`` in ``GridSearchCV``,
    ``cross_val_score``, ``cross_validate``, with any ``scoring=``.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; at least 2. Classes with fewer labelled rows than
        folds get a warning from ``StratifiedKFold``.
    shuffle : bool, default=False
        Shuffle each class's labelled rows before splitting. Unshuffled, or
        shuffled with an int ``random_state``, the folds are the same at
        every call of :meth:`split` (successive halving and nested searches
        need that), as with scikit-learn's splitters.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle; only with ``shuffle=True`` (as
        :class:`~sklearn.model_selection.StratifiedKFold`, it is an error
        otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd.model_selection import LabeledStratifiedKFold
    >>> y = np.array([0, 0, 1, 1, -1, -1, -1])
    >>> for train, test in LabeledStratifiedKFold(2).split(np.zeros(7), y):
    ...     print(train, test)
    [1 3 4 5 6] [0 2]
    [0 2 4 5 6] [1 3]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False: pass "
                "shuffle=True to shuffle the labelled rows with it, or leave random_state None."
            )
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds."""
        return self.n_splits

    def split(self, X, y, groups=None):
        """Train and validation indices of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Only its length is used.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` (or ``"-1"``) for unlabelled rows.
        groups : ignored

        Yields
        ------
        train, test : ndarray
            Indices; ``test`` never holds an unlabelled row.
        """
        if y is None:
            raise ValueError("LabeledStratifiedKFold needs y: it folds the labelled rows.")
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels.")
        mask = labelled_mask(y)
        labelled, unlabelled = np.flatnonzero(mask), np.flatnonzero(~mask)
        if len(labelled) < self.n_splits:
            raise ValueError(
                f"{len(labelled)} labelled rows cannot make {self.n_splits} validation folds: "
                "label more rows or lower n_splits."
            )
        folds = StratifiedKFold(
            self.n_splits,
            shuffle=self.shuffle,
            random_state=self.random_state if self.shuffle else None,
        )
        for train, test in folds.split(np.zeros(len(labelled)), y[labelled]):
            yield np.sort(np.r_[labelled[train], unlabelled]), labelled[test]


class LabelledStratifiedKFold(LabeledStratifiedKFold):
    """Deprecated spelling of :class:`LabeledStratifiedKFold`; removed in skcmkd 0.4."""

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        warnings.warn(
            "LabelledStratifiedKFold is renamed LabeledStratifiedKFold (scikit-learn's "
            "spelling); the old name is removed in skcmkd 0.4.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(n_splits, shuffle=shuffle, random_state=random_state)


def labeled_scorer(scoring):
    """Scorers that score the labelled rows only (``y != -1``), on any folds.

    ``GridSearchCV(d, grid, scoring="accuracy")`` on scikit-learn's default
    folds counts every unlabelled validation row as an error;
    ``scoring=labeled_scorer("accuracy")`` scores the same predictions on
    the labelled rows alone, whatever the folds, in any search or
    cross-validation that takes a ``scoring=``.

    Parameters
    ----------
    scoring : str, callable, list, tuple, set or dict
        What scikit-learn's ``scoring=`` takes: a scorer's name
        (``"accuracy"``, ``"f1_macro"``...) or a scorer; several of them
        (a list, tuple or set of names, or a dict of name to scorer) for a
        multi-metric search.

    Returns
    -------
    scorer : callable or dict
        A scorer ``scorer(estimator, X, y)``; for several, a dict of them by
        name (``refit=`` takes those names).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcmkd.model_selection import labeled_scorer
    >>> X, y = np.arange(8.0)[:, None], np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> model = LogisticRegression().fit(X, y)
    >>> y_partial = np.array([0, -1, 0, -1, 1, -1, 1, -1])  # half the rows unlabelled
    >>> labeled_scorer("accuracy")(model, X, y_partial)
    1.0
    """
    if isinstance(scoring, dict):
        return {name: labeled_scorer(each) for name, each in scoring.items()}
    if isinstance(scoring, (list, tuple, set)):
        return {name: labeled_scorer(name) for name in scoring}
    return _LabeledScorer(scoring)


class _LabeledScorer:
    """A scorer on the labelled rows of what it is given (:func:`labeled_scorer`).

    It asks scikit-learn's metadata routing for what the scorer it wraps asks
    for (``labeled_scorer(make_scorer(...).set_score_request(sample_weight=True))``),
    and hands it the labelled rows' share.
    """

    def __init__(self, scoring):
        self.scoring = scoring
        # resolved now: a misspelt name is an error at once, not NaN scores later
        self.scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
        if not callable(self.scorer):
            raise ValueError(
                f"labeled_scorer takes a scorer's name, a scorer, or several of them; got "
                f"{scoring!r}."
            )

    def get_metadata_routing(self):
        """What the wrapped scorer asks for (scikit-learn's metadata routing)."""
        return get_routing_for_object(self.scorer)

    def set_score_request(self, **requests):
        """Ask for metadata as the wrapped scorer's ``set_score_request`` does; returns self."""
        self.scorer = self.scorer.set_score_request(**requests)
        return self

    def __call__(self, estimator, X, y, **kwargs):
        if y is None:
            raise ValueError("labeled_scorer needs y: it scores the labelled rows.")
        rows = np.flatnonzero(labelled_mask(np.asarray(y)))
        if not len(rows):
            raise ValueError(
                "This validation fold holds no labelled row (every y is -1): nothing to "
                "score. Use cv=LabeledStratifiedKFold(...) for folds of labelled rows."
            )
        kwargs = {name: _safe_indexing(value, rows) for name, value in kwargs.items()}
        return self.scorer(estimator, _safe_indexing(X, rows), _safe_indexing(y, rows), **kwargs)

    def __repr__(self):
        return f"labeled_scorer({self.scoring!r})"


def bound_score(estimator, X, y=None, *, max_rows=1000):
    """Score without labels: minus the bound's measurable terms on ``X``.

    The bound (``docs/theory.md``) caps the student's error by the teacher's
    error plus feature alignment plus label alignment. The teacher's error is
    the same for every candidate of a grid search; the other two need no
    label, so every row of ``X`` counts, unlabelled ones included::

        bound_score = -(W2^2(student embeddings of X, teacher bank) / bank scale
                        + share of rows where the student and the teacher head disagree)

    Higher is better, as scikit-learn's scorers go. Use it as ``scoring=`` in
    a grid search with folds that keep unlabelled rows in validation
    (scikit-learn's default ``cv``). It rewards closeness to the teacher, not
    accuracy: it says nothing where the teacher is wrong for the student, and
    anything that pulls the student towards its own structure (the neighbour
    term) scores worse. ``docs/model_selection.md`` measures how well it
    chooses against the labelled criteria.

    Parameters
    ----------
    estimator : CrossModalDistiller, or a Pipeline ending in one
        Fitted, with a teacher.
    X : array-like of shape (n_samples, n_features)
        Rows to score, labelled or not.
    y : ignored
        Accepted so that the function is a scorer.
    max_rows : int, default=1000
        At most this many rows per side enter the exact transport (a fixed
        random subset beyond that).

    Returns
    -------
    score : float
        At most 0.
    """
    distiller, transform = estimator, None
    if hasattr(estimator, "steps"):  # a Pipeline: its last step is the distiller
        distiller, transform = estimator[-1], estimator[:-1]
    teacher = getattr(distiller, "teacher", None)
    if teacher is None:
        raise ValueError(
            "bound_score needs a CrossModalDistiller with a teacher (set_teacher): without "
            "one there is nothing to align to. Use a labelled scorer instead."
        )
    if transform is not None:
        X = transform.transform(X)
    logits, z = distiller.forward(X)
    feature = measured_feature_alignment(z, teacher.bank_, teacher.cost_scale_, max_rows=max_rows)
    student = distiller.classes_[np.argmax(logits, axis=1)]
    head = teacher.classes_[np.argmax(teacher.predict_proba_latent(z), axis=1)]
    return -(feature + float(np.mean(student != head)))


def prefer_defaults(defaults, *, n_se=1.0, metric="score"):
    """A ``refit=`` rule for ``GridSearchCV``: keep the defaults unless a candidate clearly wins.

    With few labels, the fold scores of a grid search are noisy and its best
    candidate is often best by chance. This rule picks the best candidate only
    where it beats the ``defaults`` candidate by more than ``n_se`` standard
    errors of their paired per-fold difference, and the defaults otherwise
    (the one-standard-error rule, turned towards a trusted starting point).
    ``docs/model_selection.md`` measures it against the plain best candidate.

    Parameters
    ----------
    defaults : dict
        The candidate to keep, as it appears in the grid's ``params``
        (Pipeline prefixes included), e.g. ``{"feature_weight": 5.0}``; every
        key must be in the grid and the values must be grid points.
    n_se : float, default=1.0
        How many standard errors of the per-fold difference the best
        candidate must win by.
    metric : str, default="score"
        The scorer's name in ``cv_results_``: ``"score"`` for a single
        scorer, the key of a multi-metric ``scoring`` otherwise.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> index``, for ``GridSearchCV(..., refit=refit)``.
        ``best_score_`` is then not set (scikit-learn's rule for a callable).

    Examples
    --------
    >>> from skcmkd.model_selection import prefer_defaults
    >>> rule = prefer_defaults({"feature_weight": 5.0})
    >>> results = {
    ...     "params": [{"feature_weight": 1.0}, {"feature_weight": 5.0}],
    ...     "split0_test_score": [0.62, 0.60],
    ...     "split1_test_score": [0.58, 0.60],
    ...     "split2_test_score": [0.66, 0.61],
    ... }
    >>> rule(results)  # 1.0 is ahead by 0.017 on average, within the noise
    1
    """

    def refit(cv_results):
        params = list(cv_results["params"])
        keep = [i for i, p in enumerate(params) if all(p.get(k) == v for k, v in defaults.items())]
        if not keep:
            raise ValueError(
                f"prefer_defaults: no candidate of the grid has {defaults}. Put the defaults "
                "in the grid, with the grid's own parameter names (Pipeline prefixes included)."
            )
        folds = sorted(
            k for k in cv_results if k.startswith("split") and k.endswith(f"_test_{metric}")
        )
        if not folds:
            raise ValueError(
                f"prefer_defaults: cv_results_ holds no per-fold '{metric}' scores; pass "
                "metric= the name of your scorer."
            )
        scores = np.array([cv_results[k] for k in folds], dtype=float)  # folds x candidates
        default, best = keep[0], int(np.argmax(scores.mean(axis=0)))
        gaps = scores[:, best] - scores[:, default]
        se = gaps.std(ddof=1) / np.sqrt(len(gaps)) if len(gaps) > 1 else np.inf
        return best if gaps.mean() > n_se * se else default

    return refit
