r"""Name the classes the student has no labels for row by row, with the seen classes as anchors.

:mod:`skcmkd.unseen` clusters the student's rows, one cluster per class, and
names the clusters; with many classes the clusters cap it (about half of an
unseen class's rows fall into other clusters, and a quadratic assignment over
dozens of classes is approximate). Here every unlabelled row is scored
against every teacher class instead, through what both sides share: the
classes that have labelled rows.

1. Both sides are put in a whitened space (:func:`relation_space`): the
   student's rows, and the teacher's embeddings of its own data, each
   standardised and whitened by its own principal components.
2. A row's *profile* is its cosine similarity to the student's class centres
   of the anchor classes, z-scored over them; a teacher class's profile is
   its mean's cosine similarity to the teacher's means of the same anchor
   classes, z-scored. The score of row *i* for class *k* is the correlation
   of the two profiles: a row of class 1 is close to the 7s and far from the
   0s, as the teacher's class 1 is.
3. The unlabelled rows are spread over the classes by an entropic optimal
   transport (POT's :func:`ot.sinkhorn`) whose class marginal is the
   estimated class sizes: no class takes every row, and rows go where their
   profile fits best. The sizes start from the teacher's class priors (less
   the labelled rows) and move, half a step a round, toward the share of
   unlabelled rows that lie nearest each class centre: the student's classes
   need not be as balanced as the teacher's.
4. Every class centre, unseen ones included, is re-estimated from the rows
   given to it, and becomes an anchor of the next round (``n_rounds``).

The evidence is measured twice: the whole naming against teachers with their
classes shuffled (a permutation p-value), and each named class by its
stability, the share of its rows that keep its name when the naming is run
again on part of the unlabelled rows. :class:`~skcmkd.UnseenClassNamer`
(``method="rows"``) trains on the rows most surely given each stable class.

Examples
--------
>>> import numpy as np
>>> from skcmkd.unseen_rows import name_rows
>>> rng = np.random.RandomState(0)
>>> means = rng.randn(6, 5) * 3
>>> y = np.repeat(np.arange(6), 30)
>>> Z = means[y] + rng.randn(len(y), 5)
>>> codes = np.where((y < 3) & (np.arange(len(y)) % 30 < 5), y, -1)  # 3, 4, 5 unseen
>>> naming = name_rows(Z, codes, means, [3, 4, 5], n_permutations=0, random_state=0)
>>> hidden = y[naming.rows] >= 3
>>> bool(np.mean(naming.assigned[hidden] == y[naming.rows][hidden]) > 0.9)
True
"""

import warnings
from dataclasses import dataclass

import numpy as np
import ot
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from ._inputs import input_scaler

__all__ = ["RowNaming", "name_rows", "relation_space", "whitener"]

#: Components whose variance is below this share of the first's are numerical noise (a
#: rank-deficient table): whitening them would blow that noise up to unit variance.
_RANK_TOLERANCE = 1e-8


def whitener(X, *, n_components=64, random_state=0):
    """A fitted map that standardises rows like ``X`` and whitens them by its leading components.

    At most ``n_components`` principal components, no more than the features
    or the rows less one, and none whose variance is numerically zero (a
    table of lower rank than its width keeps its rank).

    Returns
    -------
    whiten : callable
        ``whiten(A)`` maps rows ``A`` (with ``X``'s columns) into the space.
    """
    X = np.asarray(X, dtype=np.float64)
    scaler = input_scaler().fit(X)  # standardised, safely at any magnitude
    n = max(1, min(n_components, X.shape[1], X.shape[0] - 1))
    pca = PCA(n, random_state=random_state).fit(scaler.transform(X))
    variances = pca.explained_variance_
    if not variances[0] > 0:
        raise ValueError("Every row is the same: there is no direction to compare rows along.")
    keep = max(1, int(np.sum(variances > _RANK_TOLERANCE * variances[0])))
    components, scale = pca.components_[:keep], np.sqrt(variances[:keep])

    def whiten(A):
        return (
            (scaler.transform(np.asarray(A, dtype=np.float64)) - pca.mean_) @ components.T / scale
        )

    return whiten


def relation_space(X, *, n_components=64, random_state=0):
    """Standardise ``X`` and whiten it by its leading principal components (:func:`whitener`).

    Returns
    -------
    Z : ndarray of shape (n_samples, n_kept_components)
    """
    return whitener(X, n_components=n_components, random_state=random_state)(X)


def _unit(A):
    return A / (np.linalg.norm(A, axis=1, keepdims=True) + 1e-12)


def _zscored(A):
    A = A - A.mean(axis=1, keepdims=True)
    return A / (A.std(axis=1, keepdims=True) + 1e-12)


