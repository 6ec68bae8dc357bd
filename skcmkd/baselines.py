"""The methods skcmkd is measured against, in one registry: the benchmark's and the demo's.

Each :class:`Method` is one entry of :data:`METHODS`: its key (the column of
``docs/benchmarks.csv``), the name the pages and the demo print, the teacher
it distils (``None``: teacher-free) and how to fit it on one :class:`Split`.
``benchmarks/accuracy.py`` runs every entry, in this order;
``python -m skcmkd demo`` runs those marked ``demo`` (or any chosen with
``--methods``). To add a baseline, add one entry to :data:`METHODS`
(``docs/design.md``, "How to add a baseline").

Examples
--------
>>> from skcmkd.baselines import get_methods
>>> [method.name for method in get_methods(["logreg", "skcmkd"])]
['LogisticRegression, labelled rows', 'skcmkd, defaults']
>>> get_methods(["logreg"])[0].teacher_free
True
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from skorch import NeuralNet

from ._distiller import CrossModalDistiller
from ._safe_alignment import SafeAlignment
from ._safe_distiller import make_safe_distiller
from ._teacher import torch_seed
from .alignment import masked_cross_entropy
from .controls import noise_teacher_data, permuted_labels
from .modules import EncoderClassifier, MLPEncoder

__all__ = [
    "TEACHER_ROLES",
    "Method",
    "Split",
    "METHODS",
    "get_methods",
    "teacher_data",
    "fit_teachers",
    "on_labelled_rows",
    "on_all_rows",
    "distilled",
]

#: The teachers a method can distil: the real one, and the two controls of
#: :mod:`skcmkd.controls` (labelled noise, classes permuted).
TEACHER_ROLES = ("real", "noise", "permuted")


@dataclass(frozen=True)
class Split:
    """What a method may use of one unpaired split.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Student training rows.
    y : ndarray of shape (n_samples,)
        Their labels, ``-1`` for unlabelled rows.
    teachers : dict
        Fitted :class:`~skcmkd.Teacher` per kind of :data:`TEACHER_ROLES`
        (those the methods need; :func:`fit_teachers`).
    random_state : int
        Seeds every fit.
    max_epochs : int, default=100
        Epochs of every net.
    verbose : int, default=0
        Passed to the distillers.
    X_teacher_paired : ndarray or None, default=None
        The teacher-modality view of the student rows, where pairs exist;
        only methods with ``needs_pairs`` read it.
    """

    X: np.ndarray
    y: np.ndarray
    teachers: dict = field(default_factory=dict)
    random_state: int = 0
    max_epochs: int = 100
    verbose: int = 0
    X_teacher_paired: np.ndarray | None = None


@dataclass(frozen=True)
class Method:
    """One method of the comparison.

    Attributes
    ----------
    key : str
        Short unique name: the method's column in ``docs/benchmarks.csv`` and
        its word in the demo's per-split lines.
    name : str
        What the pages and the demo's table print.
    fit : callable
        ``fit(split, teacher)`` returns the model fitted on a :class:`Split`
        with the fitted teacher of kind ``teacher`` (``None`` for a
        teacher-free method); the model must have ``score(X, y)`` (held-out
        accuracy). :func:`on_labelled_rows`, :func:`on_all_rows` and
        :func:`distilled` make one.
    teacher : {"real", "noise", "permuted"} or None, default=None
        The teacher it distils; ``None``: teacher-free.
    needs_pairs : bool, default=False
        Reads ``split.X_teacher_paired``: run only where pairs exist.
    plot : bool, default=False
        A bar of the benchmark's plot.
    demo : bool, default=False
        Run by ``python -m skcmkd demo`` unless ``--methods`` says otherwise.
    """

    key: str
    name: str
    fit: Callable = field(repr=False)
    teacher: str | None = None
    needs_pairs: bool = False
    plot: bool = False
    demo: bool = False

    @property
    def teacher_free(self):
        """Uses no teacher at all: a baseline skcmkd must beat to be worth its teacher."""
        return self.teacher is None

    def run(self, split):
        """The model fitted on ``split``, with the split's teacher of this method's kind."""
        teacher = None if self.teacher is None else split.teachers[self.teacher]
        return self.fit(split, teacher)


# -- how methods fit: helpers an entry can use -----------------------------------------


def on_labelled_rows(estimator):
    """Fit a standardised clone of ``estimator`` on the labelled rows only.

    Parameters
    ----------
    estimator : scikit-learn classifier

    Returns
    -------
    fit : callable
        For :attr:`Method.fit`.
    """

    def fit(split, teacher=None):
        labelled = split.y != -1
        model = make_pipeline(StandardScaler(), clone(estimator))
        return model.fit(split.X[labelled], split.y[labelled])

    return fit


def on_all_rows(estimator):
    """Fit a standardised clone of a semi-supervised ``estimator`` on every row (``-1`` kept).

    Parameters
    ----------
    estimator : scikit-learn semi-supervised classifier

    Returns
    -------
    fit : callable
        For :attr:`Method.fit`.
    """

    def fit(split, teacher=None):
        model = make_pipeline(StandardScaler(), clone(estimator))
        with warnings.catch_warnings():  # a fully labelled split is no error
            warnings.filterwarnings("ignore", message="y contains no unlabeled samples")
            return model.fit(split.X, split.y)

    return fit


def distilled(*, safe=True, name_unseen=True, **params):
    """Fit the recommended default (or a plain distiller) with ``params``, distilling the method's teacher.

    Parameters
    ----------
    safe : bool, default=True
        ``True``: :func:`~skcmkd.make_safe_distiller` (the checks, the
        fall-back and the naming of unseen classes around the distiller);
        ``False``: a :class:`~skcmkd.CrossModalDistiller` alone, one net.
    name_unseen : bool, default=True
        With ``safe``: ``False`` leaves out the naming of unseen classes
        (:class:`~skcmkd.SafeAlignment` around the distiller alone).
    **params
        Distiller parameters; ``random_state``, ``max_epochs`` and
        ``verbose`` come from the split, the teacher from the entry's
        :attr:`Method.teacher`.

    Returns
    -------
    fit : callable
        For :attr:`Method.fit`.
    """

    def fit(split, teacher=None):
        distiller = dict(
            teacher=teacher,
            max_epochs=split.max_epochs,
            random_state=split.random_state,
            verbose=split.verbose,
            **params,
        )
        if not safe:
            model = CrossModalDistiller(**distiller)
        elif name_unseen:
            model = make_safe_distiller(**distiller)
        else:
            model = SafeAlignment(CrossModalDistiller(**distiller))
        return model.fit(split.X, split.y)

    return fit


class _PairedKDNet(NeuralNet):
    """Logit distillation on true pairs: CE + T^2 KL(teacher_T || student_T)."""

    temperature = 2.0

    def get_loss(self, y_pred, y_true, X=None, training=False):
        logits, _ = y_pred
        y_true = torch.as_tensor(y_true, device=logits.device)
        codes, teacher_probs = y_true[:, 0].long(), y_true[:, 1:].float()
        t = self.temperature
        soft = teacher_probs ** (1 / t)
        soft = soft / soft.sum(dim=1, keepdim=True)
        kd = F.kl_div(F.log_softmax(logits / t, dim=1), soft, reduction="batchmean")
        return masked_cross_entropy(logits, codes) + t**2 * kd


class _PairedKD:
    """The default student net, trained on the real teacher's soft labels of the paired rows.

    The upper bound that uses the pairs skcmkd does without.
    """

    def __init__(self, teacher, *, max_epochs, random_state, verbose=0):
        self.teacher = teacher
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, X_teacher_paired):
        defaults = CrossModalDistiller()
        teacher_probs = self.teacher.predict_proba(X_teacher_paired)
        labelled = y != -1
        codes = np.full(len(y), -1)
        codes[labelled] = np.searchsorted(self.teacher.classes_, y[labelled])
        self.scaler_ = StandardScaler().fit(X)
        X_scaled = self.scaler_.transform(X).astype(np.float32)
        with torch_seed(self.random_state) as seed:
            module = EncoderClassifier(
                MLPEncoder(n_features=X.shape[1], latent_dim=defaults.latent_dim),
                defaults.latent_dim,
                teacher_probs.shape[1],
            )
            self.net_ = _PairedKDNet(
                module,
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=defaults.optimizer,
                lr=defaults.lr,
                max_epochs=self.max_epochs,
                batch_size=defaults.batch_size,
                train_split=None,
                verbose=self.verbose,
                iterator_train__shuffle=True,
                iterator_train__generator=torch.Generator().manual_seed(seed),
            )
            self.net_.fit(X_scaled, np.column_stack([codes, teacher_probs]).astype(np.float32))
        return self

    def predict(self, X):
        proba = self.net_.predict_proba(self.scaler_.transform(X).astype(np.float32))
        return self.teacher.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y))


def _paired_kd(split, teacher):
    model = _PairedKD(
        teacher,
        max_epochs=split.max_epochs,
        random_state=split.random_state,
        verbose=split.verbose,
    )
    return model.fit(split.X, split.y, split.X_teacher_paired)


# -- the registry ------------------------------------------------------------------------


def _registry(*methods):
    registry = {}
    for method in methods:
        if method.key in registry:
            raise ValueError(f"Two methods share the key {method.key!r}.")
        if method.teacher not in (None, *TEACHER_ROLES):
            raise ValueError(
                f"Method {method.key!r}: teacher {method.teacher!r} is not one of "
                f"{[None, *TEACHER_ROLES]}."
            )
        registry[method.key] = method
    return registry


#: Every method, in the order of the benchmark's columns. One entry a method.
METHODS = _registry(
    Method(
        "logreg",
        "LogisticRegression, labelled rows",
        on_labelled_rows(LogisticRegression(max_iter=2000)),
        plot=True,
        demo=True,
    ),
    Method(
        "self_training",
        "SelfTrainingClassifier(LogisticRegression)",
        on_all_rows(SelfTrainingClassifier(LogisticRegression(max_iter=2000))),
    ),
    Method(
        "label_spreading",
        "LabelSpreading (knn, 10)",
        on_all_rows(LabelSpreading(kernel="knn", n_neighbors=10, max_iter=200)),
        plot=True,
    ),
    Method(
        "alone",
        "student alone (same net, labelled rows)",
        distilled(safe=False, neighbor_weight=0.0),
        plot=True,
        demo=True,
    ),
    Method("teacher_off", "skcmkd, no teacher", distilled(), plot=True, demo=True),
    Method("skcmkd", "skcmkd, defaults", distilled(), teacher="real", plot=True, demo=True),
    Method(
        "noise",
        "skcmkd, teacher of labelled noise",
        distilled(),
        teacher="noise",
        plot=True,
        demo=True,
    ),
    Method(
        "permuted",
        "skcmkd, teacher with classes permuted",
        distilled(),
        teacher="permuted",
    ),
    Method("paired_kd", "paired KD (uses the pairs)", _paired_kd, teacher="real", needs_pairs=True),
)


def get_methods(keys=None):
    """The registered methods of ``keys``, in that order; every method when ``None``.

    Parameters
    ----------
    keys : iterable of str or None, default=None

    Returns
    -------
    methods : list of Method

    Raises
    ------
    ValueError
        For a key no entry of :data:`METHODS` has: a method is never dropped
        silently.
    """
    if keys is None:
        return list(METHODS.values())
    keys = list(keys)
    unknown = [key for key in keys if key not in METHODS]
    if unknown:
        raise ValueError(
            f"Unknown method(s) {unknown}; the registered ones are {list(METHODS)}. Add an "
            "entry to skcmkd.baselines.METHODS (docs/design.md, 'How to add a baseline')."
        )
    return [METHODS[key] for key in keys]


# -- the teachers --------------------------------------------------------------------------


def teacher_data(X_teacher, y_teacher, *, random_state):
    """The data of each teacher kind: the real one and its two controls.

    The controls are drawn from ``RandomState(1000 + random_state)``, noise
    first, then the permutation: the benchmark's and the demo's protocol.

    Parameters
    ----------
    X_teacher : ndarray of shape (n_teacher, n_teacher_features)
    y_teacher : ndarray of shape (n_teacher,)
    random_state : int

    Returns
    -------
    data : dict
        ``{kind: (X, y)}`` for every kind of :data:`TEACHER_ROLES`.
    """
    rng = np.random.RandomState(1000 + random_state)
    noise = noise_teacher_data(y_teacher, random_state=rng)
    return {
        "real": (X_teacher, y_teacher),
        "noise": (noise, y_teacher),
        "permuted": (X_teacher, permuted_labels(y_teacher, random_state=rng)),
    }


def fit_teachers(kinds, X_teacher, y_teacher, *, random_state, max_epochs=100, verbose=0):
    """Fit the teachers of ``kinds``, each once (they do not depend on the student).

    Parameters
    ----------
    kinds : iterable of {"real", "noise", "permuted"} or None
        Which teachers, e.g. ``{method.teacher for method in methods}``;
        ``None`` (a teacher-free method) is skipped.
    X_teacher, y_teacher : ndarray
        The real teacher's data.
    random_state : int
        Seeds the controls (:func:`teacher_data`) and every teacher's fit.
    max_epochs : int, default=100
    verbose : int, default=0

    Returns
    -------
    teachers : dict
        ``{kind: Teacher}``.
    """
    kinds = set(kinds) - {None}
    unknown = kinds - set(TEACHER_ROLES)
    if unknown:
        raise ValueError(f"Unknown teacher kind(s) {sorted(unknown)}; use {list(TEACHER_ROLES)}.")
    data = teacher_data(X_teacher, y_teacher, random_state=random_state)
    return {
        kind: CrossModalDistiller(max_epochs=max_epochs, random_state=random_state)
        .set_teacher(X, y, max_epochs=max_epochs, verbose=verbose)
        .teacher
        for kind, (X, y) in data.items()
        if kind in kinds
    }
