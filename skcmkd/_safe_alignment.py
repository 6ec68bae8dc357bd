r"""SafeAlignment: keep the alignment only where the labelled rows confirm it."""

import numbers
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import check_cv

from ._compat import HasMethods, Interval, StrOptions, _fit_context
from ._inputs import input_scaler, labelled_mask, relative_weights, sample_weights
from ._labels import encode_labels, unseen_codes
from ._meta import MetaDistiller, base_distiller, cached, check_seed, content_key, fit_weighing
from ._pickling import version
from ._stacked import fit_predict_stacked
from .assumptions import (
    ClusterCheck,
    HoldoutCheck,
    check_clusters,
    fold_rights,
    holdout_folds,
    holdout_rights,
    holdout_rows,
    n_folds,
    summarise_holdout,
)
from .fallback import FallbackChoice, fit_linear_fallback

__all__ = ["AlignmentDecision", "SafeAlignment"]


@dataclass(frozen=True)
class AlignmentDecision:
    """What :class:`SafeAlignment` decided, and the numbers that decided it.

    Attributes
    ----------
    branch : str
        ``"nothing_to_align"`` (no unlabelled row, or no term that uses
        them: nothing was checked), ``"clusters_off"`` (the cluster check
        turned the alignment off), ``"holdout_off"`` (the held-out check
        turned it off), ``"holdout_on"`` (the held-out check kept it),
        ``"unmeasured_on"`` (the held-out check could not measure it: too
        few labelled rows, or classes without any; it stays as the cluster
        check set it) or ``"clusters_on"`` (``cv=None``: the cluster check
        alone kept it).
    aligned : bool
        Whether the final model trains with the alignment terms.
    unlabeled_trust : float
        The factor set on the final distiller's ``unlabeled_trust`` (its own
        value times the cluster check's trust; 0 where the alignment is off).
    clusters : ClusterCheck or None
        :func:`skcmkd.assumptions.check_clusters`; ``None`` where not run.
    holdout : HoldoutCheck or None
        The held-out comparison (:func:`skcmkd.assumptions.summarise_holdout`);
        ``None`` where not run.
    fallback : FallbackChoice or None
        The linear fall-back (:func:`skcmkd.fallback.fit_linear_fallback`);
        ``None`` where the final model is aligned, or ``fallback=None``.
    reason : str
        The decision in words.
    """

    branch: str
    aligned: bool
    unlabeled_trust: float
    clusters: ClusterCheck | None
    holdout: HoldoutCheck | None
    fallback: FallbackChoice | None
    reason: str

    def to_dict(self):
        """The decision as plain data (nested records as dicts)."""
        return asdict(self)