@dataclass
class RowNaming:
    """Which class each unlabelled row was given, and how sure the naming is.

    Attributes
    ----------
    rows : ndarray of shape (n_unlabelled,)
        Indices of the unlabelled rows.
    responsibilities : ndarray of shape (n_unlabelled, n_classes)
        The transport's share of each row given to each class (rows sum to 1).
    assigned : ndarray of shape (n_unlabelled,)
        Each row's most likely class code.
    class_sizes : ndarray of shape (n_classes,)
        The estimated share of the *unlabelled* rows in each class.
    unseen : ndarray
        The codes of the classes without a labelled row.
    stability : ndarray of shape (n_classes,)
        Per class, the share of its rows that keep its name when the naming
        is run on part of the unlabelled rows; ``nan`` for labelled classes
        and where no resample gave the class a row.
    score : float
        Mean profile correlation of the rows with the classes they were
        given (the transport's objective).
    relational_fit : float
        How far ``score`` lies above that of teachers with their classes
        shuffled, in their standard deviations; ``nan`` without permutations.
    p_value : float
        Share of shuffled teachers (counting this one) whose naming scores
        at least ``score``; ``nan`` without permutations.
    """

    rows: np.ndarray
    responsibilities: np.ndarray
    assigned: np.ndarray
    class_sizes: np.ndarray
    unseen: np.ndarray
    stability: np.ndarray
    score: float
    relational_fit: float
    p_value: float

    def pseudo_labels(self, codes, *, per_class, min_stability=0.0):
        """The codes with the rows most surely in each stable unseen class named.

        Parameters
        ----------
        codes : ndarray of shape (n_samples,)
            Class codes, ``-1`` for unlabelled rows.
        per_class : int
            Rows named per unseen class, at most (those given the class whose
            responsibility for it is highest).
        min_stability : float, default=0.0
            A class whose :attr:`stability` is lower stays unnamed.

        Returns
        -------
        codes : ndarray
            A copy, with the named rows.
        counts : list of int
            Rows named, per class of ``unseen`` (0 for a class left unnamed).
        """
        named = codes.copy()
        counts = []
        for code in self.unseen:
            stable = not np.isfinite(self.stability[code]) or self.stability[code] >= min_stability
            given = np.flatnonzero(self.assigned == code)
            if not stable or not given.size:
                counts.append(0)
                continue
            best = given[np.argsort(-self.responsibilities[given, code])[:per_class]]
            named[self.rows[best]] = code
            counts.append(len(best))
        return named, counts


def _spread(Z, codes, class_unit, unseen, prior, *, n_rounds, reg, estimate_sizes):
    """The rounds of scoring and transport; returns (responsibilities, sizes, score)."""
    n_classes = len(class_unit)
    unlabelled = np.flatnonzero(codes == -1)
    labelled = np.flatnonzero(codes >= 0)
    Zu = _unit(Z[unlabelled])
    teacher_cosines = class_unit @ class_unit.T
    anchors = np.setdiff1d(np.unique(codes[labelled]), unseen)
    centres = np.zeros((n_classes, Z.shape[1]))
    for code in anchors:
        centres[code] = Z[codes == code].mean(axis=0)
    # the unlabelled rows' share of each class: the prior's rows less the labelled ones
    expected = prior * len(Z) - np.bincount(codes[labelled], minlength=n_classes)
    sizes = _shares(expected)
    mass = np.full(len(unlabelled), 1.0 / len(unlabelled))
    for _ in range(n_rounds):
        profiles = _zscored(Zu @ _unit(centres[anchors]).T)
        classes = _zscored(teacher_cosines[:, anchors])
        scores = profiles @ classes.T / len(anchors)
        with warnings.catch_warnings():  # a plan short of convergence still ranks the rows
            warnings.filterwarnings("ignore", "Sinkhorn did not converge", UserWarning)
            plan = ot.sinkhorn(mass, sizes, -scores, reg, numItermax=2000, stopThr=1e-7)
        resp = plan / np.maximum(plan.sum(axis=1, keepdims=True), 1e-300)
        weights = np.zeros((len(Z), n_classes))
        weights[unlabelled] = resp
        weights[labelled, codes[labelled]] = 1.0
        total = weights.sum(axis=0)
        filled = total > 0
        centres[filled] = (weights.T @ Z)[filled] / total[filled, None]
        anchors = np.flatnonzero(filled)
        if estimate_sizes:  # the share of unlabelled rows nearest each centre, half a step a round
            nearest = np.argmax(Zu @ _unit(centres[anchors]).T, axis=1)
            counts = np.bincount(anchors[nearest], minlength=n_classes)
            sizes = _shares(0.5 * sizes + 0.5 * counts / len(unlabelled))
    score = float((resp * scores).sum(axis=1).mean())
    return resp, sizes, score


def _shares(sizes, floor=1e-6):
    """``sizes`` as shares summing to one, none below ``floor`` (the transport needs mass)."""
    sizes = np.maximum(np.asarray(sizes, dtype=np.float64), 0)
    sizes = sizes / sizes.sum() if sizes.sum() > 0 else np.full(len(sizes), 1.0 / len(sizes))
    sizes = np.maximum(sizes, floor)
    return sizes / sizes.sum()


