"""CrossModalDistiller: the scikit-learn surface of skcmkd."""

import copy
import numbers

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import TransformerTags
from skorch import NeuralNet
from skorch.callbacks import ProgressBar

from . import neighbors as neighbor_search
from ._compat import Interval, StrOptions, _fit_context, validate_data
from ._criterion import DistillationLoss, check_terms
from ._inputs import (
    check_device,
    check_features_and_labels,
    check_teacher_data,
    input_scaler,
    naming_input,
    relative_weights,
    sample_weights,
)
from ._labels import encode_labels, teacher_codes, unseen_codes
from ._net import StudentRows, student_net
from ._pickling import VersionedPickle
from ._predicting import LogitPredictions
from ._teacher import (
    Teacher,
    check_teacher_encoder,
    fit_teacher,
    torch_seed,
    widen_head,
    widen_target,
)
from ._warnings import warn_user
from .alignment import SOLVERS, class_priors
from .assumptions import relation_agreement_codes, relations_from_agreement
from .exceptions import NonFiniteLossError
from .neighbors import neighbor_table
from .terms import FeatureAlignment, LabelAlignment, NeighborConsistency

__all__ = ["CrossModalDistiller"]

#: Keyword arguments routed skorch-style: ``module__*`` to the student encoder,
#: the others to the student's skorch net, which routes them as skorch does.
_ROUTED_PREFIXES = tuple(
    f"{prefix}__" for prefix in ("module", "criterion", "optimizer", *NeuralNet.prefixes_)
)


#: Parameters of skcmkd 0.2 that became meta-estimators: where each went.
_MOVED = {
    "unlabeled_trust": "the checks of unlabeled_trust='auto' are SafeAlignment's",
    "fallback": "the linear fall-back is SafeAlignment(fallback=...)'s",
    "unseen_classes": "naming unseen classes is UnseenClassNamer's",
}


