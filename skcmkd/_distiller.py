"""CrossModalDistiller: the scikit-learn surface of skcmkd."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.metrics import accuracy_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import TransformerTags, check_array
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch.callbacks import ProgressBar
from torch import nn

from ._inputs import (
    check_features,
    check_features_and_labels,
    check_labels,
    check_lengths,
    input_scaler,
    naming_input,
)
from ._net import DistillerNet
from ._teacher import TEACHER_KINDS, Teacher, fit_teacher, torch_seed
from .alignment import SOLVERS, class_priors
from .exceptions import InconsistentVersionWarning, NonFiniteLossError
from .modules import EncoderClassifier, MLPEncoder

__all__ = ["CrossModalDistiller"]

# Keyword arguments routed, skorch-style, to the student encoder and optimizer.
_ROUTED_PREFIXES = ("module__", "optimizer__")
_PREDICT_CHUNK = 65536


def _labelled_mask(y):
    """``True`` where ``y`` holds a label, ``False`` where it holds ``-1``.

    Numeric labels use ``-1`` for unlabelled rows (scikit-learn's
    semi-supervised convention); with string labels pass an object array in
    which unlabelled rows hold the integer ``-1``.
    """
    if y.dtype.kind in "iuf":
        return y != -1
    if y.dtype.kind == "O":
        return np.array([not (isinstance(v, numbers.Number) and v == -1) for v in y], dtype=bool)
    return np.ones(len(y), dtype=bool)


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
        + \lambda_L\, \mathrm{KL}\big(q(\cdot \mid z) \,\|\, p_S(\cdot \mid z)\big),

    the two alignment terms of the bound
    :math:`\varepsilon_S \le \varepsilon_T + \tau\,FA + LA` (see the theory
    page). Without a teacher (:meth:`set_teacher` never called) it trains the
    same student net on the labelled rows alone.

    Parameters
    ----------
    teacher_encoder : {"mlp", "precomputed"}, fitted transformer or torch.nn.Module, default="mlp"
        How :meth:`set_teacher` builds the teacher. ``"mlp"``: a small MLP
        encoder into a ``latent_dim``-dimensional space plus a linear head,
        trained by cross-entropy on the teacher data. ``"precomputed"``: the
        teacher data already are embeddings (from CLIP, a sentence encoder,
        any model); only the head is fitted. A fitted scikit-learn
        transformer or a torch module: its output is the latent space; only
        the head is fitted (a scikit-learn encoder is cloned unfitted by
        :func:`~sklearn.base.clone`: wrap it in
        :class:`~sklearn.frozen.FrozenEstimator` if clones must call
        :meth:`set_teacher` again). Read by :meth:`set_teacher` only.
    teacher : Teacher, default=None
        The fitted teacher, set by :meth:`set_teacher`. Cloning keeps the
        very same object, so grid searches fit the teacher once.
    feature_weight : float, default=5.0
        :math:`\lambda_F`, weight of feature alignment, applied in
        proportion to the share of unlabelled student rows: a fully labelled
        student trains as the student alone (aligning then cost accuracy on
        mfeat), one with 5 labels per class gets nearly all of it. 5 did
        better than 1 and 2 in the probe of ``docs/probe_defaults.md``.
    neighbor_weight : float, default=200.0
        Weight of neighbour consistency, applied, like ``feature_weight``,
        in proportion to the share of unlabelled rows (a fully labelled
        student does not use it): each row's embedding is pulled towards
        that of one of its ``n_neighbors`` nearest neighbours in the
        (standardised) student input space, in units of the teacher bank's
        mean squared distance (:func:`skcmkd.alignment.neighbor_consistency`). Feature alignment
        moves the unlabelled rows into the teacher's class clusters; this
        term makes rows that look alike to the student move together, so
        that the clusters they land in follow the student's own geometry
        (the labelled rows and their neighbours). It uses no teacher, so the
        benchmark also reports it with the teacher switched off. Neighbours
        start close, so the term is small and its weight large; 200 was
        chosen from 2 to 500 in ``docs/probe_defaults.md``.
    n_neighbors : int, default=5
        Neighbours per row for ``neighbor_weight``, found once per
        :meth:`fit` with :class:`~sklearn.neighbors.NearestNeighbors`.
    label_weight : float, default=0.0
        :math:`\lambda_L`, weight of label alignment. Off by default: in the
        benchmark (``docs/benchmarks.md``, 5 labels per class) label
        alignment at weight 1 lowered the mean accuracy by 3.4 points when
        added to feature alignment and by 20 points on its own (hard and
        sharpened targets did no better in exploratory runs). It is still
        recorded in the history as a diagnostic.
    solver : {"emd", "sinkhorn", "sliced"}, default="emd"
        Optimal-transport solver of feature alignment (see
        :func:`skcmkd.alignment.feature_alignment`). Exact EMD is the default:
        at minibatch sizes it costs little, is exact, and has no
        regularisation to tune. In the benchmark Sinkhorn was 0.7 points
        better on average at several times the time per step; sliced lost
        the gain.
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
    kappa : {"one", "prior"}, default="one"
        :math:`\kappa` of label alignment. ``"one"`` takes the teacher head as
        the target; ``"prior"`` corrects it for a change of class priors
        between the two data sets, :math:`\pi_S(y) / \pi_T(y)`, with
        :math:`\pi_S` estimated from the labelled student rows, and weights
        the teacher batch of feature alignment by the same ratio.
    warmup_epochs : int, default=10
        The alignment and neighbour weights grow linearly from 0 to their
        value over the first ``warmup_epochs`` epochs: compared with an
        untrained encoder the alignment terms are noise, and a strong
        neighbour term alone would collapse its embeddings.
    teacher_batch_size : int, default=256
        Teacher embeddings drawn from the bank per step (with replacement);
        ``None`` uses ``batch_size``. More teacher points than student rows
        lower the noise of minibatch transport, whose class proportions
        differ from batch to batch (+1 point in the probe, see
        ``docs/design.md``).
    head_init : {"auto", "random", "teacher"}, default="auto"
        Start of the student's own head: a copy of the teacher's head, or
        random as for the student alone. ``"auto"`` copies the teacher's
        head when some student rows are unlabelled, since feature alignment
        then pulls the student into the teacher's latent space where that
        head fits, and starts at random when every row is labelled, where
        alignment is off and a fully labelled student trains exactly as the
        student alone.
    latent_dim : int, default=32
        Width of the latent space of the ``"mlp"`` teacher and of a student
        trained without a teacher. With a teacher the student uses the
        teacher's latent space.
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
        ``1`` prints skorch's per-epoch table with the loss terms.
    progress_bar : bool, default=False
        Show a progress bar over the batches of each epoch (skorch's
        ``ProgressBar``; needs ``tqdm``, the ``progress`` extra).
    teacher_max_epochs : int, default=100
        Epochs of the ``"mlp"`` teacher's training.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and teacher batches; the
        user's global random state is left alone.
    **kwargs
        ``module__<name>`` and ``optimizer__<name>`` parameters.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels the model can predict: the teacher's classes when a
        teacher is set, otherwise the labelled student classes.
    n_features_in_ : int
        Number of student features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` has string column names.
    net_ : skorch.NeuralNet
        The trained student net; its module returns ``(logits, z)``.
    history_ : skorch.History
        Per-epoch training history, with the loss terms ``"ce"``
        (cross-entropy), ``"fa"`` (feature alignment) and ``"la"`` (label
        alignment) next to ``"train_loss"``.
    scaler_ : Pipeline
        Standardises the student inputs before the net
        (each column divided by its largest absolute value, then
        :class:`~sklearn.preprocessing.StandardScaler`: safe at any
        magnitude).

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : teacher-free use of
        unlabelled rows.

    Notes
    -----
    Unlabelled rows (``y == -1``) take part in both alignment terms but not
    in the cross-entropy.
    Where the theory leaves choices open, this estimator takes: the squared
    Euclidean cost divided by the teacher bank's mean squared distance, the
    label-aware joint cost, exact EMD, a detached teacher target in the KL
    form of label alignment, and a linear warm-up of the alignment weights;
    the benchmark measures the alternatives.

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
    >>> d = CrossModalDistiller(max_epochs=5, teacher_max_epochs=5, random_state=0)
    >>> d.set_teacher(X_t, y_t).fit(X_s, y_s).predict(X_s[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "teacher_encoder": [StrOptions(set(TEACHER_KINDS)), HasMethods("transform"), nn.Module],
        "teacher": [Teacher, None],
        "feature_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "label_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "neighbor_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "solver": [StrOptions(set(SOLVERS))],
        "reg": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_projections": [Interval(numbers.Integral, 1, None, closed="left")],
        "label_cost": [Interval(numbers.Real, 0, None, closed="left")],
        "kappa": [StrOptions({"one", "prior"})],
        "warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "teacher_batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
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
        "teacher_max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        teacher_encoder="mlp",
        *,
        teacher=None,
        feature_weight=5.0,
        label_weight=0.0,
        neighbor_weight=200.0,
        n_neighbors=5,
        solver="emd",
        reg=0.05,
        n_projections=50,
        label_cost=1.0,
        kappa="one",
        warmup_epochs=10,
        teacher_batch_size=256,
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
        teacher_max_epochs=100,
        random_state=None,
        **kwargs,
    ):
        self.teacher_encoder = teacher_encoder
        self.teacher = teacher
        self.feature_weight = feature_weight
        self.label_weight = label_weight
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.solver = solver
        self.reg = reg
        self.n_projections = n_projections
        self.label_cost = label_cost
        self.kappa = kappa
        self.warmup_epochs = warmup_epochs
        self.teacher_batch_size = teacher_batch_size
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
        self.teacher_max_epochs = teacher_max_epochs
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

    def _routed(self, prefix):
        extra = self._extra_params()
        return {k[len(prefix) :]: v for k, v in extra.items() if k.startswith(prefix)}

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        for key in [k for k in params if k.startswith(_ROUTED_PREFIXES)]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    def _validate_params(self):
        unknown = [k for k in self._extra_params() if not k.startswith(_ROUTED_PREFIXES)]
        if unknown:
            raise TypeError(
                f"CrossModalDistiller got unexpected parameter(s) {unknown}; extra "
                f"parameters must start with one of {_ROUTED_PREFIXES} (skorch style)."
            )
        super()._validate_params()

    # -- teacher ------------------------------------------------------------

    def set_teacher(self, X_teacher, y_teacher):
        """Fit the teacher embedding on teacher-modality data, once.

        The teacher data share no sample with the student data: any number
        of rows, any features. The fitted :class:`Teacher` is stored in the
        ``teacher`` parameter, which :func:`~sklearn.base.clone` keeps as the
        same object, so clones (grid search candidates, cross-validation
        folds) distil from it without fitting it again.

        Parameters
        ----------
        X_teacher : array-like of shape (n_teacher, n_features_teacher)
            Teacher-modality inputs; embeddings with
            ``teacher_encoder="precomputed"``.
        y_teacher : array-like of shape (n_teacher,)
            Their labels; every row must be labelled.

        Returns
        -------
        self : CrossModalDistiller
        """
        self._validate_params()
        X_teacher, y_teacher = _check_teacher_data(X_teacher, y_teacher)
        self.teacher = fit_teacher(
            X_teacher,
            y_teacher,
            encoder=self.teacher_encoder,
            latent_dim=self.latent_dim,
            max_epochs=self.teacher_max_epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        return self

    # -- fit ----------------------------------------------------------------

    def _encode_labels(self, y):
        """Classes the model predicts, and integer codes with -1 for unlabelled."""
        labelled = _labelled_mask(y)
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
                    f"The labelled rows of y hold one class only ({classes[0]!r}); a "
                    "classifier without a teacher needs at least 2 classes: label rows "
                    "of another class, or call set_teacher first."
                )
        else:
            classes = self.teacher.classes_
            if labelled.any():
                check_classification_targets(y_labelled)
            missing = [label for label in np.unique(y_labelled) if not np.isin(label, classes)]
            if missing:
                raise ValueError(
                    f"The student labels {missing} are not among the teacher's classes "
                    f"{list(classes)}. Relabel the student data, or fit the teacher on "
                    "data that has these classes (set_teacher)."
                )
        codes = np.full(len(y), -1, dtype=np.int64)
        codes[labelled] = np.searchsorted(classes, y_labelled)
        return classes, codes

    def _build_module(self, n_features, n_classes, head_from_teacher):
        teacher = self.teacher
        latent_dim = self.latent_dim if teacher is None else teacher.latent_dim_
        encoder = (self.module or MLPEncoder)(
            n_features=n_features, latent_dim=latent_dim, **self._routed("module__")
        )
        _check_encoder_width(encoder, n_features, latent_dim)
        head_init = teacher.head_params() if teacher is not None and head_from_teacher else None
        return EncoderClassifier(encoder, latent_dim, n_classes, head_init=head_init)

    def _alignment_settings(self, codes, n_classes, seed):
        """The plain-data settings of the alignment terms, for the skorch net."""
        prior_ratio = None
        if self.teacher is not None and self.kappa == "prior":
            ratio = class_priors(codes, n_classes) / np.maximum(self.teacher.prior_, 1e-12)
            prior_ratio = ratio.tolist()
        return {
            "feature_weight": self.feature_weight,
            "label_weight": self.label_weight,
            "neighbor_weight": self.neighbor_weight,
            "solver": self.solver,
            "reg": self.reg,
            "n_projections": self.n_projections,
            "label_cost": self.label_cost,
            "prior_ratio": prior_ratio,
            "teacher_batch_size": self.teacher_batch_size,
            "warmup_epochs": self.warmup_epochs,
            "unlabelled_share": float(np.mean(codes == -1)),
            "seed": seed,
        }

    def _neighbor_table(self, X_scaled):
        """Indices of each row's nearest neighbours (itself excluded), as a tensor."""
        k = min(self.n_neighbors, len(X_scaled) - 1)
        if k < 1:
            return torch.arange(len(X_scaled))[:, None]  # one row: its own neighbour
        table = NearestNeighbors(n_neighbors=k).fit(X_scaled).kneighbors(return_distance=False)
        return torch.from_numpy(table)

    def _make_net(self, module, alignment):
        return DistillerNet(
            module,
            teacher=self.teacher,
            alignment=alignment,
            criterion=nn.CrossEntropyLoss,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            callbacks=[*(self.callbacks or []), *_progress_bar(self.progress_bar)],
            device=self.device,
            verbose=self.verbose,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(alignment["seed"]),
            **{f"optimizer__{k}": v for k, v in self._routed("optimizer__").items()},
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the student on student-modality data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Student-modality inputs; no row is paired with a teacher row.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` marks an unlabelled row (with string labels, use
            an object array holding ``-1``). Unlabelled rows take part in the
            alignment terms only.

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
        _check_device(self.device)
        with naming_input("X"):
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        classes, codes = self._encode_labels(y)
        scaler = input_scaler().fit(X)
        X_scaled = scaler.transform(X).astype(np.float32)
        with torch_seed(self.random_state) as seed:
            start = self.head_init
            if start == "auto":  # the teacher's head where alignment is on
                start = "teacher" if np.any(codes == -1) else "random"
            module = self._build_module(X.shape[1], len(classes), start == "teacher")
            alignment = self._alignment_settings(codes, len(classes), seed)
            net = self._make_net(module, alignment)
            targets = codes
            if alignment["neighbor_weight"] > 0 and alignment["unlabelled_share"] > 0:
                net.neighbors_ = (torch.from_numpy(X_scaled), self._neighbor_table(X_scaled))
                # the row index travels with the label, for the neighbour lookup
                targets = np.column_stack([codes, np.arange(len(codes))])
            net.fit(X_scaled, targets)
        _check_finite_weights(net.module_)
        self.classes_ = classes
        self.scaler_ = scaler
        self.net_ = net
        self.history_ = net.history
        return self

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

    def _forward(self, X):
        """Logits and embeddings of the student for validated ``X``."""
        X = self.scaler_.transform(X).astype(np.float32)
        module = self.net_.module_.eval()
        logits, z = [], []
        with torch.no_grad():
            for start in range(0, len(X), _PREDICT_CHUNK):
                chunk = torch.from_numpy(X[start : start + _PREDICT_CHUNK]).to(self.net_.device)
                chunk_logits, chunk_z = module(chunk)
                logits.append(chunk_logits.cpu())
                z.append(chunk_z.cpu())
        return torch.cat(logits), torch.cat(z)

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        check_features(X, "X")
        with naming_input("X"):
            return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def predict_proba(self, X):
        """Class probabilities of the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        logits, _ = self._forward(self._validate_predict_data(X))
        return torch.softmax(logits.double(), dim=1).numpy()

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
        logits, _ = self._forward(X)
        return self.classes_[np.argmax(logits.numpy(), axis=1)]

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
        y = check_labels(y, "y")
        labelled = _labelled_mask(y)
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


def _check_teacher_data(X_teacher, y_teacher):
    y_teacher = check_features_and_labels(X_teacher, y_teacher, "X_teacher", "y_teacher")
    y_teacher = column_or_1d(y_teacher, warn=True)
    with naming_input("X_teacher"):
        X_teacher = check_array(X_teacher, dtype=[np.float64, np.float32], input_name="X_teacher")
    if not _labelled_mask(y_teacher).all():
        raise ValueError(
            "y_teacher holds -1 (the unlabelled marker); the teacher needs a label "
            "for every row. Drop the unlabelled teacher rows."
        )
    check_classification_targets(y_teacher)
    if len(np.unique(y_teacher)) < 2:
        raise ValueError(
            "y_teacher holds a single class; the teacher needs at least 2 classes: add "
            "teacher rows of another class."
        )
    return X_teacher, y_teacher


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


def cuda_missing(device):
    """``True`` when ``device`` asks for CUDA on a machine without it."""
    return torch.device(device).type == "cuda" and not torch.cuda.is_available()


def _check_device(device):
    if cuda_missing(device):
        raise ValueError(
            f"device={device!r} but torch finds no CUDA device on this machine; "
            "set device='cpu' (a model saved on a GPU loads and predicts on the CPU as it is)."
        )


def _check_encoder_width(encoder, n_features, latent_dim):
    """Fail early, and clearly, when a custom encoder's output does not fit the head."""
    training = encoder.training
    encoder.eval()  # no dropout: the check draws nothing from the seeded generator
    with torch.no_grad():
        shape = tuple(encoder(torch.zeros(2, n_features)).shape)
    encoder.train(training)
    if shape != (2, latent_dim):
        raise ValueError(
            f"The student module maps (2, {n_features}) inputs to shape {shape}, but the "
            f"latent space has width {latent_dim} (the teacher's, or `latent_dim`). Make the "
            "module's output width its `latent_dim` constructor argument."
        )


def _check_finite_weights(module):
    """The last optimizer step can break the weights after the last finite loss."""
    bad = [name for name, p in module.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise NonFiniteLossError(
            f"The student's weights {bad} became NaN or infinite in training. Lower `lr`, "
            "`feature_weight` or `label_weight`. The estimator was left as it was before "
            "this fit."
        )
