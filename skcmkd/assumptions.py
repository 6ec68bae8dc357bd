r"""Check, before training, the two assumptions the alignment terms rest on.

Both terms that use the unlabelled student rows pull them into clusters.
Neighbour consistency moves each row with its neighbours in the student's
input space; feature alignment moves the rows onto the teacher's class
clusters. They help only where

1. rows that lie close in the student's input space tend to share a class
   (the *cluster assumption* of semi-supervised learning). On data where
   close rows share something else (a voice, a noise, a sensor), pulling them
   together mixes classes;
2. the teacher's class relations (which of its classes lie close together)
   hold in the student's modality. Where they do not, forcing the student
   onto the teacher's arrangement distorts it: the same clusters, equally far
   apart, are the better prior (a teacher of labelled noise has exactly that).

Both are measured from the labelled student rows alone, before any training:
:func:`check_clusters` compares how well the neighbour graph of all student
rows spreads the labels with how well a linear model does; and
:func:`relation_agreement` correlates the distances between the student's
class means with those between the teacher's. :class:`~skcmkd.SafeAlignment`
turns the first into the distiller's ``unlabeled_trust`` (a factor on the
alignment terms) and then confirms it on held-out labelled rows
(:func:`compare_on_holdout`); :class:`~skcmkd.CrossModalDistiller`, with
``teacher_relations="auto"``, turns the second into ``teacher_relations_``
(how much of the teacher's class arrangement to keep).
"""

import numbers
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, RepeatedKFold, RepeatedStratifiedKFold, StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.semi_supervised import LabelSpreading
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ._inputs import input_scaler, labelled_mask, stratified_subset
from .alignment import class_means

__all__ = [
    "ClusterCheck",
    "HoldoutCheck",
    "check_clusters",
    "holdout_rows",
    "holdout_folds",
    "holdout_rights",
    "fold_rights",
    "n_folds",
    "compare_on_holdout",
    "summarise_holdout",
    "relation_agreement",
    "relation_agreement_codes",
    "relations_from_agreement",
    "equidistant_shift",
]


def _ramp(value, low, high):
    """0 at or below ``low``, 1 at or above ``high``, linear between (a step where they meet)."""
    if value >= high:
        return 1.0
    if value <= low:
        return 0.0
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


@dataclass(frozen=True)
class ClusterCheck:
    """What :func:`check_clusters` measured.

    Attributes
    ----------
    linear_accuracy : float
        Cross-validated accuracy of a logistic regression on the labelled rows.
    graph_accuracy : float
        Cross-validated accuracy of label spreading over the nearest-neighbour
        graph of all rows (labelled and unlabelled), on the same folds.
    chance : float
        Share of the most frequent labelled class.
    skill : float
        ``(graph - chance) / (linear - chance)``: the graph's share of the
        linear model's skill.
    skill_sd : float
        Standard deviation of ``skill`` over bootstrap resamples of the
        labelled rows: large when few rows are labelled or the linear model
        is weak.
    trust : float
        ``skill - skill_sd`` (a lower confidence bound) mapped through the
        check's ``ramp`` to ``[0, 1]``; ``1.0`` when the check could not run
        (see ``checked``).
    checked : bool
        ``False`` when there were too few labelled rows to cross-validate (fewer
        than two classes with two labelled rows each, or fewer labelled rows
        than folds): nothing is measured then and ``trust`` is ``1.0``.
    """

    linear_accuracy: float
    graph_accuracy: float
    chance: float
    skill: float
    skill_sd: float
    trust: float
    checked: bool

    def to_dict(self):
        """The check as a plain ``dict``."""
        return asdict(self)


def _skill(linear, graph, chance):
    """The graph's share of the linear model's skill above chance, kept in [-1, 2]."""
    return float(np.clip((graph.mean() - chance) / max(linear.mean() - chance, 1e-12), -1, 2))


