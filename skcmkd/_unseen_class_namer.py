"""UnseenClassNamer: name the teacher's classes the student has no labels for."""

import numbers

import numpy as np
from sklearn.base import clone

from ._compat import HasMethods, Interval, StrOptions, _fit_context
from ._inputs import input_scaler, sample_weights
from ._labels import encode_labels, unseen_codes
from ._meta import MetaDistiller, base_distiller, cached, check_seed, content_key, fit_weighing
from ._warnings import warn_user
from .exceptions import UnseenClassesWarning
from .unseen import UnseenNaming, anchored_agreement, name_unseen_classes, rows_to_name
from .unseen_rows import name_rows, relation_space

__all__ = ["UnseenClassNamer"]


class UnseenClassNamer(MetaDistiller):
    """Name the teacher's classes that have no labelled student row, then train on the names.

    A student fitted on labels for some of the teacher's classes has nothing
    in its own data that says which of its unlabelled rows belong to the
    others. The teacher knows how its classes lie relative to each other;
    where the student's modality arranges them alike, that names them, in
    one of two ways (``method``).

    By rows (:mod:`skcmkd.unseen_rows`), the default where more than
    ``rows_above`` classes are unseen: every unlabelled row is scored against
    every teacher class through the labelled classes as anchors, in a
    whitened space of the student's inputs and of the teacher's embeddings;
    an optimal transport spreads the rows over the classes with their sizes
    estimated, and the class centres are re-estimated for a few rounds. No
    net is trained for it. Where the naming scores at least ``min_row_fit``
    standard deviations above the namings that teachers with their classes
    shuffled get, every unseen class whose rows keep their name when it is
    run on part of the rows (stability at least ``min_stability``) is named:
    its surest rows become labels, and the final model is fitted with them.

    By clusters (:mod:`skcmkd.unseen`), the default with fewer unseen
    classes:

    1. a first student is trained: a clone of ``estimator`` aligned to the
       teacher with its class arrangement evened out
       (``teacher_relations=0``), so that its clusters are its own;
    2. its embedding of the training rows is clustered, one cluster per
       class, the labelled classes anchoring theirs, and the other clusters
       get the unseen classes whose distances to the others best match the
       teacher's (a quadratic assignment);
    3. where that naming fits the teacher's class distances clearly better
       than a naming at random (``min_fit``) and than teachers with their
       classes shuffled (``max_p_value``), the unlabelled rows nearest each
       named cluster's centre become labels of its class, and the final
       model, a clone of ``estimator``, is fitted with them. Elsewhere it
       warns (:class:`~skcmkd.exceptions.UnseenClassesWarning`) and fits the
       final model on the labels as given.

    Where every teacher class has a labelled row (or there is no teacher, or
    no unlabelled row) it fits ``estimator`` alone: one training.

    Parameters
    ----------
    estimator : CrossModalDistiller or a skcmkd meta-estimator around one
        The model to fit; the teacher is that of the
        :class:`~skcmkd.CrossModalDistiller` at the end of its chain.
    method : {"auto", "rows", "clusters"}, default="auto"
        How the unseen classes are named. ``"auto"``: by rows where more than
        ``rows_above`` classes are unseen, by clusters otherwise.
        ``docs/probe_unseen_rows.md`` measures both.
    rows_above : int, default=8
        With ``method="auto"``, the most unseen classes named by clusters
        (8 is as far as the clusters' assignment is solved exactly).
    min_row_fit : float or None, default=3.0
        By rows: the naming's score (the mean profile correlation of the rows
        with their classes) must lie at least this many standard deviations
        above the scores of teachers with their classes shuffled
        (:attr:`skcmkd.unseen_rows.RowNaming.relational_fit`). ``None``: no
        bound.
    estimate_sizes : bool, default=True
        By rows: estimate the student's class sizes from its rows (starting
        from the teacher's priors); ``False`` keeps the teacher's priors, a
        little better where the student's classes are as balanced as the
        teacher's (``docs/probe_unseen_rows.md``).
    min_stability : float, default=0.5
        By rows: an unseen class is named only where at least this share of
        its rows keep its name when the naming runs on 70% of the unlabelled
        rows (:attr:`skcmkd.unseen_rows.RowNaming.stability`); the others
        stay unnamed. ``0`` names every class.
    min_fit : float or None, default=0.3
        By clusters: the naming must match the teacher's class distances at least this
        much better than a naming drawn at random (``1 - mismatch / mean
        mismatch``; 0 is chance). ``docs/probe_unseen_gate.md`` says how the
        default was chosen. ``None``: no bound.
    max_p_value : float or None, default=0.5
        By clusters: ... and better than this share of teachers with their classes
        shuffled (:func:`skcmkd.unseen.relational_p_value`): a sanity bound
        for class counts the probe did not see. ``None``: no bound.
        ``min_fit=None, max_p_value=None`` names the classes whatever the
        evidence.
    labels_factor : float, default=1.0
        Rows named per unseen class, per labelled row of a seen class (the
        median over the seen classes).
    memory : None, str or joblib.Memory, default=None
        By clusters: where the first student's clusters and their naming are kept (as
        :class:`~sklearn.pipeline.Pipeline`'s ``memory``): a later fit on the
        same rows, labels and settings (the teacher compared by content)
        reuses them instead of training that student again. The distiller's
        ``random_state`` must be fixed for a fit to find the last one's.
        ``None`` keeps nothing.

    Attributes
    ----------
    estimator_ : estimator
        The final model, fitted on the named rows where the classes were named.
    decision_ : UnseenNaming
        The unseen classes, the evidence, whether they were named and why,
        and how many rows each was given.
    method_ : str or None
        ``"rows"`` or ``"clusters"``: how the last ``fit`` named the unseen
        classes; ``None`` where there was nothing to name.
    n_trainings_ : int
        Nets trained by the last ``fit``: by clusters, the first student
        (unless ``memory`` held its result); and ``estimator_``'s own.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    make_safe_distiller : the recommended default, which includes this step.
    skcmkd.unseen.name_unseen_classes : the naming itself.

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd import CrossModalDistiller, UnseenClassNamer
    >>> rng = np.random.RandomState(0)
    >>> y_t = np.arange(90) % 3; X_t = rng.randn(90, 4) + 4 * np.eye(4)[y_t]
    >>> y_s = np.arange(90) % 3; X_s = rng.randn(90, 3) + 4 * np.eye(3)[y_s]
    >>> y_s[(y_s == 2) | (np.arange(90) >= 30)] = -1  # class 2 has no labelled row
    >>> namer = UnseenClassNamer(CrossModalDistiller(max_epochs=3, random_state=0))
    >>> namer = namer.set_teacher(X_t, y_t, max_epochs=3).fit(X_s, y_s)
    >>> namer.decision_.unseen
    [2]
    >>> namer.n_trainings_
    2
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "set_teacher", "decision_function"])],
        "method": [StrOptions({"auto", "rows", "clusters"})],
        "rows_above": [Interval(numbers.Integral, 0, None, closed="left")],
        "min_row_fit": [Interval(numbers.Real, None, None, closed="both"), None],
        "min_stability": [Interval(numbers.Real, 0, 1, closed="both")],
        "estimate_sizes": ["boolean"],
        "min_fit": [Interval(numbers.Real, None, None, closed="both"), None],
        "max_p_value": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "labels_factor": [Interval(numbers.Real, 0, None, closed="neither")],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        estimator,
        *,
        method="auto",
        rows_above=8,
        min_row_fit=3.0,
        min_stability=0.5,
        estimate_sizes=True,
        min_fit=0.3,
        max_p_value=0.5,
        labels_factor=1.0,
        memory=None,
    ):
        self.estimator = estimator
        self.method = method
        self.rows_above = rows_above
        self.min_row_fit = min_row_fit
        self.min_stability = min_stability
        self.estimate_sizes = estimate_sizes
        self.min_fit = min_fit
        self.max_p_value = max_p_value
        self.labels_factor = labels_factor
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Name the unseen classes where the teacher's relations allow, then fit the final model.

        Should the fit raise, the estimator is left as it was before it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Student-modality inputs.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (or ``"-1"``) marks an unlabelled row.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the labelled rows, given to the first student and the
            final model (named rows weigh 1). ``None`` or all ones: unweighted.

        Returns
        -------
        self : UnseenClassNamer
        """
        return self._fit_or_keep(self._fit, X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        X, y = self._validate_training_data(X, y)
        weights = sample_weights(sample_weight, X)
        distiller, _ = base_distiller(self.estimator)
        teacher = distiller.teacher
        classes, codes = encode_labels(teacher, y)
        unseen = unseen_codes(teacher, classes, codes)
        named_codes, trainings = codes, 0
        self.method_ = None
        if not unseen.size or not (codes == -1).any():
            self.decision_ = UnseenNaming(
                classes[unseen].tolist(), None, None, None, False, _nothing_to_name(unseen)
            )
        else:
            self.decision_, named_codes, trainings = self._name(
                X, y, weights, classes, codes, unseen
            )
            if not self.decision_.named:
                warn_user(
                    f"The teacher's classes {self.decision_.unseen} have no labelled row and are "
                    f"not named: {self.decision_.reason}. The model predicts them only where the "
                    "teacher's head does on the aligned embeddings, which is rare. "
                    f"{_anyway(self.method_)} names them anyway; "
                    "labelling a few of their rows is the sure way.",
                    UnseenClassesWarning,
                )
        if distiller.verbose:
            print(f"UnseenClassNamer: {self.decision_.reason}")
        final = clone(self.estimator)
        if named_codes is codes:
            final.fit(X, y, sample_weight=weights)
        else:
            # the named rows keep the weight the alignment gives unlabelled rows
            share = float(np.mean(codes == -1))
            named = _named(y, classes, codes, named_codes)
            fit_weighing(
                final, X, named, share, sample_weight=_named_weights(weights, codes, named_codes)
            )
        self.estimator_ = final
        self.classes_ = final.classes_
        self.n_trainings_ = trainings + final.n_trainings_
        return self

    def _name(self, X, y, weights, classes, codes, unseen):
        """The naming record, the codes to train on and the trainings run."""
        names = classes[unseen].tolist()
        seen = np.unique(codes[codes >= 0])
        if len(seen) < 2:
            reason = "fewer than two classes have a labelled row: nothing anchors the relations"
            return UnseenNaming(names, None, None, None, False, reason), codes, 0
        n_classes = len(classes)
        if len(codes) < 2 * n_classes or (codes == -1).sum() < len(unseen):
            reason = (
                f"{len(codes)} rows ({(codes == -1).sum()} unlabelled) are too few to name "
                f"{n_classes} classes by (at least {2 * n_classes} rows)"
            )
            return UnseenNaming(names, None, None, None, False, reason), codes, 0
        by_rows = self.method == "rows" or (self.method == "auto" and len(unseen) > self.rows_above)
        self.method_ = "rows" if by_rows else "clusters"
        if by_rows:
            return (*self._name_by_rows(X, classes, codes, unseen), 0)
        # the first student's arrangement is its own: the teacher's is evened out
        first = self._clone_with(teacher_relations=0.0)
        seed = check_seed(base_distiller(first)[0])
        args = (X, y, weights, classes, codes, unseen, seed)
        (found, trained), hit = cached(
            self.memory, _found_clusters, first, content_key(first), *args, ignore=["first"]
        )
        evidence = (found.agreement, found.relational_fit, found.p_value)
        trusted, reason = found.trusted(self.min_fit, self.max_p_value)
        trainings = 0 if hit else trained
        if not trusted:
            return UnseenNaming(names, *evidence, False, reason), codes, trainings
        named, counts = found.pseudo_labels(codes, self.labels_factor)
        return UnseenNaming(names, *evidence, True, reason, counts), named, trainings

    def _name_by_rows(self, X, classes, codes, unseen):
        """By rows (:mod:`skcmkd.unseen_rows`): the naming record and the codes to train on."""
        names = classes[unseen].tolist()
        teacher = base_distiller(self.estimator)[0].teacher
        seed = check_seed(base_distiller(self.estimator)[0])
        # the naming runs on the teacher's classes; a class only the student has is left out
        positions = teacher.positions_in(classes)
        on_teacher = np.full(len(classes), -1)
        on_teacher[positions] = np.arange(len(positions))
        teacher_codes = np.where(codes >= 0, on_teacher[np.maximum(codes, 0)], -1)
        inside = (codes == -1) | (teacher_codes >= 0)
        inside_codes = teacher_codes[inside]
        seen = np.unique(inside_codes[inside_codes >= 0])
        if len(seen) < 2:
            reason = (
                "fewer than two of the teacher's classes have a labelled row: nothing anchors "
                "the relations"
            )
            return UnseenNaming(names, None, None, None, False, reason), codes
        means = teacher.relation_means_
        student = relation_space(X[inside])
        naming = name_rows(
            student,
            inside_codes,
            means,
            on_teacher[unseen],
            prior=teacher.prior_,
            estimate_sizes=self.estimate_sizes,
            random_state=seed,
        )
        anchors = {int(k): int(k) for k in seen}
        seen_means = np.full((len(positions), student.shape[1]), np.nan)
        for k in seen:
            seen_means[k] = student[inside_codes == k].mean(axis=0)
        agreement = anchored_agreement(seen_means, anchors, means)
        evidence = (agreement, naming.relational_fit, naming.p_value)
        stability = [float(naming.stability[k]) for k in on_teacher[unseen]]
        if self.min_row_fit is not None and not naming.relational_fit >= self.min_row_fit:
            reason = (
                f"the teacher's class relations fit the student's rows too little: the naming "
                f"scores {naming.relational_fit:.1f} standard deviations above teachers with their "
                f"classes shuffled (needs at least {self.min_row_fit}); a naming would be about "
                "chance"
            )
            return UnseenNaming(names, *evidence, False, reason, [], stability), codes
        named_inside, counts = naming.pseudo_labels(
            inside_codes,
            per_class=rows_to_name(codes, self.labels_factor),
            min_stability=self.min_stability,
        )
        named = codes.copy()
        rows = np.flatnonzero(inside)
        newly = named_inside != inside_codes
        named[rows[newly]] = positions[named_inside[newly]]
        if not any(counts):
            reason = (
                f"no unseen class is stable enough to name: the stabilities are at most "
                f"{np.nanmax(stability):.2f} (needs at least {self.min_stability})"
            )
            return UnseenNaming(names, *evidence, False, reason, [], stability), codes
        bound = "no bound" if self.min_row_fit is None else f"at least {self.min_row_fit}"
        reason = (
            f"named by the teacher's class relations, row by row: the naming scores "
            f"{naming.relational_fit:.1f} standard deviations above teachers with their classes "
            f"shuffled ({bound}); {sum(c > 0 for c in counts)} of "
            f"{len(counts)} unseen classes stable enough to name (stability at least "
            f"{self.min_stability})"
        )
        return UnseenNaming(names, *evidence, True, reason, counts, stability), named


def _found_clusters(first, key, X, y, weights, classes, codes, unseen, seed):
    """Train the first student, cluster its embedding, name the clusters (kept by ``memory``).

    ``memory`` keys the student by ``key`` (:func:`~skcmkd._meta.content_key`).

    Returns
    -------
    found : skcmkd.unseen.FoundClusters
    trainings : int
        Nets the first student trained.
    """
    first.fit(X, y, sample_weight=weights)
    z = first.transform(X)
    X_scaled = input_scaler().fit(X).transform(X).astype(np.float32)
    teacher = base_distiller(first)[0].teacher
    # a class the teacher lacks has no teacher mean: it anchors, it is not matched
    class_means = np.full((len(classes), teacher.latent_dim_), np.nan)
    class_means[teacher.positions_in(classes)] = teacher.class_means_
    found = name_unseen_classes(z, X_scaled, codes, class_means, unseen, random_state=seed)
    return found, first.n_trainings_


def _named(y, classes, codes, named_codes):
    """``y`` with the named rows given their class (in a dtype that holds the labels)."""
    rows = np.flatnonzero(named_codes != codes)
    labels = classes[named_codes[rows]]
    same_kind = {y.dtype.kind, labels.dtype.kind} <= set("US") or {
        y.dtype.kind,
        labels.dtype.kind,
    } <= set("iuf")
    named = y.astype(np.result_type(y.dtype, labels.dtype) if same_kind else object)
    named[rows] = labels
    return named


def _named_weights(weights, codes, named_codes):
    """The sample weights of the final fit: the user's; a named row, their labelled rows' mean."""
    if weights is None:
        return None
    labelled = weights[codes >= 0]
    weights = weights.copy()
    weights[named_codes != codes] = labelled.mean() if len(labelled) else 1.0
    return weights


def _anyway(method):
    """The settings that name whatever the evidence, for the method that declined."""
    if method == "rows":
        return "UnseenClassNamer(min_row_fit=None, min_stability=0)"
    return "UnseenClassNamer(min_fit=None, max_p_value=None)"


def _nothing_to_name(unseen):
    if not unseen.size:
        return (
            "every class of the teacher has a labelled row, or there is no teacher: nothing to name"
        )
    return "no unlabelled row: nothing to name"