class CrossModalDistiller(
    VersionedPickle,
    LogitPredictions,
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    BaseEstimator,
):
    r"""Distil a teacher trained on one modality into a student on another.

    The teacher's data and the student's data are two separate sets, with no
    sample in common (*unpaired*). The teacher embeds its data into a latent
    space :math:`Z` and classifies there with a head :math:`p_T(y \mid z)`;
    the student learns an encoder of its own modality into the same
    :math:`Z` and a head :math:`p_S(y \mid z)` by minimising, on minibatches,

    .. math::

        \mathrm{CE}(\text{labelled rows})
        + \lambda_F\, W\big(\hat D_S(z, y), \hat D_T(z, y)\big)
        + \lambda_L\, \mathrm{KL}\big(q(\cdot \mid z) \,\|\, p_S(\cdot \mid z)\big)
        + \lambda_N\, NC,

    the two alignment terms of the bound
    :math:`\varepsilon_S \le \varepsilon_T + \tau\,FA + LA` (see the theory
    page) and a neighbour-consistency term on the unlabelled rows. Without a
    teacher (:meth:`set_teacher` never called) the feature and label terms
    are off.

    ``fit`` trains exactly one student net, with the weights it is given:
    every choice it makes by itself is a parameter value (``"auto"``) that
    costs no training and is reported as a fitted attribute. Decisions that
    need more trainings live in meta-estimators around it:
    :class:`~skcmkd.SafeAlignment` (is the alignment safe on these data, or
    should the student train alone?) and :class:`~skcmkd.UnseenClassNamer`
    (name the teacher's classes that have no labelled student row);
    :func:`~skcmkd.make_safe_distiller` composes the recommended default.

    Parameters
    ----------
    teacher : Teacher, default=None
        The fitted teacher, set by :meth:`set_teacher`. Cloning keeps the
        very same object, so grid searches fit the teacher once.
    feature_weight : float, default=5.0
        :math:`\lambda_F`, weight of feature alignment: the exact transport
        cost between the batch of student embeddings and teacher embeddings
        drawn from the bank, on the label-aware cost of ``label_cost``.
        Multiplied by the share of unlabelled student rows (the term teaches
        through them: with every row labelled it has no effect) and by
        ``unlabeled_trust``.
    neighbor_weight : float, default=200.0
        :math:`\lambda_N`, weight of neighbour consistency
        (:func:`skcmkd.alignment.neighbor_consistency`): each row's embedding
        is pulled towards that of one of its ``n_neighbors`` nearest
        neighbours in the standardised student inputs, in units of the
        teacher bank's mean squared distance, so that rows that look alike
        to the student move together into the teacher's clusters. It uses
        no teacher. Multiplied, like ``feature_weight``, by the share of
        unlabelled rows and by ``unlabeled_trust``. Neighbours start close,
        so the term is small and its weight large.
    n_neighbors : int, default=5
        Neighbours per row for ``neighbor_weight``, found once per
        :meth:`fit` (:func:`skcmkd.neighbors.neighbor_table`).
    neighbor_algorithm : {"auto", "exact", "faiss"}, default="auto"
        How the neighbours are found: exactly
        (:class:`~sklearn.neighbors.NearestNeighbors`), or approximately by
        faiss's HNSW graph (``skcmkd[scale]``). ``"auto"`` searches exactly up
        to 50,000 rows and with faiss beyond, where it is installed (with a
        warning where it is not: an exact search of 10^6 rows takes hours);
        ``neighbor_algorithm_`` records the choice.
    label_weight : float, default=0.0
        :math:`\lambda_L`, weight of label alignment: the KL divergence from
        the teacher head at the student's embedding to the student's
        prediction, on every row. Multiplied by ``unlabeled_trust``. Off
        by default; ``docs/design.md`` says why.
    unlabeled_trust : float in [0, 1], default=1.0
        Factor on the weight of every term that draws on the unlabelled rows
        or the teacher (feature, label and neighbour terms, and ``terms``).
        ``0`` trains the student as it would alone. :class:`~skcmkd.SafeAlignment`
        sets it from its checks; set it yourself to scale the alignment
        down without changing the weights' ratios.
    teacher_relations : "auto" or float in [0, 1], default=1.0
        How much of the teacher's arrangement of its classes (which lie
        close, which far) the student is aligned to; the rest is evened out
        to equidistant class means, each class keeping its shape
        (:meth:`skcmkd.Teacher.target`). ``0`` keeps only the clusters, as a
        teacher of labelled noise would give them. ``"auto"`` keeps as much as
        the labelled student rows confirm: the rank correlation between the
        distances of their class means and those of the teacher's
        (:func:`skcmkd.assumptions.relation_agreement`, recorded in
        ``relation_agreement_`` whatever this parameter). The default keeps the teacher
        as it is; ``docs/probe_safe_defaults.md`` measures both.
    solver : {"emd", "sinkhorn", "sliced"}, default="emd"
        Optimal-transport solver of feature alignment (see
        :func:`skcmkd.alignment.feature_alignment`). Exact EMD: cheap at
        minibatch sizes, exact, and nothing to tune.
    reg : float, default=0.05
        Entropic regularisation of ``solver="sinkhorn"``, relative to the
        normalised cost.
    n_projections : int, default=50
        Random directions of ``solver="sliced"``.
    label_cost : float, default=1.0
        :math:`\beta` of the label-aware transport cost
        :math:`\|z - z'\|^2 / s + \beta\,[y \ne y']` (joint distribution
        optimal transport): both sides have labels, so feature alignment can
        match student and teacher embeddings class by class without pairs.
        Unlabelled student rows use the teacher head's prediction at their
        embedding in place of a label. ``0`` aligns the marginals only.
    prior_correction : bool, default=False
        Correct the teacher for a change of class priors between the two
        data sets: the teacher head's prediction (the target of label
        alignment, and the label of unlabelled rows in feature alignment) is
        multiplied by :math:`\pi_S(y) / \pi_T(y)`, with :math:`\pi_S`
        estimated from the labelled student rows, and the teacher batch of
        feature alignment is weighted by the same ratio (the :math:`\kappa`
        of the theory page). ``False`` takes the teacher head as it is.
    warmup_epochs : int, default=10
        The alignment and neighbour weights grow linearly over the first
        ``warmup_epochs`` epochs, from ``1 / warmup_epochs`` of their value
        in the first epoch to all of it: compared with an untrained encoder
        the alignment terms are noise, and a strong neighbour term alone
        would collapse its embeddings.
    teacher_batch_size : int or None, default=256
        Teacher embeddings drawn from the bank per step that solves the
        transport (with replacement; see ``transport_every``);
        ``None`` draws as many as the step has student rows. More teacher
        points than student rows lower the noise of minibatch transport,
        whose class proportions differ from batch to batch.
    transport_every : int, default=10
        Solve feature alignment's transport in epochs ``1, 1 + k, 1 + 2k...``
        (``k = transport_every``); in the epochs between, each student row is
        pulled toward the target its last plan gave it, at no solve
        (``solver="emd"`` or ``"sinkhorn"``; :class:`skcmkd.terms.FeatureAlignment`).
        ``1`` solves at every step, several times slower;
        ``docs/probe_transport.md`` gives how the default was chosen.
    head_init : {"auto", "random", "teacher"}, default="auto"
        Start of the student's own head: a copy of the teacher's head, or
        random as for the student alone. ``"auto"`` copies the teacher's
        head when feature alignment is on (it pulls the student into the
        teacher's latent space, where that head fits), and starts at random
        otherwise, so that a student without alignment trains exactly as the
        student alone.
    latent_dim : int, default=32
        Width of the latent space of a student trained without a teacher,
        and the default width of :meth:`set_teacher`'s ``"mlp"`` teacher.
        With a teacher the student uses the teacher's latent space.
    module : torch.nn.Module class, default=None
        Student encoder; its constructor takes ``n_features`` and
        ``latent_dim`` keywords, and further ones as ``module__<name>``
        parameters of this estimator. ``None`` uses
        :class:`~skcmkd.modules.MLPEncoder`.
    max_epochs : int, default=100
        Epochs of student training.
    lr : float, default=1e-3
        Learning rate of the student's optimizer.
    batch_size : int, default=64
        Student rows per step.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Further arguments as ``optimizer__<name>``.
    callbacks : list of skorch callbacks, default=None
        Added to the student net's callbacks.
    device : str, default="cpu"
        Torch device of the student net.
    verbose : int, default=0
        ``1`` prints skorch's per-epoch table with the loss terms (and, in
        the meta-estimators around this one, what their checks decided).
    progress_bar : bool, default=False
        Show a progress bar over the batches of each epoch (skorch's
        ``ProgressBar``; needs ``tqdm``, the ``progress`` extra).
    terms : list of skcmkd.terms.LossTerm, default=None
        Further loss terms, added to the three that ``feature_weight``,
        ``label_weight`` and ``neighbor_weight`` build. Each term's weight is
        multiplied, like theirs, by ``unlabeled_trust`` (and by the share of
        unlabelled rows for terms with ``per_unlabeled_row``) and warmed up
        over ``warmup_epochs``; see :mod:`skcmkd.terms` and "How to add a loss
        term" in ``docs/design.md``.
    warm_start : bool, default=False
        ``True``: a ``fit`` after a first one goes on training the same net
        (its weights and optimizer state) for ``max_epochs`` more epochs, on
        the rows it is given, with the first fit's input scaling; the history
        grows and the teacher is kept. The classes must be those of the
        first fit. ``False``: every ``fit`` starts a new net.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and teacher batches (and, by
        default, the teacher that :meth:`set_teacher` fits, and the checks of
        the meta-estimators around this one); the user's global random state
        is left alone.
    **kwargs
        skorch-style prefixed parameters: ``module__<name>`` go to the
        student encoder's constructor; ``optimizer__<name>``,
        ``criterion__<name>`` (:class:`~skcmkd._criterion.DistillationLoss`:
        ``teacher_batch_size``...), ``iterator_train__<name>``,
        ``iterator_valid__<name>``, ``callbacks__<name>__<param>`` and
        ``compile__<name>`` go to the student's skorch net, which routes
        them as skorch does and lets them override what the estimator sets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels the model can predict: with a teacher, the teacher's
        classes (those without a labelled student row included, see
        ``unseen_classes_``) and any labelled student class the teacher lacks
        (learnt from the student's labels alone); without one, the labelled
        student classes.
    n_features_in_ : int
        Number of student features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` has string column names.
    teacher_relations_ : float or None
        The share of the teacher's class arrangement the student was aligned
        to; ``None`` without feature or label alignment.
    relation_agreement_ : float or None
        :func:`skcmkd.assumptions.relation_agreement` of the labelled rows,
        measured whenever the teacher is used (it costs a few class means);
        ``None`` without feature or label alignment, or with fewer than three
        labelled classes.
    unseen_classes_ : ndarray
        The teacher's classes that had no labelled row in ``fit`` (empty
        without a teacher). The student predicts them only where the
        teacher's head does on its embeddings;
        :class:`~skcmkd.UnseenClassNamer` names them.
    neighbor_algorithm_ : {"exact", "faiss"} or None
        How the neighbours were found; ``None`` where the neighbour term was
        not computed.
    teacher_fingerprint_ : str or None
        :meth:`Teacher.fingerprint` of the teacher this fit used (``None``
        without one): a ``warm_start`` fit refuses another teacher.
    n_trainings_ : int
        Nets trained by the last ``fit``: always 1.
    prior_ratio_ : list of float or None
        :math:`\pi_S / \pi_T` per class with ``prior_correction=True``;
        ``None`` otherwise.
    net_ : skorch.NeuralNet
        The trained student net; its module returns ``(logits, z)``.
    history_ : skorch.History
        Per-epoch training history, with the loss terms that were computed
        (``"ce"``, cross-entropy, and each term's ``name``: ``"fa"``,
        feature alignment; ``"la"``, label alignment; ``"nc"``, neighbour
        consistency) next to ``"train_loss"``.
    scaler_ : Pipeline
        Standardises the student inputs before the net
        (each column divided by its largest absolute value, then
        :class:`~sklearn.preprocessing.StandardScaler`: safe at any
        magnitude).

    See Also
    --------
    make_safe_distiller : the recommended default, this estimator inside
        the meta-estimators below.
    SafeAlignment : keeps the alignment only where held-out labels confirm it.
    UnseenClassNamer : names the classes the student has no labels for.
    sklearn.semi_supervised.SelfTrainingClassifier : teacher-free use of
        unlabelled rows.
    skcmkd.model_selection.LabeledStratifiedKFold : cross-validation folds
        that score labelled rows only.

    Notes
    -----
    Unlabelled rows (``y == -1``) take part in the alignment terms but not
    in the cross-entropy. ``docs/design.md`` gives the reasons behind each
    default, and ``docs/benchmarks.md`` measures them against teachers of
    labelled noise and with permuted classes.

    References
    ----------
    .. [1] Tran, Chu, Pham, Nguyen, Hoang. "Cross-Modal Knowledge Distillation
       without Paired Data: Theoretical Foundation and Algorithm", 2026.
    .. [2] Courty, Flamary, Habrard, Rakotomamonjy. "Joint distribution
       optimal transportation for domain adaptation", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd import CrossModalDistiller
    >>> rng = np.random.RandomState(0)
    >>> y_t = rng.randint(0, 2, 60); X_t = rng.randn(60, 4) + 2 * y_t[:, None]
    >>> y_s = rng.randint(0, 2, 40); X_s = rng.randn(40, 3) + 2 * y_s[:, None]
    >>> y_s[10:] = -1  # only ten labelled student rows
    >>> d = CrossModalDistiller(max_epochs=5, random_state=0)
    >>> d.set_teacher(X_t, y_t, max_epochs=5).fit(X_s, y_s).predict(X_s[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "teacher": [Teacher, None],
        "feature_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "label_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "neighbor_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "neighbor_algorithm": [StrOptions(set(neighbor_search.ALGORITHMS))],
        "unlabeled_trust": [Interval(numbers.Real, 0, 1, closed="both")],
        "teacher_relations": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="both")],
        "solver": [StrOptions(set(SOLVERS))],
        "reg": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_projections": [Interval(numbers.Integral, 1, None, closed="left")],
        "label_cost": [Interval(numbers.Real, 0, None, closed="left")],
        "prior_correction": ["boolean"],
        "warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "teacher_batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "transport_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "head_init": [StrOptions({"auto", "random", "teacher"})],
        "latent_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "module": [type, None],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "optimizer": [type],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "progress_bar": ["boolean"],
        "terms": [list, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        teacher=None,
        feature_weight=5.0,
        label_weight=0.0,
        neighbor_weight=200.0,
        n_neighbors=5,
        neighbor_algorithm="auto",
        unlabeled_trust=1.0,
        teacher_relations=1.0,
        solver="emd",
        reg=0.05,
        n_projections=50,
        label_cost=1.0,
        prior_correction=False,
        warmup_epochs=10,
        teacher_batch_size=256,
        transport_every=10,
        head_init="auto",
        latent_dim=32,
        module=None,
        max_epochs=100,
        lr=1e-3,
        batch_size=64,
        optimizer=torch.optim.Adam,
        callbacks=None,
        device="cpu",
        verbose=0,
        progress_bar=False,
        terms=None,
        warm_start=False,
        random_state=None,
        **kwargs,
    ):
        self.teacher = teacher
        self.feature_weight = feature_weight
        self.label_weight = label_weight
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.neighbor_algorithm = neighbor_algorithm
        self.unlabeled_trust = unlabeled_trust
        self.teacher_relations = teacher_relations
        self.solver = solver
        self.reg = reg
        self.n_projections = n_projections
        self.label_cost = label_cost
        self.prior_correction = prior_correction
        self.warmup_epochs = warmup_epochs
        self.teacher_batch_size = teacher_batch_size
        self.transport_every = transport_every
        self.head_init = head_init
        self.latent_dim = latent_dim
        self.module = module
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.progress_bar = progress_bar
        self.terms = terms
        self.warm_start = warm_start
        self.random_state = random_state
        for key, value in kwargs.items():
            setattr(self, key, value)

    # -- parameters: the skorch-style routed ones join the declared ones ----

    def _extra_params(self):
        """The ``**kwargs`` given to ``__init__`` or ``set_params``."""
        declared = self._get_param_names()
        return {
            k: v
            for k, v in vars(self).items()
            if k not in declared and not k.endswith("_") and not k.startswith("_")
        }

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        for key in [k for k in params if k.startswith(_ROUTED_PREFIXES)]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    def _validate_params(self):
        extra = self._extra_params()
        moved = [k for k in extra if k in _MOVED]
        if moved or self.unlabeled_trust == "auto":
            name = moved[0] if moved else "unlabeled_trust='auto'"
            raise TypeError(
                f"CrossModalDistiller got {name}: since skcmkd 0.3 the distiller trains one net "
                f"with the parameters it is given, and {_MOVED.get(name, _MOVED['unlabeled_trust'])}. "
                "make_safe_distiller(...) composes them as the 0.2 default did, with the same "
                "results."
            )
        unknown = [k for k in extra if not k.startswith(_ROUTED_PREFIXES)]
        if unknown:
            raise TypeError(
                f"CrossModalDistiller got unexpected parameter(s) {unknown}; extra "
                f"parameters must start with one of {list(_ROUTED_PREFIXES)} (skorch style). "
                "The teacher's own settings are arguments of set_teacher."
            )
        dataset = [k for k in extra if k.startswith("dataset__")]
        if dataset:
            raise TypeError(
                f"CrossModalDistiller got {dataset}: the student's rows (with their "
                "neighbours) are a dataset the estimator builds, so skorch would ignore "
                "dataset__ parameters. Transform X before fit instead."
            )
        super()._validate_params()
        if self.terms is not None:
            check_terms(self.terms)  # each a LossTerm, before a name is read
            check_terms([term for term in self._loss_terms() if term.weight > 0])

    # -- teacher ------------------------------------------------------------

    def set_teacher(
        self,
        X_teacher,
        y_teacher,
        *,
        encoder="mlp",
        latent_dim=None,
        max_epochs=100,
        lr=1e-3,
        batch_size=64,
        max_head_rows=100_000,
        verbose=0,
    ):
        """Fit the teacher embedding on teacher-modality data, once.

        The teacher data share no sample with the student data: any number
        of rows, any features. The fitted :class:`Teacher` is stored in the
        ``teacher`` parameter, which :func:`~sklearn.base.clone` keeps as the
        same object, so clones (grid search candidates, cross-validation
        folds) distil from it without fitting it again. The teacher's own
        settings are arguments here, not parameters of the estimator: they
        shape the teacher, which no later ``fit`` changes.

        Parameters
        ----------
        X_teacher : array-like of shape (n_teacher, n_features_teacher)
            Teacher-modality inputs; embeddings with ``encoder="precomputed"``.
        y_teacher : array-like of shape (n_teacher,)
            Their labels; every row must be labelled.
        encoder : {"mlp", "precomputed"}, fitted transformer or torch.nn.Module, default="mlp"
            ``"mlp"``: a small MLP encoder into a ``latent_dim``-dimensional
            space plus a linear head, trained by cross-entropy on the teacher
            data. ``"precomputed"``: ``X_teacher`` already are embeddings
            (from CLIP, a sentence encoder, any model); only the head is
            fitted. A fitted scikit-learn transformer or a torch module: its
            output is the latent space; only the head is fitted.
        latent_dim : int, default=None
            Width of the ``"mlp"`` teacher's latent space; ``None`` takes the
            estimator's ``latent_dim``.
        max_epochs, lr, batch_size : int, float, int, default=100, 1e-3, 64
            Training of the ``"mlp"`` teacher (Adam).
        max_head_rows : int, default=100_000
            A head on fixed embeddings (``"precomputed"`` or a fitted
            encoder) is fitted on at most this many rows of the bank.
        verbose : int, default=0
            ``1`` prints skorch's per-epoch table of the ``"mlp"`` teacher.

        Returns
        -------
        self : CrossModalDistiller
        """
        self._validate_params()
        X_teacher, y_teacher = check_teacher_data(X_teacher, y_teacher)
        check_teacher_encoder(encoder)
        self.teacher = fit_teacher(
            X_teacher,
            y_teacher,
            encoder=encoder,
            latent_dim=self.latent_dim if latent_dim is None else latent_dim,
            max_epochs=max_epochs,
            lr=lr,
            batch_size=batch_size,
            max_head_rows=max_head_rows,
            random_state=self.random_state,
            verbose=verbose,
        )
        return self

    # -- fit ----------------------------------------------------------------

    def _loss_terms(self):
        """The terms the weights build, then the user's ``terms``, at full weight."""
        built = [
            FeatureAlignment(
                self.feature_weight,
                solver=self.solver,
                reg=self.reg,
                n_projections=self.n_projections,
                label_cost=self.label_cost,
                transport_every=self.transport_every,
            ),
            LabelAlignment(self.label_weight),
            NeighborConsistency(self.neighbor_weight),
        ]
        return [*built, *(copy.deepcopy(term) for term in self.terms or ())]

    def _weighted_terms(self, codes, unlabeled_share=None):
        """The terms this fit computes, at their weights: the parameters' times share and trust.

        ``unlabeled_share`` replaces the share of ``-1`` rows in ``codes``:
        :class:`~skcmkd.SafeAlignment`'s held-out students hide labels, and
        :class:`~skcmkd.UnseenClassNamer`'s final student adds some, yet both
        weigh the terms as a fit on the user's labels would.
        """
        share = float(np.mean(codes == -1)) if unlabeled_share is None else unlabeled_share
        trust = float(self.unlabeled_trust)
        terms = [
            term
            for term in self._loss_terms()
            if term.weight > 0 and (self.teacher is not None or not term.needs_teacher)
        ]
        for term in terms:
            term.weight = term.weight * (share if term.per_unlabeled_row else 1.0) * trust
        return [term for term in terms if term.weight > 0]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the student on student-modality data: one net, with these parameters.

        With ``warm_start=True`` and a net fitted before, that net goes on
        training for ``max_epochs`` more epochs instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Student-modality inputs; no row is paired with a teacher row.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (or the string ``"-1"``) marks an unlabelled row.
            Unlabelled rows take part in the alignment terms only.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights of the labelled rows' cross-entropy, scaled
            to average 1 over the labelled rows (only their ratios count): a
            row of weight 2 counts as two. The alignment terms weigh every
            row alike (the weights of unlabelled rows are unused). ``None``,
            or the same weight for every labelled row: unweighted.

        Returns
        -------
        self : CrossModalDistiller
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def _fit(self, X, y, *, sample_weight=None, unlabeled_share=None, classes=None):
        """:meth:`fit`; the meta-estimators pass ``unlabeled_share`` (:meth:`_weighted_terms`)
        and the ``classes`` of the fit their students stand for."""
        previous_state = dict(vars(self))
        try:
            return self._train_on(X, y, sample_weight, unlabeled_share, classes)
        except BaseException:
            # Never leave a half-trained (or NaN) model behind.
            vars(self).clear()
            vars(self).update(previous_state)
            raise

    def _train_on(self, X, y, sample_weight, unlabeled_share, classes):
        y = check_features_and_labels(X, y, "X", "y")
        check_device(self.device)
        warm = self.warm_start and self.__sklearn_is_fitted__()
        with naming_input("X"):
            X, y = validate_data(self, X, y, reset=not warm, dtype=[np.float64, np.float32])
        classes, codes = encode_labels(self.teacher, y, classes)
        weights = relative_weights(sample_weights(sample_weight, X), codes)
        if warm:
            self._check_warm_start(classes)
        scaler = self.scaler_ if warm else input_scaler().fit(X)  # the net learnt this scaling
        X_scaled = scaler.transform(X).astype(np.float32)
        with torch_seed(self.random_state) as seed:
            terms = self._weighted_terms(codes, unlabeled_share)
            relations, agreement = self._relations(X_scaled, codes, classes, terms)
            algorithm = None
            if any(term.needs_neighbors for term in terms):
                algorithm = neighbor_search.choose_algorithm(len(X), self.neighbor_algorithm)
                if algorithm == "exact":
                    neighbor_search.warn_slow_search(len(X_scaled))
            net, prior_ratio = self._train(
                X_scaled, codes, classes, terms, relations, seed, algorithm, weights, warm
            )
        self.classes_ = classes
        self.scaler_ = scaler
        self.teacher_relations_ = relations
        self.relation_agreement_ = agreement
        self.unseen_classes_ = classes[unseen_codes(self.teacher, classes, codes)]
        self.prior_ratio_ = None if prior_ratio is None else prior_ratio.tolist()
        self.neighbor_algorithm_ = algorithm
        self.teacher_fingerprint_ = None if self.teacher is None else self.teacher.fingerprint()
        self.n_trainings_ = 1
        self.net_ = net
        self.history_ = net.history
        return self

    def _check_warm_start(self, classes):
        """Refuse to continue a net whose classes or latent space no longer fit."""
        if len(classes) != len(self.classes_) or not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True continues the net fitted before, which predicts "
                f"{self.classes_.tolist()}; this y (and teacher) give the classes "
                f"{classes.tolist()}. Fit with warm_start=False to start a new net."
            )
        fingerprint = None if self.teacher is None else self.teacher.fingerprint()
        if fingerprint != self.teacher_fingerprint_:
            raise ValueError(
                "warm_start=True continues the net fitted before with the same teacher, but "
                "the teacher was set (or removed) since. Fit with warm_start=False to start a "
                "new net with this teacher."
            )
        width = self.latent_dim if self.teacher is None else self.teacher.latent_dim_
        if width != self._n_features_out:
            raise ValueError(
                f"warm_start=True continues the net fitted before, whose latent space has width "
                f"{self._n_features_out}; latent_dim is {width} now. Fit with warm_start=False "
                "to start a new net."
            )

    def _relations(self, X_scaled, codes, classes, terms):
        """The teacher relations this fit aligns to, and the agreement measured (or ``None``s)."""
        if not any(term.needs_teacher for term in terms):
            return None, None
        # measured whenever the teacher is used: it costs a few class means
        rho = relation_agreement_codes(
            self.teacher, X_scaled, teacher_codes(self.teacher, codes, classes)
        )
        relations = (
            relations_from_agreement(rho)
            if self.teacher_relations == "auto"
            else float(self.teacher_relations)
        )
        return relations, None if np.isnan(rho) else rho

    def _student_setup(self, codes, classes, terms, relations, seed):
        """What one student net starts from: its head, its loss's parameters, the prior ratio."""
        terms = copy.deepcopy(terms)
        n_classes = len(classes)
        positions = None if self.teacher is None else self.teacher.positions_in(classes)
        target = None if relations is None else self.teacher.alignment_target(relations, seed)
        head_init = self.head_init
        if head_init == "auto":  # the teacher's head where feature alignment is on
            aligned = any(isinstance(term, FeatureAlignment) for term in terms)
            head_init = "teacher" if aligned else "random"
        head = None
        if head_init == "teacher" and self.teacher is not None:
            target = target or self.teacher.alignment_target(1.0, seed)
            # a class the teacher lacks starts neutral: the mean of the teacher's biases
            neutral = float(target.head_bias.mean())
            head = widen_head(target, positions, n_classes, neutral)
        if target is not None:
            target = widen_target(target, positions, n_classes)
        prior_ratio = None
        if self.teacher is not None and self.prior_correction:
            prior_ratio = np.ones(n_classes)  # a class the teacher lacks: no correction
            prior_ratio[positions] = class_priors(codes, n_classes)[positions] / np.maximum(
                self.teacher.prior_, 1e-12
            )
        loss = dict(
            terms=terms,
            target=target,
            prior_ratio=prior_ratio,
            teacher_batch_size=self.teacher_batch_size,
            seed=seed,
        )
        return head, loss, prior_ratio

    def _train(
        self,
        X_scaled,
        codes,
        classes,
        terms,
        relations,
        seed,
        algorithm=None,
        weights=None,
        warm=False,
    ):
        """Train one student net on scaled rows with these weighted terms (or go on training one)."""
        head, loss, prior_ratio = self._student_setup(codes, classes, terms, relations, seed)
        neighbors = None
        if any(term.needs_neighbors for term in terms):
            neighbors = neighbor_table(
                X_scaled, self.n_neighbors, algorithm=algorithm or "auto", warn=False
            )
        rows = StudentRows(X_scaled, codes, neighbors, seed=seed, weights=weights)
        if warm:
            # the same module and optimizer state; this fit's loss; the history grows
            net = copy.deepcopy(self.net_)
            if not net.optimizer_.state:
                warn_user(
                    "warm_start=True: the net's optimizer has no state (a model from "
                    "load_model keeps the weights, not the optimizer's moments; pickle keeps "
                    "both): training goes on from the weights with a fresh optimizer.",
                    UserWarning,
                )
            net.criterion_ = DistillationLoss(**loss).to(net.device)
            net.set_params(
                max_epochs=self.max_epochs,
                lr=self.lr,
                batch_size=self.batch_size,
                verbose=self.verbose,
            )
            net.partial_fit(rows, None)
        else:
            net = student_net(
                self,
                X_scaled.shape[1],
                len(classes),
                head_init=head,
                loss=loss,
                seed=seed,
                callbacks=_progress_bar(self.progress_bar),
            )
            net.fit(rows, None)
        _check_finite_weights(net.module_)
        return net, prior_ratio

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform gives the student's float32 embeddings
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    @property
    def _n_features_out(self):
        """Width of :meth:`transform`'s output, for ``get_feature_names_out``."""
        return self.net_.module_.head.in_features

    # -- inference ----------------------------------------------------------

    def forward(self, X):
        """The student's logits and embeddings of ``X``, in one pass.

        What :meth:`predict_proba` (softmax of the logits), :meth:`predict`
        and :meth:`transform` (the embeddings) are made of; diagnostics use
        both at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes), float32
            Columns follow ``classes_``.
        z : ndarray of shape (n_samples, latent_dim), float32
            The embeddings in the latent space.
        """
        logits, z = self._forward(self._validate_predict_data(X))
        return logits.numpy(), z.numpy()

    def _forward(self, X):
        """Logits and embeddings (CPU tensors) for validated ``X``, by skorch's batches."""
        X = self.scaler_.transform(X).astype(np.float32)
        return self.net_.forward(X, training=False)

    def _logits(self, X):
        """The logits (float64, one column per class) of validated ``X``."""
        logits, _ = self._forward(X)
        return logits.double().numpy()

    def fit_transform(self, X, y, sample_weight=None):
        """Fit the student, then return the embeddings of ``X``."""
        return self.fit(X, y, sample_weight=sample_weight).transform(X)

    def transform(self, X):
        """Student embeddings in the teacher's latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        z : ndarray of shape (n_samples, latent_dim), float32
        """
        _, z = self._forward(self._validate_predict_data(X))
        return z.numpy()


def _progress_bar(wanted):
    if not wanted:
        return []
    try:
        import tqdm  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "progress_bar=True needs tqdm: pip install 'skcmkd[progress]' (or tqdm), or use "
            "verbose=1 for skorch's per-epoch table."
        ) from error
    return [ProgressBar()]


def _check_finite_weights(module):
    """The last optimizer step can break the weights after the last finite loss."""
    bad = [name for name, p in module.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise NonFiniteLossError(
            f"The student's weights {bad} became NaN or infinite in training. Lower `lr`, "
            "`feature_weight` or `label_weight`. The estimator was left as it was before "
            "this fit."
        )
