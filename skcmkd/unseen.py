r"""Name the classes the student has no labels for, from the teacher's class relations.

A student fitted on labels for some of the teacher's classes (the others
only as unlabelled ``-1`` rows) has nothing in its own data that says which
of its unlabelled groups is which unseen class. The teacher knows how its
classes lie relative to each other: digit 1 close to 7, far from 0. Where the
student's modality arranges the classes alike
(:func:`skcmkd.assumptions.relation_agreement`), that arrangement names the
groups:

1. cluster the student's embedding of its own rows (:func:`seeded_kmeans`),
   one cluster per class, the labelled classes' means as seeds;
2. give each labelled class the cluster its labelled rows fall in
   (:func:`anchor_clusters`): the *anchors*;
3. give the other clusters the unseen classes by the assignment whose
   distances between cluster means (in the student's standardised inputs)
   best match the distances between the teacher's class means, anchors
   fixed (:func:`name_clusters`): a quadratic assignment, solved exactly by
   enumeration up to ``max_enumerated`` unseen classes and by
   :func:`scipy.optimize.quadratic_assignment` beyond.

:class:`~skcmkd.UnseenClassNamer` does this on the embedding of a first
student aligned to a teacher whose class arrangement is evened out (so that
the clusters are the student's own, not drawn into the teacher's
arrangement), then trains the final student with the named rows nearest each
cluster's centre as labels. ``docs/unseen_classes.md`` measures it against
teachers of labelled noise.

Examples
--------
>>> import numpy as np
>>> from skcmkd.unseen import name_clusters
>>> teacher_means = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [5.0, 4.0]])
>>> cluster_means = teacher_means[[0, 1, 3, 2]] * 2  # clusters 2 and 3 swapped, scaled
>>> naming, _ = name_clusters(cluster_means, teacher_means, {0: 0, 1: 1}, [2, 3])
>>> naming.tolist()
[0, 1, 3, 2]
"""

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment, quadratic_assignment
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

__all__ = [
    "FoundClusters",
    "UnseenNaming",
    "anchor_clusters",
    "anchored_agreement",
    "name_clusters",
    "name_unseen_classes",
    "relational_p_value",
    "seeded_kmeans",
]


@dataclass(frozen=True)
class UnseenNaming:
    """What :class:`~skcmkd.UnseenClassNamer` found out about the classes without a student label.

    Attributes
    ----------
    unseen : list
        The teacher's classes with no labelled student row.
    agreement : float or None
        Spearman correlation between the distances of the anchored (labelled)
        classes' cluster means in the student's inputs and those of the
        teacher's class means; ``None`` with fewer than three labelled classes.
        The evidence that the teacher's relations hold in the student's
        modality, where they can be checked.
    relational_fit : float or None
        By clusters: how much better the chosen naming matches the teacher's
        distances than a naming drawn at random, ``1 - mismatch / mean
        mismatch`` (``0``: no better than chance). By rows: how many standard
        deviations the naming's score lies above those of teachers with their
        classes shuffled (:class:`skcmkd.unseen_rows.RowNaming`).
    p_value : float or None
        The share of teachers with their classes shuffled whose relations
        fit the clusters (:func:`relational_p_value`) or the rows at least as
        well.
    named : bool
        Whether the unseen classes were named (the final student trains with
        the named rows as labels); ``False`` trains it on the labels as given.
    reason : str
        Why, in words.
    pseudo_labels : list of int
        Per class of ``unseen``, the unlabelled rows given that class as a
        label (empty when not named; 0 for a class left unnamed).
    stability : list of float
        Named by rows: per class of ``unseen``, the share of its rows that
        keep its name when the naming runs on part of the rows (its
        confidence); empty when named by clusters.
    """

    unseen: list
    agreement: float | None
    relational_fit: float | None
    p_value: float | None
    named: bool
    reason: str
    pseudo_labels: list = field(default_factory=list)
    stability: list = field(default_factory=list)

    def to_dict(self):
        """The record as a plain ``dict``."""
        return asdict(self)


def _squared_distances(means):
    return ((means[:, None, :] - means[None, :, :]) ** 2).sum(-1)


def _normalised(distances):
    upper = distances[np.triu_indices(len(distances), 1)]
    scale = upper.mean()
    return distances / scale if scale > 0 else distances