def check_clusters(
    X,
    y,
    *,
    n_neighbors=10,
    n_splits=5,
    n_repeats=3,
    max_labelled=500,
    max_unlabelled=2000,
    ramp=(0.5, 0.9),
    random_state=0,
):
    """Do rows that lie close in the input space share a class? Measured on the labelled rows.

    The labelled rows are split into folds. For each fold, a logistic
    regression is fitted on the other labelled rows, and label spreading
    (:class:`~sklearn.semi_supervised.LabelSpreading`, ``knn`` kernel) spreads
    the other labels over the nearest-neighbour graph of *all* rows; both
    predict the fold's rows. Where the graph does about as well as the linear
    model, neighbours carry the class and the unlabelled rows' structure can
    be trusted; where it does much worse, they share something else.

    With a few labelled rows both accuracies are noisy, most where the linear
    model is weak: the folds are repeated with other shuffles, and the trust
    comes from a lower confidence bound of the skill (one bootstrap standard
    deviation below it), so that a split where the graph scores well by
    chance does not turn the alignment on (``docs/probe_trust_check.md``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Student rows, labelled and unlabelled; standardised here.
    y : array-like of shape (n_samples,)
        Labels, ``-1`` for unlabelled rows.
    n_neighbors : int, default=10
        Neighbours per row in the graph.
    n_splits : int, default=5
        Folds over the labelled rows (stratified where every class has that
        many labelled rows).
    n_repeats : int, default=3
        Times the folds are drawn, each labelled row's correctness averaged;
        fewer (down to one) where there are more than ``max_labelled /
        n_repeats`` labelled rows, which vary less from one draw to the next.
    max_labelled : int, default=500
        At most this many labelled rows (a stratified draw) are held out in
        turn; the others join the graph as unlabelled rows. With
        ``n_repeats``, it bounds the check's cost at any size (its
        accuracies are then known to about two points).
    max_unlabelled : int, default=2000
        At most this many unlabelled rows (a random subset) enter the graph.
    ramp : (float, float), default=(0.5, 0.9)
        The lower confidence bound of the skill maps to the trust: none at
        or below the first value, full at or above the second, linear
        between. Chosen on probe seeds (``docs/probe_safe_defaults.md``,
        checked in ``docs/probe_trust_check.md``).
    random_state : int, RandomState instance or None, default=0
        Seeds the folds, the bootstrap and the subset.

    Returns
    -------
    check : ClusterCheck

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd.assumptions import check_clusters
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1, 2], 40)
    >>> X = rng.randn(120, 5) + 4 * np.eye(5)[y]  # three well-separated clusters
    >>> y_partial = np.where(np.arange(120) % 40 < 5, y, -1)
    >>> check = check_clusters(X, y_partial)
    >>> check.graph_accuracy > 0.9 and check.trust > 0.8
    True
    """
    X, y = np.asarray(X), np.asarray(y)
    rng = check_random_state(random_state)
    mask = labelled_mask(y)
    labelled, unlabelled = np.flatnonzero(mask), np.flatnonzero(~mask)
    classes, counts = np.unique(y[labelled], return_counts=True)
    if (counts >= 2).sum() < 2 or len(labelled) < n_splits:
        return ClusterCheck(np.nan, np.nan, np.nan, np.nan, np.nan, 1.0, False)
    labelled, unlabelled = _drawn_rows(
        y, labelled, unlabelled, max_labelled, max_unlabelled, n_splits, rng
    )
    counts = np.unique(y[labelled], return_counts=True)[1]  # of the rows drawn
    rows = np.r_[labelled, unlabelled]
    X = input_scaler().fit_transform(np.asarray(X[rows], dtype=float))  # no copy of all rows
    n_labelled, y_labelled = len(labelled), y[labelled]
    # many labelled rows vary less from one draw of folds to the next
    n_repeats = int(np.clip(max_labelled // n_labelled, 1, n_repeats))
    splitter = RepeatedStratifiedKFold if counts.min() >= n_splits else RepeatedKFold
    folds = splitter(n_splits=n_splits, n_repeats=n_repeats, random_state=rng)
    linear_right, graph_right = np.zeros(n_labelled), np.zeros(n_labelled)
    graph = _knn_graph(X, min(n_neighbors, len(rows) - 1))  # one graph for every fold
    # small problems: one BLAS thread is several times faster than a pool of them
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny folds: convergence and empty-class warnings
        for train, test in folds.split(np.zeros(n_labelled), y_labelled):
            linear = LogisticRegression(max_iter=2000).fit(X[train], y_labelled[train])
            linear_right[test] += linear.predict(X[test]) == y_labelled[test]
            spread = np.full(len(rows), -1, dtype=np.int64)
            spread[train] = np.searchsorted(classes, y_labelled[train])
            spreading = LabelSpreading(kernel=graph).fit(X, spread)
            graph_right[test] += classes[spreading.transduction_[test]] == y_labelled[test]
    linear_right, graph_right = linear_right / n_repeats, graph_right / n_repeats
    chance = counts.max() / n_labelled
    skill = _skill(linear_right, graph_right, chance)
    draws = rng.randint(0, n_labelled, (500, n_labelled))
    skill_sd = float(np.std([_skill(linear_right[d], graph_right[d], chance) for d in draws]))
    return ClusterCheck(
        linear_accuracy=float(linear_right.mean()),
        graph_accuracy=float(graph_right.mean()),
        chance=float(chance),
        skill=skill,
        skill_sd=skill_sd,
        trust=_ramp(skill - skill_sd, *ramp),
        checked=True,
    )


def _drawn_rows(y, labelled, unlabelled, max_labelled, max_unlabelled, n_splits, rng):
    """The labelled rows :func:`check_clusters` holds out and the unlabelled ones it spreads over.

    At most ``max_labelled`` labelled rows (a stratified draw in which every
    class keeps ``n_splits`` rows where it has them: a rare class stays in
    each fold; the others join the unlabelled rows) and at most
    ``max_unlabelled`` unlabelled ones (a random subset).
    """
    if len(labelled) > max_labelled:
        kept = stratified_subset(labelled, y[labelled], max_labelled, rng, min_per_class=n_splits)
        unlabelled = np.union1d(unlabelled, np.setdiff1d(labelled, kept))
        labelled = kept
    if len(unlabelled) > max_unlabelled:
        unlabelled = rng.choice(unlabelled, max_unlabelled, replace=False)
    return labelled, unlabelled


class _knn_graph:
    """The ``knn`` kernel of :class:`~sklearn.semi_supervised.LabelSpreading`, built once.

    The same connectivity graph sklearn builds (each row and its
    ``n_neighbors - 1`` nearest others), passed as a callable kernel so that
    the folds of :func:`check_clusters` share one neighbour search.
    """

    def __init__(self, X, n_neighbors):
        search = NearestNeighbors(n_neighbors=n_neighbors).fit(X)
        self.graph = search.kneighbors_graph(X, n_neighbors, mode="connectivity")

    def __call__(self, X, Y):
        return self.graph


def _pair_distances(means):
    """Squared distances between class means, upper triangle."""
    squared = ((means[:, None] - means[None]) ** 2).sum(-1)
    return squared[np.triu_indices(len(means), 1)]


def relation_agreement(teacher, X, y):
    """Do the student's classes relate to each other as the teacher's do?

    The squared distances between the class means of the labelled student
    rows (standardised inputs) and between the class means of the teacher's
    bank of embeddings, one number per pair of classes; the Spearman
    correlation of the two lists. Near 1, classes that look alike to the
    teacher look alike to the student too, and the teacher's arrangement of
    its classes is knowledge the student can use. Near 0 or below, it is not.
    A teacher of labelled random noise has nothing to agree with.

    Parameters
    ----------
    teacher : Teacher
        A fitted teacher (:meth:`CrossModalDistiller.set_teacher`).
    X : array-like of shape (n_samples, n_features)
        Student rows.
    y : array-like of shape (n_samples,)
        Their labels, ``-1`` for unlabelled rows (ignored). Labels must be
        among the teacher's classes.

    Returns
    -------
    rho : float
        ``nan`` when fewer than three classes have a labelled row.
    """
    y = np.asarray(y)
    labelled = labelled_mask(y)
    codes = np.full(len(y), -1, dtype=np.int64)
    codes[labelled] = np.searchsorted(teacher.classes_, y[labelled])
    return relation_agreement_codes(teacher, X, codes)


def relation_agreement_codes(teacher, X, codes):
    """:func:`relation_agreement` for class codes (indices into the teacher's classes)."""
    X, codes = np.asarray(X, dtype=float), np.asarray(codes)
    labelled = codes >= 0
    present = np.unique(codes[labelled])
    if len(present) < 3:
        return float("nan")
    standardised = input_scaler().fit(X).transform(X)[labelled]
    student = class_means(standardised, codes[labelled], teacher.classes_.size)[present]
    rho = spearmanr(_pair_distances(student), _pair_distances(teacher.class_means_[present]))
    return float(rho.statistic)


def relations_from_agreement(rho, ramp=(0.2, 0.6)):
    """How much of the teacher's class arrangement to keep, from :func:`relation_agreement`.

    ``ramp`` maps the correlation to ``[0, 1]``: none of the arrangement at
    or below its first value, all of it at or above its second (set once,
    not tuned; ``docs/design.md``). ``nan`` (too few labelled classes to
    tell) keeps all of it.
    """
    return 1.0 if np.isnan(rho) else _ramp(rho, *ramp)


def equidistant_shift(means, keep):
    """Per-class shifts that move class means towards an equidistant arrangement.

    The equidistant arrangement is a regular simplex with the same mean
    squared distance between class means, rotated to lie as close as possible
    to the given means (orthogonal Procrustes). Adding row ``c`` of the result
    to every embedding of class ``c`` moves the means to
    ``keep * means + (1 - keep) * simplex``: the shapes of the classes stay,
    only their relations change.

    Parameters
    ----------
    means : ndarray of shape (n_classes, latent_dim)
    keep : float in [0, 1]
        ``1`` returns zeros.

    Returns
    -------
    shift : ndarray of shape (n_classes, latent_dim)
        Zeros too when a simplex of ``n_classes`` vertices does not fit in
        ``latent_dim`` dimensions (``n_classes > latent_dim + 1``).

    Examples
    --------
    >>> import numpy as np
    >>> means = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    >>> moved = means + equidistant_shift(means, keep=0.0)
    >>> d = np.linalg.norm(moved[:, None] - moved[None], axis=-1)
    >>> bool(np.allclose(d[0, 1], [d[0, 2], d[1, 2]]))
    True
    """
    means = np.asarray(means, dtype=np.float64)
    n_classes, latent_dim = means.shape
    if keep >= 1.0 or n_classes < 3 or n_classes > latent_dim + 1:
        return np.zeros_like(means)
    centre = means.mean(axis=0)
    centred = means - centre
    simplex = np.eye(n_classes) - 1.0 / n_classes  # equidistant, centred, in R^n_classes
    # its vertices in n_classes - 1 coordinates, then the isometry into the
    # latent space that lies nearest to the means (orthogonal Procrustes)
    basis = np.linalg.svd(simplex)[0][:, : n_classes - 1]
    vertices = simplex @ basis
    u, _, vt = np.linalg.svd(vertices.T @ centred, full_matrices=False)
    simplex = vertices @ (u @ vt)
    scale = np.sqrt(_pair_distances(centred).mean() / _pair_distances(simplex).mean())
    return (1.0 - keep) * (centre + scale * simplex - means)


@dataclass(frozen=True)
class HoldoutCheck:
    """What :func:`compare_on_holdout` measured: is the aligned student better on held-out rows?

    Attributes
    ----------
    aligned_accuracy, plain_accuracy : float
        Accuracy on the held-out labelled rows of the students trained with
        and without the terms that use the unlabelled rows, each fold's
        students trained on the other folds' labels (the held-out rows stay
        in, unlabelled).
    gain : float
        ``aligned_accuracy - plain_accuracy``.
    gain_se : float
        Standard error of ``gain`` (of the mean of the paired row-by-row
        differences).
    n_rows : int
        Held-out labelled rows compared (every labelled row once).
    keep : bool
        Whether the alignment stays on: ``gain >= margin``, or ``True`` where
        nothing was measured.
    measured : bool
        ``False`` where the comparison could not be made (see ``reason``).
    reason : str
        The decision in words.
    """

    aligned_accuracy: float
    plain_accuracy: float
    gain: float
    gain_se: float
    n_rows: int
    keep: bool
    measured: bool
    reason: str

    def to_dict(self):
        """The check as a plain ``dict``."""
        return asdict(self)

    @classmethod
    def not_measured(cls, reason):
        """The check where no comparison was made: the alignment stays as the cluster check set it."""
        return cls(np.nan, np.nan, np.nan, np.nan, 0, True, False, reason)


def holdout_rows(codes, *, max_rows=2000, n_splits=3, random_state=0):
    """The rows the students of :func:`compare_on_holdout` train on: all, or a draw of them.

    Beyond ``max_rows`` rows, a draw of about ``max_rows``: every labelled
    row up to half of them, or up to what the unlabelled rows leave (beyond,
    a draw that keeps each class's share and at least ``n_splits`` rows of
    each class: the held-out rows decide), the rest unlabelled rows. The
    labelled share of the draw is then higher than the data's where labels
    are few.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows.
    max_rows : int, default=2000
    n_splits : int, default=3
        Folds of the comparison: each class keeps that many labelled rows.
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    rows : ndarray of int
        Sorted row indices.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.r_[np.repeat([0, 1], 50), np.full(9900, -1)]
    >>> rows = holdout_rows(codes)
    >>> len(rows), int((codes[rows] >= 0).sum())
    (2000, 100)
    """
    codes = np.asarray(codes)
    if len(codes) <= max_rows:
        return np.arange(len(codes))
    rng = check_random_state(random_state)
    labelled, unlabelled = np.flatnonzero(codes >= 0), np.flatnonzero(codes < 0)
    kept = labelled
    cap = max(max_rows // 2, max_rows - len(unlabelled))  # the rest unlabelled, if there are
    if len(labelled) > cap:
        kept = stratified_subset(labelled, codes[labelled], cap, rng, min_per_class=n_splits)
    room = max(0, min(len(unlabelled), max_rows - len(kept)))  # the draw may round up
    others = rng.choice(unlabelled, room, replace=False)
    return np.sort(np.r_[kept, others])


def n_folds(cv):
    """The number of folds of ``cv``: an int, or a splitter's ``get_n_splits()``."""
    return int(cv) if isinstance(cv, numbers.Integral) else int(cv.get_n_splits())


def holdout_rights(codes, fit_predict, *, cv=3, random_state=0):
    """Which held-out labelled rows the aligned and the plain students get right.

    The labelled rows are split into ``n_splits`` folds (stratified where
    every class has that many labelled rows). For each fold, two students
    are trained with that fold's labels hidden (its rows stay in as
    unlabelled rows): one with the alignment terms, one without; both
    predict the fold.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows.
    fit_predict : callable
        ``fit_predict(train_codes, aligned)`` trains a student on
        ``train_codes`` (``codes`` with the fold's rows set to ``-1``), with
        the alignment terms if ``aligned`` is true, and returns its
        predicted codes for all rows.
    cv : int or cross-validation splitter, default=3
        An int: that many folds, shuffled and stratified where every class
        has that many labelled rows. A splitter (``StratifiedKFold(...)``,
        any object with ``split`` and ``get_n_splits``) splits the labelled
        rows as it is.
    random_state : int, RandomState instance or None, default=0
        Seeds the folds of an int ``cv``.

    Returns
    -------
    aligned_right, plain_right : ndarray of shape (n_labelled,) or None
        1 where the student of each kind predicted the held-out row's class,
        0 elsewhere, in the order of the labelled rows; ``None`` (both)
        where there are too few labelled rows to hold out (``2 * n_splits``
        rows in two classes at least): then nothing is trained.
    """
    codes = np.asarray(codes)
    folds = holdout_folds(codes, cv=cv, random_state=random_state)
    if folds is None:
        return None, None
    predictions = [(fit_predict(c, True), fit_predict(c, False)) for c, _ in folds]
    return fold_rights(codes, folds, predictions)


def fold_rights(codes, folds, predictions):
    """Which held-out labelled rows each kind of student got right, from their predictions.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows.
    folds : list of (ndarray, ndarray)
        :func:`holdout_folds`.
    predictions : list of (ndarray, ndarray)
        Per fold, the aligned and the plain student's predicted codes for
        all rows.

    Returns
    -------
    aligned_right, plain_right : ndarray of shape (n_labelled,)
        As :func:`holdout_rights`.
    """
    labelled = np.flatnonzero(np.asarray(codes) >= 0)
    aligned_right, plain_right = np.zeros(len(labelled)), np.zeros(len(labelled))
    for (_, held), (aligned, plain) in zip(folds, predictions, strict=True):
        truth = codes[labelled[held]]
        aligned_right[held] = aligned[labelled[held]] == truth
        plain_right[held] = plain[labelled[held]] == truth
    return aligned_right, plain_right


def holdout_folds(codes, *, cv=3, random_state=0):
    """The held-out check's folds: each fold's training codes and its held-out labelled rows.

    Parameters are :func:`holdout_rights`'s.

    Returns
    -------
    folds : list of (ndarray, ndarray) or None
        Per fold, ``codes`` with the fold's labelled rows set to ``-1``, and
        the fold's positions among the labelled rows (in their order);
        ``None`` where there are too few labelled rows to hold out
        (``2 * n_splits`` rows in two classes at least).
    """
    codes = np.asarray(codes)
    labelled = np.flatnonzero(codes >= 0)
    present, counts = np.unique(codes[labelled], return_counts=True)
    n_splits = n_folds(cv)
    if len(present) < 2 or len(labelled) < 2 * n_splits:
        return None
    folds = cv
    if isinstance(cv, numbers.Integral):
        splitter = StratifiedKFold if counts.min() >= n_splits else KFold
        folds = splitter(
            n_splits=n_splits,
            shuffle=True,
            random_state=check_random_state(random_state).randint(2**31),
        )
    splits = list(folds.split(labelled, codes[labelled]))
    if not splits or any(len(held) and np.max(held) >= len(labelled) for _, held in splits):
        raise ValueError(
            f"cv gave no fold, or folds that index beyond the {len(labelled)} labelled rows: "
            "its (train, test) arrays index the labelled rows, in their order (a generator "
            "of splits is spent after one fit)."
        )
    result = []
    for _, held in splits:
        train_codes = codes.copy()
        train_codes[labelled[held]] = -1
        result.append((train_codes, held))
    return result


def summarise_holdout(codes, aligned_right, plain_right, *, n_splits=3, margin=0.04):
    """The decision of :func:`compare_on_holdout` from what :func:`holdout_rights` measured.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        The codes the rights were measured on.
    aligned_right, plain_right : ndarray or None
        From :func:`holdout_rights`.
    n_splits : int, default=3
    margin : float, default=0.04
        Accuracy (a fraction) the aligned students must gain over the plain
        ones on the held-out rows for the alignment to stay on.

    Returns
    -------
    check : HoldoutCheck
    """
    codes = np.asarray(codes)
    labelled = np.flatnonzero(codes >= 0)
    if aligned_right is None:
        return HoldoutCheck.not_measured(
            f"{len(labelled)} labelled rows in {len(np.unique(codes[labelled]))} classes are "
            f"too few to hold out ({2 * n_splits} rows in two classes at least): the "
            "alignment stays as the cluster check set it"
        )
    differences = aligned_right - plain_right
    gain = float(differences.mean())
    gain_se = float(differences.std(ddof=1) / np.sqrt(len(differences)))
    keep = gain >= margin
    verdict = "stays on" if keep else "is turned off (the student trains alone)"
    reason = (
        f"on {len(labelled)} held-out labelled rows the aligned student scored "
        f"{aligned_right.mean():.3f}, the plain one {plain_right.mean():.3f} (gain {gain:+.3f} "
        f"+- {gain_se:.3f}, margin {margin:+.3f}): the alignment {verdict}"
    )
    return HoldoutCheck(
        aligned_accuracy=float(aligned_right.mean()),
        plain_accuracy=float(plain_right.mean()),
        gain=gain,
        gain_se=gain_se,
        n_rows=len(labelled),
        keep=keep,
        measured=True,
        reason=reason,
    )


def compare_on_holdout(codes, fit_predict, *, n_splits=3, margin=0.04, random_state=0):
    """Keep the alignment only if it predicts held-out labelled rows at least as well.

    :func:`holdout_rights`, then :func:`summarise_holdout`: the alignment
    stays on if the aligned students are right on at least ``margin`` more
    of the held-out rows than the plain ones. This is the safe
    semi-supervised learning recipe (compare with the supervised learner on
    held-out labels, fall back to it unless the unlabelled data helped; Li
    and Zhou, "Towards making unlabeled data never hurt", 2015) made
    concrete: the decision rests on the very model it would ship, not on a
    proxy of its assumptions.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows.
    fit_predict : callable
        ``fit_predict(train_codes, aligned)``, as :func:`holdout_rights` takes it.
    n_splits : int, default=3
    margin : float, default=0.04
        Accuracy (a fraction) the aligned students must gain over the plain
        ones (``docs/safety.md`` says how the default was chosen).
    random_state : int, RandomState instance or None, default=0
        Seeds the folds.

    Returns
    -------
    check : HoldoutCheck

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd.assumptions import compare_on_holdout
    >>> codes = np.r_[np.repeat([0, 1], 6), np.full(20, -1)]
    >>> truth = np.r_[np.repeat([0, 1], 6), np.zeros(20, int)]
    >>> def fit_predict(train_codes, aligned):  # the aligned student is always right
    ...     return truth if aligned else 1 - truth
    >>> compare_on_holdout(codes, fit_predict).keep
    True
    """
    aligned_right, plain_right = holdout_rights(
        codes, fit_predict, cv=n_splits, random_state=random_state
    )
    return summarise_holdout(codes, aligned_right, plain_right, n_splits=n_splits, margin=margin)
