"""CrossModalDistiller: the scikit-learn surface of skcmkd."""

import copy
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.metrics import accuracy_score
from sklearn.utils import TransformerTags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch import NeuralNet
from skorch.callbacks import ProgressBar

from . import assumptions
from . import fallback as linear_fallback
from . import neighbors as neighbor_search
from ._compat import Interval, StrOptions, _fit_context, validate_data
from ._criterion import check_terms
from ._inputs import (
    check_device,
    check_features,
    check_features_and_labels,
    check_labels,
    check_lengths,
    check_teacher_data,
    input_scaler,
    labelled_mask,
    naming_input,
)
from ._net import StudentRows, student_net
from ._teacher import (
    Teacher,
    check_teacher_encoder,
    fit_teacher,
    torch_seed,
    widen_head,
    widen_target,
)
from .alignment import SOLVERS, class_priors
from .assumptions import (
    HoldoutCheck,
    check_clusters,
    compare_on_holdout,
    holdout_rows,
    relation_agreement_codes,
    relations_from_agreement,
)
from .cache import remembered
from .exceptions import InconsistentVersionWarning, NonFiniteLossError, UnseenClassesWarning
from .fallback import fit_linear_fallback
from .neighbors import neighbor_table
from .terms import FeatureAlignment, LabelAlignment, NeighborConsistency
from .unseen import UnseenNaming, name_unseen_classes

__all__ = ["CrossModalDistiller"]

#: Keyword arguments routed skorch-style: ``module__*`` to the student encoder,
#: the others to the student's skorch net, which routes them as skorch does.
_ROUTED_PREFIXES = tuple(
    f"{prefix}__" for prefix in ("module", "criterion", "optimizer", *NeuralNet.prefixes_)
)