def seeded_kmeans(Z, codes, n_clusters, *, n_restarts=10, random_state=None):
    """k-means of ``Z`` with the labelled classes' means among the seeds.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_dims)
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows. Every labelled class seeds
        one cluster; the other seeds are rows drawn at random.
    n_clusters : int
        At least the number of labelled classes.
    n_restarts : int, default=10
        Draws of the other seeds; the run of lowest inertia is kept.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    kmeans : sklearn.cluster.KMeans
        The fitted k-means of lowest inertia.
    """
    rng = check_random_state(random_state)
    Z = np.asarray(Z, dtype=np.float64)
    seen = np.unique(codes[codes >= 0])
    seeds = np.stack([Z[codes == c].mean(0) for c in seen])
    n_random = n_clusters - len(seen)
    best = None
    for _ in range(n_restarts):
        drawn = Z[rng.choice(len(Z), n_random, replace=False)]
        init = np.vstack([seeds, drawn]) if n_random else seeds
        km = KMeans(n_clusters, init=init, n_init=1, random_state=rng.randint(2**31 - 1))
        km.fit(Z)
        if best is None or km.inertia_ < best.inertia_:
            best = km
        if not n_random:
            break
    return best


def anchor_clusters(cluster_labels, codes):
    """Give each labelled class the cluster most of its labelled rows fall in.

    One cluster per class (Hungarian assignment on the counts).

    Returns
    -------
    anchors : dict
        Cluster index -> class code.
    """
    labelled = codes >= 0
    seen = np.unique(codes[labelled])
    n_clusters = int(cluster_labels.max()) + 1
    counts = np.zeros((n_clusters, len(seen)))
    for j, c in enumerate(seen):
        np.add.at(counts[:, j], cluster_labels[labelled & (codes == c)], 1)
    rows, cols = linear_sum_assignment(-counts)
    return {int(k): int(seen[j]) for k, j in zip(rows, cols, strict=True)}