class SafeAlignment(MetaDistiller):
    r"""Keep a distiller's alignment only where the labelled rows confirm it; else fall back.

    The alignment terms (feature, label and neighbour alignment) pull the
    unlabelled student rows into clusters. They help where rows that lie
    close in the student's input space share a class, and hurt where they
    share something else (a voice, a sensor, a noise level). This
    meta-estimator checks that before training the final model, in two
    steps, and falls back to the student trained alone where either says no:

    1. **Cluster check** (no training): do the labelled rows' classes spread
       along the input-space neighbour graph about as well as a logistic
       regression predicts them (:func:`skcmkd.assumptions.check_clusters`)?
       Its lower confidence bound maps through ``cluster_ramp`` to a trust
       in ``[0, 1]``, which multiplies the distiller's ``unlabeled_trust``.
    2. **Held-out check** (``2 * cv`` students, trained together as one
       net): on ``cv`` folds of the labelled rows, students trained with and
       without the alignment (the fold's labels hidden, its rows kept
       unlabelled) predict the held-out labels; the alignment stays only if
       it wins by ``margin``
       (:func:`skcmkd.assumptions.compare_on_holdout`). Skipped where the
       teacher has classes without a labelled row (held-out labels cannot
       measure what only the alignment can give them), and with
       ``cv=None``.

    Where the final model trains without any alignment term, its
    predictions add the logits of a logistic regression on the labelled rows
    (``fallback="linear"``, :mod:`skcmkd.fallback`; ``docs/fallback.md`` says
    why).

    Parameters
    ----------
    estimator : CrossModalDistiller or a skcmkd meta-estimator around one
        The model to fit. The checks train clones of the
        :class:`~skcmkd.CrossModalDistiller` at the end of its chain (its
        ``estimator`` parameters); the final model is a clone of
        ``estimator`` itself, stored in ``estimator_``.
    margin : float, default=0.04
        Accuracy (a fraction) on the held-out labelled rows by which the
        aligned students must beat the plain ones for the alignment to stay.
        ``-inf`` measures and always keeps it.
    cv : int, cross-validation splitter, iterable or None, default=3
        Folds of the held-out check over the labelled rows (each held out
        once): an int is that many shuffled folds, stratified where every
        class has that many labelled rows; a splitter
        (``StratifiedKFold(5)``...) splits them as it is, and an iterable
        of ``(train, test)`` index arrays into the labelled rows, in their
        order, gives the folds themselves (beyond ``max_rows`` rows, into
        the labelled rows of the rows drawn; a list, not a generator, which
        one fit would spend). ``None`` skips the check: the cluster check alone
        decides, and no net but the final one is trained.
    max_rows : int, default=512
        The held-out check's students train on at most this many rows
        (:func:`skcmkd.assumptions.holdout_rows`: every labelled row up to
        half of them, the rest unlabelled).
    check_transport_every : int or None, default=None
        The ``transport_every`` of the held-out check's aligned students:
        ``None`` trains them on the distiller's own schedule; ``1`` solves the
        transport at every step, as skcmkd 0.3.0's students did.
    check_max_epochs : int or None, default=25
        The epochs of the held-out check's students, at most the
        distiller's ``max_epochs``; ``None``: the distiller's.
    stack_students : bool, default=True
        Train the held-out check's students together, as one net whose
        weights carry a leading "student" axis (:mod:`skcmkd._stacked`): one
        forward, backward and optimizer step per batch for all of them, with
        the same batches and one dropout mask per step. Each is the student
        its own fit would train up to dropout draws and rounding. ``False``
        trains them one by one, each as its own
        :class:`~skcmkd.CrossModalDistiller` fit.

        ``margin``, ``max_rows``, ``check_max_epochs`` and
        ``check_transport_every`` were chosen together on probe seeds of
        four data families, leaving one family out at a time
        (``docs/check_rows.md``); skcmkd 0.3.0's check is
        ``max_rows=2000, check_transport_every=1, check_max_epochs=None,
        stack_students=False``.
    cluster_ramp : (float, float), default=(0.5, 0.9)
        The cluster check's lower confidence bound of the graph's skill
        maps to a trust of 0 at or below the first value and 1 at or above
        the second, linear between (a step where they are equal).
        ``(-inf, -inf)`` keeps the trust at 1 whatever the check measures.
    fallback : {"linear"} or None, default="linear"
        What joins the net's predictions where the final model trains
        without alignment (and every class has a labelled row): a logistic
        regression on the labelled rows, in the feature scaling its
        cross-validation prefers. ``None``: the net alone.
    memory : None, str or joblib.Memory, default=None
        Where the checks' results are kept (as :class:`~sklearn.pipeline.Pipeline`'s
        ``memory``): a later fit on the same rows, labels and settings (the
        teacher compared by content, see :meth:`skcmkd.Teacher.fingerprint`)
        reuses them instead of training the held-out students again (a grid
        search over ``margin``, refits of the same data, later runs of a
        script). The distiller's ``random_state`` must be fixed for a fit to
        find the last one's. ``None`` keeps nothing.

    Attributes
    ----------
    estimator_ : estimator
        The final model: a clone of ``estimator`` whose distiller's
        ``unlabeled_trust`` is ``decision_.unlabeled_trust``.
    decision_ : AlignmentDecision
        What was decided, on what numbers.
    fallback_ : LinearFallback or None
        The logistic regression whose logits the predictions add.
    n_trainings_ : int
        Trainings run by the last ``fit``: the held-out students' (one for
        all of them where ``stack_students``, one each otherwise; none where
        ``memory`` held their results) and ``estimator_``'s own.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    make_safe_distiller : this meta-estimator around an unseen-class namer
        around a distiller: the recommended default.
    sklearn.semi_supervised.SelfTrainingClassifier : the pattern followed.

    References
    ----------
    .. [1] Li and Zhou. "Towards making unlabeled data never hurt", IEEE
       TPAMI 37(1), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd import CrossModalDistiller, SafeAlignment
    >>> rng = np.random.RandomState(0)
    >>> y_t = np.arange(60) % 2; X_t = rng.randn(60, 4) + 3 * y_t[:, None]
    >>> y_s = np.arange(60) % 2; X_s = rng.randn(60, 3) + 3 * y_s[:, None]
    >>> y_s[12:] = -1
    >>> safe = SafeAlignment(CrossModalDistiller(max_epochs=3, random_state=0))
    >>> safe = safe.set_teacher(X_t, y_t, max_epochs=3).fit(X_s, y_s)
    >>> safe.decision_.branch in {"clusters_off", "holdout_off", "holdout_on"}
    True
    >>> safe.n_trainings_ in (1, 2)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "set_teacher", "decision_function"])],
        "margin": [Interval(numbers.Real, None, None, closed="both")],
        "cv": [
            Interval(numbers.Integral, 2, None, closed="left"),
            HasMethods(["split", "get_n_splits"]),
            "cv_object",
            None,
        ],
        "max_rows": [Interval(numbers.Integral, 2, None, closed="left")],
        "check_transport_every": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "check_max_epochs": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "stack_students": ["boolean"],
        "cluster_ramp": [tuple, list],
        "fallback": [StrOptions({"linear"}), None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        estimator,
        *,
        margin=0.04,
        cv=3,
        max_rows=512,
        check_transport_every=None,
        check_max_epochs=25,
        stack_students=True,
        cluster_ramp=(0.5, 0.9),
        fallback="linear",
        memory=None,
    ):
        self.estimator = estimator
        self.margin = margin
        self.cv = cv
        self.max_rows = max_rows
        self.check_transport_every = check_transport_every
        self.check_max_epochs = check_max_epochs
        self.stack_students = stack_students
        self.cluster_ramp = cluster_ramp
        self.fallback = fallback
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Check the alignment on the labelled rows, then fit the final model.

        Should the fit raise, the estimator is left as it was before it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Student-modality inputs.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (or ``"-1"``) marks an unlabelled row.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the labelled rows, given to every fit this one makes
            (the held-out students, the final model, the linear fall-back);
            only their ratios count, and the cluster check weighs the rows
            alike. ``None``, or one weight for every labelled row:
            unweighted.

        Returns
        -------
        self : SafeAlignment
        """
        return self._fit_or_keep(self._fit, X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        ramp = _check_ramp(self.cluster_ramp)
        X, y = self._validate_training_data(X, y)
        weights = sample_weights(sample_weight, X)
        distiller, _ = base_distiller(self.estimator)
        seed = check_seed(distiller)
        classes, codes = encode_labels(distiller.teacher, y)
        scaler = input_scaler().fit(X)
        unseen = unseen_codes(distiller.teacher, classes, codes)
        trust, clusters, holdout, trainings = float(distiller.unlabeled_trust), None, None, 0
        if (codes == -1).any() and distiller._weighted_terms(codes, unlabeled_share=1.0):
            X_scaled = scaler.transform(X).astype(np.float32)
            clusters, _ = cached(
                self.memory, _check_clusters, X_scaled, codes, ramp, seed, version()
            )
            trust *= clusters.trust
            if trust > 0 and unseen.size:
                holdout = HoldoutCheck.not_measured(
                    f"the teacher's classes {classes[unseen].tolist()} have no labelled row: "
                    "held-out labels cannot measure what the alignment gives them, and only "
                    "it can predict them; the alignment stays as the cluster check set it"
                )
            elif trust > 0 and self.cv is not None:
                holdout, trainings = self._check_holdout(
                    distiller, X, y, weights, classes, codes, trust, seed
                )
                if not holdout.keep:
                    trust = 0.0
        final = self._clone_with(unlabeled_trust=trust)
        aligned = bool(base_distiller(final)[0]._weighted_terms(codes))
        fallback, choice = None, None
        if self.fallback == "linear" and not aligned and not unseen.size:
            (fallback, choice), _ = cached(
                self.memory,
                _linear_fallback,
                *(X, codes, len(classes), scaler, relative_weights(weights, codes), seed),
                version(),
            )
        branch = _branch(clusters, holdout, aligned)
        self.decision_ = AlignmentDecision(
            branch=branch,
            aligned=aligned,
            unlabeled_trust=trust,
            clusters=clusters,
            holdout=holdout,
            fallback=choice,
            reason=_reason(branch, clusters, holdout, choice, trust),
        )
        if distiller.verbose:
            print(f"SafeAlignment: {self.decision_.reason}")
        self.estimator_ = final.fit(X, y, sample_weight=weights)
        self.fallback_ = fallback
        self.classes_ = self.estimator_.classes_
        self.n_trainings_ = trainings + self.estimator_.n_trainings_
        return self

    def _check_holdout(self, distiller, X, y, weights, classes, codes, trust, seed):
        """The held-out comparison of the aligned and the plain student; trainings it ran."""
        # an iterable of splits becomes a splitter; an int keeps its own folds
        cv = self.cv if isinstance(self.cv, numbers.Integral) else check_cv(self.cv)
        n_splits = n_folds(cv)
        rows = holdout_rows(codes, max_rows=self.max_rows, n_splits=n_splits, random_state=seed)
        # the students weigh the terms as the final fit will, though folds hide labels
        share = float(np.mean(codes == -1))
        student = clone(distiller).set_params(
            unlabeled_trust=trust,
            transport_every=self.check_transport_every or distiller.transport_every,
            max_epochs=min(self.check_max_epochs or np.inf, distiller.max_epochs),
        )
        args = (X[rows], y[rows], None if weights is None else weights[rows], classes, share)
        args = (*args, cv, seed, self.stack_students)
        (aligned_right, plain_right, trained), hit = cached(
            self.memory, _holdout_rights, student, content_key(student), *args, ignore=["student"]
        )
        check = summarise_holdout(
            codes[rows], aligned_right, plain_right, n_splits=n_splits, margin=self.margin
        )
        return check, 0 if hit else trained

    def _logits(self, X):
        logits = self.estimator_._logits(X)
        if self.fallback_ is not None:
            logits = logits + self.fallback_.logits(X)
        return logits


def _check_ramp(ramp):
    """``cluster_ramp`` as two floats, the first not above the second."""
    try:
        low, high = (float(value) for value in ramp)
    except (TypeError, ValueError):
        low = high = None
    if low is None or np.isnan([low, high]).any() or low > high:
        raise ValueError(
            f"cluster_ramp must be two numbers (low, high) with low <= high, got {ramp!r}: "
            "for example (0.5, 0.9), the default, or (-inf, -inf) to keep the trust at 1."
        )
    return low, high


def _check_clusters(X_scaled, codes, ramp, seed, skcmkd_version):
    """:func:`skcmkd.assumptions.check_clusters` at its defaults (kept by ``memory``)."""
    return check_clusters(X_scaled, codes, ramp=ramp, random_state=seed)


def _linear_fallback(X, codes, n_classes, scaler, weights, seed, skcmkd_version):
    """:func:`skcmkd.fallback.fit_linear_fallback` at its defaults (kept by ``memory``)."""
    return fit_linear_fallback(
        X, codes, n_classes, scaler, sample_weight=weights, random_state=seed
    )


def _holdout_rights(student, key, X, y, weights, classes, unlabeled_share, cv, seed, stacked):
    """Which held-out labelled rows clones of ``student`` get right (kept by ``memory``).

    ``memory`` keys the student by ``key`` (:func:`~skcmkd._meta.content_key`).
    The aligned students keep the student's parameters (its
    ``transport_every`` is ``check_transport_every``); the plain ones have no
    alignment term. Every student predicts ``classes``, labelled in its fold
    or not. ``stacked``: all of them trained together
    (:func:`skcmkd._stacked.fit_predict_stacked`); else one by one, each its
    own fit.

    Returns
    -------
    aligned_right, plain_right : ndarray or None
        As :func:`skcmkd.assumptions.holdout_rights`.
    trainings : int
        Nets trained (a stack counts as one).
    """
    labelled = labelled_mask(y)
    codes = np.full(len(y), -1, dtype=np.int64)
    codes[labelled] = np.searchsorted(classes, y[labelled])
    if not stacked:
        trained = []

        def fit_predict(train_codes, aligned):
            fold = clone(student) if aligned else clone(student).set_params(unlabeled_trust=0.0)
            fit_weighing(fold, X, _hidden(y, train_codes), unlabeled_share, classes, weights)
            trained.append(fold.n_trainings_)
            return np.searchsorted(classes, fold.predict(X))

        aligned_right, plain_right = holdout_rights(codes, fit_predict, cv=cv, random_state=seed)
        return aligned_right, plain_right, sum(trained)
    folds = holdout_folds(codes, cv=cv, random_state=seed)
    if folds is None:
        return None, None, 0
    columns = [_hidden(y, train_codes) for train_codes, _ in folds for _ in range(2)]
    trusts = [student.unlabeled_trust, 0.0] * len(folds)
    predicted = fit_predict_stacked(
        student,
        X,
        columns,
        trusts,
        classes=classes,
        unlabeled_share=unlabeled_share,
        weights=weights,
    )
    pairs = list(zip(predicted[0::2], predicted[1::2], strict=True))  # (aligned, plain) per fold
    aligned_right, plain_right = fold_rights(codes, folds, pairs)
    return aligned_right, plain_right, 1


def _hidden(y, train_codes):
    """``y`` with the rows whose code is ``-1`` marked unlabelled."""
    if y.dtype.kind in "US":  # "-1" among strings; a dtype wide enough to hold it
        hidden = y.astype(np.result_type(y.dtype, np.array("-1").dtype))
        hidden[train_codes == -1] = "-1"
    else:
        hidden = y.copy()
        hidden[train_codes == -1] = -1
    return hidden


def _branch(clusters, holdout, aligned):
    if clusters is None:
        return "nothing_to_align"
    if holdout is None:
        return "clusters_on" if aligned else "clusters_off"
    if not holdout.measured:
        return "unmeasured_on"
    return "holdout_on" if holdout.keep else "holdout_off"


def _reason(branch, clusters, holdout, fallback, trust):
    """The decision in one paragraph."""
    said = {
        "nothing_to_align": "no unlabelled row or no alignment term: nothing to check",
        "clusters_off": (
            f"cluster check: graph {clusters.graph_accuracy:.3f} against linear "
            f"{clusters.linear_accuracy:.3f}, skill {clusters.skill:.2f} +- "
            f"{clusters.skill_sd:.2f}: trust 0, the student trains alone"
            if clusters is not None and clusters.checked
            else "cluster check: trust 0"
        ),
    }.get(branch)
    if branch == "clusters_on":
        said = f"cluster check trust {trust:.2f}; no held-out check (cv=None)"
    elif said is None:
        said = (
            f"cluster check trust {clusters.trust:.2f}; held-out check: {holdout.reason}; "
            f"unlabeled_trust {trust:.2f}"
        )
    if fallback is not None:
        said += f"; fall-back: {fallback.reason}"
    return said
