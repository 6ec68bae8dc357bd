"""UnseenClassNamer: name the teacher's classes the student has no labels for."""

import numbers

import numpy as np
from sklearn.base import clone

from ._compat import HasMethods, Interval, _fit_context
from ._inputs import input_scaler, sample_weights
from ._labels import encode_labels, unseen_codes
from ._meta import MetaDistiller, base_distiller, cached, check_seed, content_key, fit_weighing
from ._warnings import warn_user
from .exceptions import UnseenClassesWarning
from .unseen import UnseenNaming, name_unseen_classes

__all__ = ["UnseenClassNamer"]


class UnseenClassNamer(MetaDistiller):
    """Name the teacher's classes that have no labelled student row, then train on the names.

    A student fitted on labels for some of the teacher's classes has nothing
    in its own data that says which of its unlabelled rows belong to the
    others. The teacher knows how its classes lie relative to each other;
    where the student's modality arranges them alike, that names them
    (:mod:`skcmkd.unseen`):

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
    min_fit : float or None, default=0.3
        The naming must match the teacher's class distances at least this
        much better than a naming drawn at random (``1 - mismatch / mean
        mismatch``; 0 is chance). ``docs/probe_unseen_gate.md`` says how the
        default was chosen. ``None``: no bound.
    max_p_value : float or None, default=0.5
        ... and better than this share of teachers with their classes
        shuffled (:func:`skcmkd.unseen.relational_p_value`): a sanity bound
        for class counts the probe did not see. ``None``: no bound.
        ``min_fit=None, max_p_value=None`` names the classes whatever the
        evidence.
    labels_factor : float, default=1.0
        Rows named per unseen class, per labelled row of a seen class (the
        median over the seen classes).
    memory : None, str or joblib.Memory, default=None
        Where the first student's clusters and their naming are kept (as
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
    n_trainings_ : int
        Nets trained by the last ``fit``: the first student (unless
        ``memory`` held its result) and ``estimator_``'s own.
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
        "min_fit": [Interval(numbers.Real, None, None, closed="both"), None],
        "max_p_value": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "labels_factor": [Interval(numbers.Real, 0, None, closed="neither")],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, estimator, *, min_fit=0.3, max_p_value=0.5, labels_factor=1.0, memory=None):
        self.estimator = estimator
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
                    "UnseenClassNamer(min_fit=None, max_p_value=None) names them anyway; "
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
                f"{len(codes)} rows ({(codes == -1).sum()} unlabelled) are too few to cluster "
                f"into {n_classes} classes (at least {2 * n_classes} rows)"
            )
            return UnseenNaming(names, None, None, None, False, reason), codes, 0
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


def _nothing_to_name(unseen):
    if not unseen.size:
        return (
            "every class of the teacher has a labelled row, or there is no teacher: nothing to name"
        )
    return "no unlabelled row: nothing to name"