def name_clusters(
    cluster_means, class_means, anchors, unseen, *, n_starts=20, max_enumerated=8, random_state=None
):
    """Name the clusters without an anchor by the teacher's class relations.

    Finds the one-to-one assignment of the free clusters to the ``unseen``
    classes under which the squared distances between all cluster means
    (anchors included) best match, in squares, those between the teacher's
    class means; each distance matrix is divided by the mean of its
    off-diagonal entries, so the two spaces need no common scale.

    Parameters
    ----------
    cluster_means : ndarray of shape (n_clusters, n_features)
        Where each cluster lies in the student's space.
    class_means : ndarray of shape (n_classes, latent_dim)
        The teacher's class means.
    anchors : dict
        Cluster index -> class code, for the labelled classes.
    unseen : sequence of int
        Class codes to give the other clusters; as many as those clusters.
    n_starts : int, default=20
        Starts of the FAQ solver, beyond ``max_enumerated`` unseen classes.
    max_enumerated : int, default=8
        Up to this many unseen classes every assignment is tried (8! = 40320);
        beyond, :func:`scipy.optimize.quadratic_assignment` (FAQ) from
        ``n_starts`` starts.
    random_state : int, RandomState instance or None, default=None
        Seeds those starts.

    Returns
    -------
    naming : ndarray of shape (n_clusters,)
        The class code of each cluster.
    relational_fit : float
        ``1 - mismatch / mean mismatch over random namings``; ``0`` when
        there is one naming only.
    """
    unseen = [int(c) for c in unseen]
    free = [k for k in range(len(cluster_means)) if k not in anchors]
    if len(free) != len(unseen):
        raise ValueError(
            f"{len(free)} clusters have no anchor but {len(unseen)} classes are unseen; "
            "pass one cluster per class."
        )
    naming = np.full(len(cluster_means), -1, dtype=np.int64)
    for k, c in anchors.items():
        naming[k] = c
    class_means = np.asarray(class_means, dtype=np.float64)
    # a class the teacher lacks (no mean) anchors its cluster but is not matched
    anchors = {k: c for k, c in anchors.items() if np.isfinite(class_means[c]).all()}
    order = [*anchors, *free]  # clusters: anchors first
    A = _normalised(_squared_distances(np.asarray(cluster_means, dtype=np.float64)[order]))
    classes = [*anchors.values(), *unseen]
    B = _normalised(_squared_distances(class_means[classes]))
    n_anchor = len(anchors)
    if len(unseen) <= 1:
        naming[free] = unseen
        return naming, 0.0

    def mismatch(perms):
        # perms: (n_perms, n_unseen), indices into the unseen block of B
        full = np.hstack(
            [np.broadcast_to(np.arange(n_anchor), (len(perms), n_anchor)), perms + n_anchor]
        )
        Bp = B[full[:, :, None], full[:, None, :]]
        return ((A[None] - Bp) ** 2).sum(axis=(1, 2))

    u = len(unseen)
    rng = check_random_state(random_state)
    if u <= max_enumerated:
        perms = np.array(list(itertools.permutations(range(u))))
        costs = np.concatenate(
            [mismatch(part) for part in np.array_split(perms, max(1, len(perms) // 4096))]
        )
        best = perms[np.argmin(costs)]
        chance = costs.mean()
        best_cost = costs.min()
    else:
        seeds = [[i, i] for i in range(n_anchor)]
        results = [
            quadratic_assignment(
                A,
                B,
                method="faq",
                options={
                    "maximize": True,  # min ||A - P B P'||^2 is max tr(A P B P')
                    "partial_match": np.array(seeds) if seeds else None,
                    "P0": "randomized",
                    "rng": np.random.default_rng(rng.randint(2**31 - 1)),
                },
            )
            for _ in range(n_starts)
        ]
        candidates = np.array([r.col_ind[n_anchor:] - n_anchor for r in results])
        costs = mismatch(candidates)
        best, best_cost = candidates[np.argmin(costs)], costs.min()
        draws = np.array([rng.permutation(u) for _ in range(min(1000, math.factorial(min(u, 10))))])
        chance = mismatch(draws).mean()
    naming[free] = np.asarray(unseen)[best]
    return naming, float(1.0 - best_cost / chance) if chance > 0 else 0.0


def relational_p_value(
    cluster_means, class_means, anchors, unseen, fit, *, n_permutations=100, random_state=None
):
    """How often a teacher with its classes shuffled names the clusters as well.

    The control of a permuted teacher, inside ``fit``: the teacher's class
    means are given to its classes in a random order (relations that have
    nothing to do with the student's) and :func:`name_clusters` is run again,
    ``n_permutations`` times. The share of those runs whose relational fit
    reaches ``fit`` (counting the observed run) is a permutation p-value:
    small where the teacher's relations, anchors included, match the
    student's clusters better than relations drawn at random would.

    Returns
    -------
    p_value : float in (0, 1]
    """
    rng = check_random_state(random_state)
    class_means = np.asarray(class_means, dtype=np.float64)
    known = np.flatnonzero(np.isfinite(class_means).all(axis=1))  # the teacher's classes
    reached = 1
    for _ in range(n_permutations):
        shuffled = class_means.copy()
        shuffled[known] = class_means[rng.permutation(known)]
        _, null_fit = name_clusters(
            cluster_means, shuffled, anchors, unseen, n_starts=3, random_state=rng
        )
        reached += null_fit >= fit
    return reached / (n_permutations + 1)


def anchored_agreement(cluster_means, anchors, class_means):
    """Spearman correlation of the anchored clusters' distances with the teacher's.

    Over the pairs of anchored clusters: the squared distance between their
    means, against that between the teacher's means of their classes.
    ``None`` with fewer than three anchors (fewer than three pairs).
    """
    class_means = np.asarray(class_means, dtype=np.float64)
    anchored = sorted(k for k, c in anchors.items() if np.isfinite(class_means[c]).all())
    if len(anchored) < 3:
        return None
    upper = np.triu_indices(len(anchored), 1)
    student = _squared_distances(np.asarray(cluster_means)[anchored])[upper]
    teacher = _squared_distances(np.asarray(class_means)[[anchors[k] for k in anchored]])[upper]
    return float(spearmanr(student, teacher).statistic)


@dataclass
class FoundClusters:
    """The student's clusters and the names the teacher's relations give them.

    Attributes
    ----------
    kmeans : sklearn.cluster.KMeans
        The clusters of the embedding, one per class.
    embedding : ndarray of shape (n_samples, n_dims)
        What was clustered.
    naming : ndarray of shape (n_clusters,)
        The class code of each cluster.
    unseen : ndarray
        The codes of the classes without a labelled row.
    agreement : float or None
        :func:`anchored_agreement`.
    relational_fit : float
        From :func:`name_clusters`.
    p_value : float
        :func:`relational_p_value`.
    """

    kmeans: KMeans
    embedding: np.ndarray
    naming: np.ndarray
    unseen: np.ndarray
    agreement: float | None
    relational_fit: float
    p_value: float

    def trusted(self, min_fit=0.3, max_p_value=0.5):
        """Does the naming rest on the teacher's relations rather than on chance?

        Parameters
        ----------
        min_fit : float or None, default=0.3
            The naming must fit the teacher's class distances at least this
            much better than a naming at random (``relational_fit``);
            ``None``: no bound.
        max_p_value : float or None, default=0.5
            ... and better than this share of teachers with their classes
            shuffled (``p_value``); ``None``: no bound.

        Returns
        -------
        trusted : bool
        reason : str
            In words, for the decision record and the warning.
        """
        fit_ok = min_fit is None or self.relational_fit >= min_fit
        p_ok = max_p_value is None or self.p_value <= max_p_value
        bounds = (
            f"at least {min_fit}" if min_fit is not None else "no bound",
            f"at most {max_p_value}" if max_p_value is not None else "no bound",
        )
        if fit_ok and p_ok:
            return True, (
                f"named by the teacher's class relations: the naming fits them "
                f"{self.relational_fit:.2f} better than a naming at random ({bounds[0]}), "
                f"p = {self.p_value:.2f} against a teacher with its classes shuffled "
                f"({bounds[1]})"
            )
        return False, (
            f"the teacher's class relations fit the student's clusters too little: "
            f"{self.relational_fit:.2f} better than a naming at random (needs {bounds[0]}), "
            f"p = {self.p_value:.2f} against a teacher with its classes shuffled (needs "
            f"{bounds[1]}); a naming would be about chance"
        )

    def pseudo_labels(self, codes, labels_factor=1):
        """The codes with the rows nearest each unseen cluster's centre named.

        Per unseen class, ``labels_factor`` times as many unlabelled rows as
        a labelled class has labelled rows (the median), the nearest to its
        cluster's centre in the embedding.

        Returns
        -------
        codes : ndarray
            A copy, with the named rows.
        counts : list of int
            Rows named, per class of ``unseen``.
        """
        wanted = rows_to_name(codes, labels_factor)
        named = codes.copy()
        counts = []
        for code in self.unseen:
            cluster = int(np.flatnonzero(self.naming == code)[0])
            rows = np.flatnonzero((self.kmeans.labels_ == cluster) & (codes == -1))
            centre = self.kmeans.cluster_centers_[cluster]
            nearest = rows[np.argsort(((self.embedding[rows] - centre) ** 2).sum(1))[:wanted]]
            named[nearest] = code
            counts.append(len(nearest))
        return named, counts


def rows_to_name(codes, labels_factor=1):
    """Rows to name per unseen class: ``labels_factor`` times a labelled class's labelled rows.

    The median over the labelled classes, at least one.
    """
    labelled = codes[codes >= 0]
    per_class = int(np.median(np.bincount(labelled)[np.unique(labelled)]))
    return max(1, int(round(per_class * labels_factor)))


def name_unseen_classes(Z, X, codes, class_means, unseen, *, random_state=None):
    """Cluster the student's embedding and name the clusters without a labelled row.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_dims)
        The student's embedding of its training rows.
    X : ndarray of shape (n_samples, n_features)
        The same rows, standardised inputs: where the clusters' relations are
        measured (the embedding's may be the teacher's, drawn in by alignment).
    codes : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows; at least two labelled classes.
    class_means : ndarray of shape (n_classes, latent_dim)
        The teacher's class means; one cluster per class.
    unseen : array-like of int
        The codes without a labelled row.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    found : FoundClusters
    """
    rng = check_random_state(random_state)
    Z = np.asarray(Z, dtype=np.float64)
    kmeans = seeded_kmeans(Z, codes, len(class_means), random_state=rng)
    anchors = anchor_clusters(kmeans.labels_, codes)
    # k-means leaves no cluster empty
    means = np.stack([X[kmeans.labels_ == k].mean(0) for k in range(kmeans.n_clusters)])
    naming, fit = name_clusters(means, class_means, anchors, unseen, random_state=rng)
    agreement = anchored_agreement(means, anchors, class_means)
    p_value = relational_p_value(means, class_means, anchors, unseen, fit, random_state=rng)
    return FoundClusters(kmeans, Z, naming, np.asarray(unseen), agreement, fit, p_value)