def name_rows(
    Z,
    codes,
    class_means,
    unseen,
    *,
    prior=None,
    n_rounds=6,
    reg=0.05,
    estimate_sizes=True,
    n_resamples=4,
    resample_share=0.7,
    n_permutations=19,
    random_state=None,
):
    """Give every unlabelled row a class, the teacher's class relations naming the unseen ones.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_dims)
        The student's rows in a whitened space (:func:`relation_space`).
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows; at least two labelled classes.
    class_means : ndarray of shape (n_classes, latent_dim)
        The teacher's class means, in its own whitened space; one per class.
    unseen : array-like of int
        The codes without a labelled row.
    prior : ndarray of shape (n_classes,), default=None
        The classes' shares of all the student's rows, where the sizes start
        (the teacher's class priors); the unlabelled rows' sizes are these
        less the labelled rows. ``None``: equal.
    n_rounds : int, default=6
        Rounds of scoring, transport and re-estimated centres.
    reg : float, default=0.05
        Entropic regularisation of the transport, in units of the score (a
        correlation in [-1, 1]).
    estimate_sizes : bool, default=True
        Move the class sizes toward the share of unlabelled rows nearest each
        class centre at every round; ``False`` keeps those ``prior`` gives.
    n_resamples : int, default=4
        Runs on part of the unlabelled rows, for each class's stability.
        ``0``: none (``stability`` is ``nan``).
    resample_share : float, default=0.7
        The share of the unlabelled rows each resample keeps.
    n_permutations : int, default=19
        Teachers with their classes shuffled, for ``relational_fit`` and
        ``p_value``. ``0``: none.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    naming : RowNaming
    """
    rng = check_random_state(random_state)
    if n_rounds < 1 or reg <= 0 or not 0 < resample_share <= 1 or n_resamples < 0:
        raise ValueError(
            f"name_rows needs n_rounds >= 1, reg > 0, 0 < resample_share <= 1 and n_resamples >= 0; "
            f"got {n_rounds}, {reg}, {resample_share} and {n_resamples}."
        )
    if n_permutations == 1 or n_permutations < 0:
        raise ValueError(
            f"n_permutations must be 0 (no evidence) or at least 2 (a spread to compare with), "
            f"got {n_permutations}."
        )
    resample_rng, permutation_rng = (
        np.random.RandomState(seed) for seed in rng.randint(2**31 - 1, size=2)
    )
    Z = np.asarray(Z, dtype=np.float64)
    codes = np.asarray(codes)
    class_means = np.asarray(class_means, dtype=np.float64)
    unseen = np.asarray(unseen, dtype=np.int64)
    n_classes = len(class_means)
    if len(np.setdiff1d(np.unique(codes[codes >= 0]), unseen)) < 2:
        raise ValueError("name_rows needs at least two classes with labelled rows as anchors.")
    if not (codes == -1).any():
        raise ValueError("name_rows needs unlabelled rows (code -1) to name.")
    prior = np.full(n_classes, 1.0 / n_classes) if prior is None else np.asarray(prior, float)
    prior = prior / prior.sum()
    settings = dict(n_rounds=n_rounds, reg=reg, estimate_sizes=estimate_sizes)
    class_unit = _unit(class_means)
    resp, sizes, score = _spread(Z, codes, class_unit, unseen, prior, **settings)
    rows = np.flatnonzero(codes == -1)
    assigned = resp.argmax(axis=1)

    stability = np.full(n_classes, np.nan)
    if n_resamples:
        kept_name = np.zeros(n_classes)
        named = np.zeros(n_classes)
        for _ in range(n_resamples):
            keep = resample_rng.random_sample(len(rows)) < resample_share
            if keep.sum() < 2:  # too few rows left to spread: no evidence from this draw
                continue
            part = codes.copy()
            part[rows[~keep]] = -2  # left out of this run
            inside = part != -2
            sub_resp, _, _ = _spread(Z[inside], part[inside], class_unit, unseen, prior, **settings)
            again = sub_resp.argmax(axis=1)
            before = assigned[keep]
            np.add.at(named, before, 1)
            np.add.at(kept_name, before[again == before], 1)
        checked = named[unseen] > 0
        stability[unseen[checked]] = kept_name[unseen[checked]] / named[unseen[checked]]

    fit, p_value = np.nan, np.nan
    if n_permutations:
        null = []
        for _ in range(n_permutations):
            shuffled = class_unit[permutation_rng.permutation(n_classes)]
            null.append(_spread(Z, codes, shuffled, unseen, prior, **settings)[2])
        null = np.asarray(null)
        fit = float((score - null.mean()) / (null.std() + 1e-12))
        p_value = float((1 + np.sum(null >= score)) / (1 + len(null)))
    return RowNaming(rows, resp, assigned, sizes, unseen, stability, score, fit, p_value)