class CrossModalDistiller(
    ClassNamePrefixFeaturesOutMixin, ClassifierMixin, TransformerMixin, BaseEstimator
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

    Every term that draws on the unlabelled rows is spent in proportion to
    their share and to ``unlabeled_trust_``, which the default measures
    before training from the labelled rows (do input-space neighbours share
    a class?), and confirms on held-out labelled rows. Where the alignment is
    off, the student trains as it would alone and predicts together with a
    logistic regression on the labelled rows (``fallback``).

    Parameters
    ----------
    teacher : Teacher, default=None
        The fitted teacher, set by :meth:`set_teacher`. Cloning keeps the
        very same object, so grid searches fit the teacher once.
    feature_weight : float, default=5.0
        :math:`\lambda_F`, weight of feature alignment: the exact transport
        cost between the batch of student embeddings and teacher embeddings
        drawn from the bank, on the label-aware cost of ``label_cost``.
        Multiplied by the share of unlabelled student rows (a fully labelled
        student trains as the student alone) and by ``unlabeled_trust_``.
    neighbor_weight : float, default=200.0
        :math:`\lambda_N`, weight of neighbour consistency
        (:func:`skcmkd.alignment.neighbor_consistency`): each row's embedding
        is pulled towards that of one of its ``n_neighbors`` nearest
        neighbours in the standardised student inputs, in units of the
        teacher bank's mean squared distance, so that rows that look alike
        to the student move together into the teacher's clusters. It uses
        no teacher. Multiplied, like ``feature_weight``, by the share of
        unlabelled rows and by ``unlabeled_trust_``. Neighbours start close,
        so the term is small and its weight large.
    n_neighbors : int, default=5
        Neighbours per row for ``neighbor_weight``, found once per
        :meth:`fit` (:func:`skcmkd.neighbors.neighbor_table`: exact with
        :class:`~sklearn.neighbors.NearestNeighbors` up to 50,000 rows,
        approximate with faiss beyond where ``skcmkd[scale]`` is installed).
    label_weight : float, default=0.0
        :math:`\lambda_L`, weight of label alignment: the KL divergence from
        the teacher head at the student's embedding to the student's
        prediction, on every row. Multiplied by ``unlabeled_trust_``. Off
        by default; ``docs/design.md`` gives the forms measured and why.
    unlabeled_trust : "auto" or float in [0, 1], default="auto"
        Factor on the three alignment weights. ``"auto"`` checks twice.
        First, before training, whether the labelled rows' classes spread
        along the input-space neighbour graph about as well as a linear model
        predicts them (:func:`skcmkd.assumptions.check_clusters`); where they
        do not (neighbours share a voice, a sensor, a noise level rather than
        a class), the factor falls to 0 and the student trains as alone.
        Where they do, the aligned student must also prove itself: on 3
        folds of the labelled rows, students trained with and without the
        alignment predict the held-out labels
        (:func:`skcmkd.assumptions.compare_on_holdout`), and unless the
        aligned ones do at least as well
        (:data:`skcmkd.assumptions.HOLDOUT_MARGIN`) the factor is 0. That
        second check costs 6 more trainings where it runs. ``1`` trusts the
        unlabelled rows without checking; ``checks_`` records both checks.
    teacher_relations : "auto" or float in [0, 1], default=1.0
        How much of the teacher's arrangement of its classes (which lie
        close, which far) the student is aligned to; the rest is evened out
        to equidistant class means, each class keeping its shape
        (:meth:`skcmkd.Teacher.target`). ``0`` keeps only the clusters, as a
        teacher of labelled noise would give them. ``"auto"`` keeps as much as
        the labelled student rows confirm: the rank correlation between the
        distances of their class means and those of the teacher's
        (:func:`skcmkd.assumptions.relation_agreement`, recorded in
        ``checks_`` whatever this parameter). The default keeps the teacher
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
        ``1`` solves at every step, several times slower. The held-out
        check's students solve at every step whatever this value (its margin
        was chosen on such students; ``docs/transport_defaults.md``). On the probe splits
        where the held-out check keeps the alignment, 10 cost 0.2 ± 0.3
        points against a solve at every step and 20 cost 0.6 ± 0.4; on the
        families they were not chosen on, +0.1 ± 0.9 and -0.3 ± 0.7
        (``docs/probe_transport.md``; student sets of at most a few
        thousand rows).
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
        ``1`` prints what the checks of ``unlabeled_trust="auto"`` decided,
        then skorch's per-epoch table with the loss terms.
    progress_bar : bool, default=False
        Show a progress bar over the batches of each epoch (skorch's
        ``ProgressBar``; needs ``tqdm``, the ``progress`` extra).
    terms : list of skcmkd.terms.LossTerm, default=None
        Further loss terms, added to the three that ``feature_weight``,
        ``label_weight`` and ``neighbor_weight`` build. Each term's weight is
        multiplied, like theirs, by ``unlabeled_trust_`` (and by the share of
        unlabelled rows for terms with ``per_unlabeled_row``) and warmed up
        over ``warmup_epochs``; see :mod:`skcmkd.terms` and "How to add a loss
        term" in ``docs/design.md``.
    unseen_classes : {"auto", "name", "ignore"}, default="auto"
        What ``fit`` does with the teacher's classes that have no labelled
        student row (their rows, if any, are among the ``-1`` rows). Only the
        teacher can name such a class: ``fit`` first trains a student aligned
        to the teacher with its class arrangement evened out, clusters that
        student's embedding (one cluster per class, the labelled classes
        anchoring theirs), names the other clusters by the teacher's class
        relations (:mod:`skcmkd.unseen`), and then trains the final student
        with the rows nearest each named cluster's centre as labels of its
        class (as many as a labelled class has labelled rows). This costs a
        second training. ``"auto"`` names them only where the naming fits the
        teacher's class distances clearly better than a naming at random
        (:data:`skcmkd.unseen.MIN_FIT`) and than teachers with their classes
        shuffled (:data:`skcmkd.unseen.MAX_P_VALUE`); elsewhere it warns
        (:class:`~skcmkd.exceptions.UnseenClassesWarning`) and trains exactly
        as ``"ignore"`` does. ``"name"`` always names them; ``"ignore"``
        never (the student then predicts them only where the teacher's head
        does). ``checks_["unseen"]`` records the evidence.
    fallback : {"linear", "student"}, default="linear"
        What predicts where the final student trains without any alignment
        term (the checks turned it off, or nothing is aligned) and every
        class has a labelled row. ``"linear"`` adds to the net's logits
        those of a logistic regression fitted on the labelled rows (the
        product of the two models' class probabilities), in the feature
        scaling its cross-validation prefers (:mod:`skcmkd.fallback`): with
        few labels that beats both the net alone and the logistic regression
        on average (``docs/fallback.md``). ``"student"``: the net alone.
        ``checks_["fallback"]`` records the decision; :meth:`transform` and
        :meth:`forward` always give the net's own output.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, teacher batches and the
        checks of ``"auto"`` parameters (and, by default, the teacher that
        :meth:`set_teacher` fits); the user's global random state is left
        alone.
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
        ``unseen_classes``) and any labelled student class the teacher lacks
        (learnt from the student's labels alone); without one, the labelled
        student classes.
    n_features_in_ : int
        Number of student features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` has string column names.
    unlabeled_trust_ : float
        The factor applied to the alignment weights in this fit.
    teacher_relations_ : float or None
        The share of the teacher's class arrangement the student was aligned
        to; ``None`` without feature or label alignment.
    unseen_classes_ : ndarray
        The teacher's classes that had no labelled row in ``fit`` (empty
        without a teacher).
    checks_ : dict
        What was measured before training: ``"clusters"`` (a
        :class:`~skcmkd.assumptions.ClusterCheck` as a dict, or ``None`` if
        not run), ``"holdout"`` (a :class:`~skcmkd.assumptions.HoldoutCheck`
        as a dict: the aligned and the plain student on held-out labelled
        rows, and whether the alignment stayed; ``None`` if not run),
        ``"relation_agreement"`` (a float; ``None`` without
        feature or label alignment, or with fewer than three labelled
        classes) and ``"unseen"`` (a :class:`~skcmkd.unseen.UnseenNaming` as
        a dict: were the unseen classes named, on what evidence; ``None``
        without unseen classes or with ``unseen_classes="ignore"``) and
        ``"fallback"`` (a :class:`~skcmkd.fallback.FallbackChoice` as a dict:
        is the linear model combined, in which scaling, on what
        cross-validated accuracy; ``None`` where alignment is used or with
        ``fallback="student"``).
    fallback_ : LinearFallback or None
        The logistic regression whose logits :meth:`predict_proba` and
        :meth:`predict` add to the net's (:mod:`skcmkd.fallback`); ``None``
        where the net predicts alone.
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
        "unlabeled_trust": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="both")],
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
        "unseen_classes": [StrOptions({"auto", "name", "ignore"})],
        "fallback": [StrOptions({"linear", "student"})],
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
        unlabeled_trust="auto",
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
        unseen_classes="auto",
        fallback="linear",
        random_state=None,
        **kwargs,
    ):
        self.teacher = teacher
        self.feature_weight = feature_weight
        self.label_weight = label_weight
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
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
        self.unseen_classes = unseen_classes
        self.fallback = fallback
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
            random_state=self.random_state,
            verbose=verbose,
        )
        return self

    # -- fit ----------------------------------------------------------------

    def _encode_labels(self, y):
        """Classes the model predicts, and integer codes with -1 for unlabelled."""
        labelled = labelled_mask(y)
        y_labelled = y[labelled]
        if self.teacher is None:
            if not labelled.any():
                raise ValueError(
                    "y has no labelled row (all entries are -1). Without a teacher the "
                    "student needs labels: call set_teacher first, or label some rows."
                )
            check_classification_targets(y_labelled)
            classes = np.unique(y_labelled)
            if len(classes) < 2:
                raise ValueError(
                    f"The labelled rows of y hold one class only ({classes.tolist()[0]!r}); a "
                    "classifier without a teacher needs at least 2 classes: label rows "
                    "of another class, or call set_teacher first."
                )
        else:
            classes = self.teacher.classes_
            if labelled.any():
                check_classification_targets(y_labelled)
                student = np.unique(y_labelled)
                # .tolist(): plain values in the message, [7] and not [np.int64(7)]
                if not np.isin(student, classes).any():
                    raise ValueError(
                        f"None of the student labels {student.tolist()} is among the teacher's "
                        f"classes {classes.tolist()}: the two label sets must share classes "
                        "for the teacher to mean anything to the student. Relabel the "
                        "student data, or fit the teacher on data that has these classes "
                        "(set_teacher)."
                    )
                # a class only the student has: the student learns it from its labels
                classes = np.union1d(classes, student).astype(classes.dtype)
        codes = np.full(len(y), -1, dtype=np.int64)
        codes[labelled] = np.searchsorted(classes, y_labelled)
        return classes, codes

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

    def _weigh_terms(self, X_scaled, codes, classes, seed):
        """The terms of this fit, weighted after the checks of the ``"auto"`` parameters."""
        share = float(np.mean(codes == -1))
        teacher_on = self.teacher is not None
        terms = [
            term
            for term in self._loss_terms()
            if term.weight > 0 and (teacher_on or not term.needs_teacher)
        ]
        wanted = share > 0 and bool(terms)
        checks = {"clusters": None, "relation_agreement": None}
        trust = 1.0
        if self.unlabeled_trust != "auto":
            trust = float(self.unlabeled_trust)
        elif wanted:
            clusters = remembered(
                "check_clusters",
                (X_scaled, codes, seed, assumptions.CLUSTER_RAMP),
                lambda: check_clusters(X_scaled, codes, random_state=seed),
            )
            checks["clusters"], trust = clusters.to_dict(), clusters.trust
        for term in terms:
            term.weight = term.weight * (share if term.per_unlabeled_row else 1.0) * trust
        terms = [term for term in terms if term.weight > 0]
        relations = None
        if any(term.needs_teacher for term in terms):
            # measured whenever the teacher is used: it costs a few class means
            rho = relation_agreement_codes(
                self.teacher, X_scaled, self._teacher_codes(codes, classes)
            )
            checks["relation_agreement"] = None if np.isnan(rho) else rho
            relations = (
                relations_from_agreement(rho)
                if self.teacher_relations == "auto"
                else float(self.teacher_relations)
            )
        return terms, trust, relations, checks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the student on student-modality data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Student-modality inputs; no row is paired with a teacher row.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` (or the string ``"-1"``) marks an unlabelled row.
            Unlabelled rows take part in the alignment terms only.

        Returns
        -------
        self : CrossModalDistiller
        """
        previous_state = dict(vars(self))
        try:
            return self._fit(X, y)
        except BaseException:
            # Never leave a half-trained (or NaN) model behind.
            vars(self).clear()
            vars(self).update(previous_state)
            raise

    def _fit(self, X, y):
        y = check_features_and_labels(X, y, "X", "y")
        check_device(self.device)
        with naming_input("X"):
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        classes, codes = self._encode_labels(y)
        scaler = input_scaler().fit(X)
        X_scaled = scaler.transform(X).astype(np.float32)
        with torch_seed(self.random_state) as seed:
            terms, trust, relations, checks = self._weigh_terms(X_scaled, codes, classes, seed)
            unseen = self._unseen_codes(classes, codes)
            checks["holdout"] = None
            if self.unlabeled_trust == "auto" and terms:
                holdout = self._check_holdout(
                    X_scaled, codes, classes, unseen, terms, relations, seed
                )
                checks["holdout"] = holdout.to_dict()
                if not holdout.keep:
                    terms, trust, relations = [], 0.0, None
            if any(term.needs_neighbors for term in terms):
                # once per fit, cached table or not; the search itself (in _train) stays quiet
                neighbor_search.warn_slow_search(len(X_scaled), stacklevel=4)  # the user's fit
            checks["unseen"] = None
            if unseen.size and self.unseen_classes != "ignore" and (codes == -1).any():
                naming, codes = self._name_unseen(X_scaled, codes, classes, unseen, terms, seed)
                checks["unseen"] = naming.to_dict()
                if not naming.named:
                    warnings.warn(
                        f"The teacher's classes {naming.unseen} have no labelled row and are not "
                        f"named: {naming.reason}. The model predicts them only where the teacher's "
                        "head does on the aligned embeddings, which is rare. "
                        "unseen_classes='name' names them anyway; labelling a few of their rows "
                        "is the sure way.",
                        UnseenClassesWarning,
                        stacklevel=4,  # the user's fit (through sklearn's _fit_context)
                    )
            fallback, checks["fallback"] = None, None
            if self.fallback == "linear" and not terms and not unseen.size:
                # the scaler is fitted on X: the rows, labels and seed decide the result
                fallback, choice = remembered(
                    "linear_fallback",
                    (X, codes, len(classes), seed, linear_fallback.settings()),
                    lambda: fit_linear_fallback(X, codes, len(classes), scaler, random_state=seed),
                )
                checks["fallback"] = choice.to_dict()
            if self.verbose:
                _print_checks(checks, trust)
            net, prior_ratio = self._train(X_scaled, codes, classes, terms, relations, seed)
        self.classes_ = classes
        self.scaler_ = scaler
        self.unlabeled_trust_ = trust
        self.teacher_relations_ = relations
        self.checks_ = checks
        self.fallback_ = fallback
        self.unseen_classes_ = classes[unseen]
        self.prior_ratio_ = None if prior_ratio is None else prior_ratio.tolist()
        self.net_ = net
        self.history_ = net.history
        return self

    def _train(self, X_scaled, codes, classes, terms, relations, seed):
        """Train one student net on scaled rows with these weighted terms."""
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
        net = student_net(
            self,
            X_scaled.shape[1],
            n_classes,
            head_init=head,
            loss=loss,
            seed=seed,
            callbacks=_progress_bar(self.progress_bar),
        )
        neighbors = None
        if any(term.needs_neighbors for term in terms):
            # the held-out check's students and, on small data, the final model share rows
            neighbors = remembered(
                "neighbor_table",
                (X_scaled, self.n_neighbors, neighbor_search.settings()),
                lambda: neighbor_table(X_scaled, self.n_neighbors, warn=False),
            )
        net.fit(StudentRows(X_scaled, codes, neighbors, seed=seed), None)
        _check_finite_weights(net.module_)
        return net, prior_ratio

    def _check_holdout(self, X_scaled, codes, classes, unseen, terms, relations, seed):
        """Compare the aligned and the plain student on held-out labelled rows (safe fall-back)."""
        if unseen.size:
            return HoldoutCheck.not_measured(
                f"the teacher's classes {classes[unseen].tolist()} have no labelled row: "
                "held-out labels cannot measure what the alignment gives them, and only it "
                "can predict them; the alignment stays as the cluster check set it"
            )

        # all rows up to HOLDOUT_MAX_ROWS (read here, as the margin below)
        rows = holdout_rows(codes, max_rows=assumptions.HOLDOUT_MAX_ROWS, random_state=seed)
        X_rows = X_scaled[rows]
        # The margin was chosen on students that solve the transport at every
        # step (docs/safety.md); the check's students still do, whatever
        # transport_every: with the epoch schedule they kept the alignment on
        # shapes splits where it loses (docs/transport_defaults.md).
        terms = _solved_every_step(terms)

        def fit_predict(train_codes, aligned):
            with torch.random.fork_rng(devices=[]):  # the final training draws as without this
                net, _ = self._train(
                    X_rows,
                    train_codes,
                    classes,
                    terms if aligned else [],
                    relations if aligned else None,
                    seed,
                )
                logits, _ = net.forward(X_rows, training=False)
            return np.argmax(logits.numpy(), axis=1)

        margin = assumptions.HOLDOUT_MARGIN  # read here: benchmarks/safety.py sets it to -inf
        return compare_on_holdout(codes[rows], fit_predict, margin=margin, random_state=seed)

    # -- unseen classes -------------------------------------------------------

    def _unseen_codes(self, classes, codes):
        """Codes of the teacher's classes with no labelled row."""
        if self.teacher is None:
            return np.array([], dtype=np.int64)
        return np.setdiff1d(self.teacher.positions_in(classes), codes[codes >= 0])

    def _teacher_codes(self, codes, classes):
        """Codes into the teacher's classes; ``-1`` for unlabelled rows and classes it lacks."""
        to_teacher = np.full(len(classes) + 1, -1, dtype=np.int64)  # the last entry: code -1
        to_teacher[self.teacher.positions_in(classes)] = np.arange(len(self.teacher.classes_))
        return to_teacher[codes]

    def _name_unseen(self, X_scaled, codes, classes, unseen, terms, seed):
        """Name the unseen classes in the unlabelled rows (:mod:`skcmkd.unseen`).

        Returns the evidence (:class:`~skcmkd.unseen.UnseenNaming`) and the
        codes to train on: with the named rows as labels, or as they were.
        """
        names = classes[unseen].tolist()
        seen = np.unique(codes[codes >= 0])
        if len(seen) < 2:
            reason = "fewer than two classes have a labelled row: nothing anchors the relations"
            return UnseenNaming(names, None, None, None, False, reason), codes
        n_classes = len(classes)
        if len(codes) < 2 * n_classes or (codes == -1).sum() < len(unseen):
            reason = (
                f"{len(codes)} rows ({(codes == -1).sum()} unlabelled) are too few to cluster into "
                f"{n_classes} classes (at least {2 * n_classes} rows)"
            )
            return UnseenNaming(names, None, None, None, False, reason), codes
        # 1. the student's own clusters: aligned to the teacher with its class
        #    arrangement evened out, so that the arrangement is the student's
        evened = 0.0 if any(term.needs_teacher for term in terms) else None
        with torch.random.fork_rng(devices=[]):  # the final training draws as without this pass
            net, _ = self._train(X_scaled, codes, classes, terms, evened, seed)
            _, z = net.forward(X_scaled, training=False)
        # a class the teacher lacks has no teacher mean: it anchors, it is not matched
        class_means = np.full((n_classes, self.teacher.latent_dim_), np.nan)
        class_means[self.teacher.positions_in(classes)] = self.teacher.class_means_
        found = name_unseen_classes(
            z.numpy(), X_scaled, codes, class_means, unseen, random_state=seed
        )
        evidence = (found.agreement, found.relational_fit, found.p_value)
        trusted, reason = found.trusted()
        if self.unseen_classes == "auto" and not trusted:
            return UnseenNaming(names, *evidence, False, reason), codes
        pseudo, counts = found.pseudo_labels(codes)
        return UnseenNaming(names, *evidence, True, reason, counts), pseudo

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

    # -- pickling: record the version that saved the model --------------------

    def __getstate__(self):
        state = super().__getstate__()
        state["_skcmkd_version"] = _version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_skcmkd_version", "unknown")
        if saved != _version():
            warnings.warn(
                f"This CrossModalDistiller was saved with skcmkd {saved} and is loaded with "
                f"skcmkd {_version()}. It may predict differently or break: refit it, or load "
                "it with the version that saved it.",
                InconsistentVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)

    # -- inference ----------------------------------------------------------

    def forward(self, X):
        """The student's logits and embeddings of ``X``, in one pass.

        What :meth:`predict_proba` (softmax of the logits), :meth:`predict`
        and :meth:`transform` (the embeddings) are made of; diagnostics use
        both at once. These are the net's own: where ``fallback_`` is set,
        predictions also add the linear model's logits.

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

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        check_features(X, "X")
        with naming_input("X"):
            return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def _logits(self, X):
        """The logits predictions come from: the net's, plus the linear fall-back's."""
        logits, _ = self._forward(X)
        logits = logits.double()
        if self.fallback_ is not None:
            logits = logits + torch.from_numpy(self.fallback_.logits(X))
        return logits

    def predict_proba(self, X):
        """Class probabilities of the student.

        Where ``fallback_`` is set, the softmax of the net's logits plus the
        linear model's (their probabilities multiplied and renormalised).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        logits = self._logits(self._validate_predict_data(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Predicted class of each row, from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._predict(self._validate_predict_data(X))

    def _predict(self, X):
        """Predicted classes for already validated ``X``."""
        return self.classes_[np.argmax(self._logits(X).numpy(), axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labelled rows of ``(X, y)``; rows with ``y == -1`` are skipped.

        Grid searches and cross-validation score held-out folds of the same
        partly labelled data they fit on; counting unlabelled rows as errors
        would only add noise to the comparison.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels, ``-1`` for rows to skip.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        X = self._validate_predict_data(X)
        check_lengths(X, y, "X", "y")
        y = column_or_1d(check_labels(y, "y"), warn=True)
        labelled = labelled_mask(y)
        if not labelled.any():
            raise ValueError("y has no labelled row (all -1): nothing to score against.")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[labelled]
        return accuracy_score(y[labelled], self._predict(X[labelled]), sample_weight=sample_weight)

    def fit_transform(self, X, y):
        """Fit the student, then return the embeddings of ``X``."""
        return self.fit(X, y).transform(X)

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


def _version():
    from . import __version__

    return __version__


def _solved_every_step(terms):
    """Copies of ``terms`` whose feature alignment solves its transport at every step."""
    terms = copy.deepcopy(terms)
    for term in terms:
        if isinstance(term, FeatureAlignment):
            term.transport_every = 1
    return terms


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


def _print_checks(checks, trust):
    """The decisions of the checks, one line each (``verbose``)."""
    clusters, holdout = checks["clusters"], checks["holdout"]
    if clusters is not None and clusters["checked"]:
        print(
            f"cluster check: linear {clusters['linear_accuracy']:.3f}, graph "
            f"{clusters['graph_accuracy']:.3f}, skill {clusters['skill']:.2f} +- "
            f"{clusters['skill_sd']:.2f}: trust {clusters['trust']:.2f}"
        )
    if holdout is not None:
        print(f"held-out check: {holdout['reason']}")
    print(f"unlabeled_trust_ = {trust:.2f}")
    if checks["fallback"] is not None:
        print(f"fall-back: {checks['fallback']['reason']}")


def _check_finite_weights(module):
    """The last optimizer step can break the weights after the last finite loss."""
    bad = [name for name, p in module.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise NonFiniteLossError(
            f"The student's weights {bad} became NaN or infinite in training. Lower `lr`, "
            "`feature_weight` or `label_weight`. The estimator was left as it was before "
            "this fit."
        )
