"""What the meta-estimators around a CrossModalDistiller share.

:class:`~skcmkd.SafeAlignment` and :class:`~skcmkd.UnseenClassNamer` each
wrap an ``estimator`` whose chain of ``estimator`` parameters ends at a
:class:`~skcmkd.CrossModalDistiller` (the *base distiller*): they read its
teacher, its random state and its weights, set its parameters on clones, and
predict through the fitted ``estimator_``. This module holds that plumbing,
so that each meta-estimator's own file holds only its decision.
"""

import copy

import joblib
import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    MetaEstimatorMixin,
    TransformerMixin,
    clone,
)
from sklearn.utils import TransformerTags
from sklearn.utils.validation import check_is_fitted, check_memory

from ._compat import validate_data
from ._distiller import CrossModalDistiller
from ._inputs import check_device, check_features_and_labels, naming_input
from ._pickling import VersionedPickle, version
from ._predicting import LogitPredictions
from ._teacher import Teacher, draw_seed

__all__ = [
    "MetaDistiller",
    "base_distiller",
    "cached",
    "check_seed",
    "content_key",
    "final_distiller",
    "fit_weighing",
]


def base_distiller(estimator):
    """The :class:`~skcmkd.CrossModalDistiller` at the end of ``estimator``'s chain, and its prefix.

    Returns
    -------
    distiller : CrossModalDistiller
        Unfitted or fitted, as the chain holds it.
    prefix : str
        What ``set_params`` on ``estimator`` puts before the distiller's
        parameter names (``""``, ``"estimator__"``, ...).
    """
    prefix, found = "", estimator
    while not isinstance(found, CrossModalDistiller):
        inner = getattr(found, "estimator", None)
        if inner is None:
            raise TypeError(
                f"{type(estimator).__name__} is not a CrossModalDistiller, nor a skcmkd "
                "meta-estimator around one: pass CrossModalDistiller(...), or "
                "UnseenClassNamer(CrossModalDistiller(...)), as the estimator."
            )
        prefix, found = prefix + "estimator__", inner
    return found, prefix


def final_distiller(model):
    """The fitted :class:`~skcmkd.CrossModalDistiller` that a fitted model predicts with."""
    check_is_fitted(model)
    while not isinstance(model, CrossModalDistiller):
        model = model.estimator_
    return model


def check_seed(distiller):
    """The seed the distiller's fit draws from its ``random_state``, drawn the same way.

    The distiller's ``random_state`` is copied first: a ``RandomState``
    instance given by the user is not advanced (clones get copies of it too).
    """
    random_state = copy.deepcopy(distiller.random_state)
    return draw_seed(random_state)


def fit_weighing(estimator, X, y, unlabeled_share, classes=None, sample_weight=None):
    """Fit ``estimator``; a distiller weighs its terms by ``unlabeled_share`` of unlabelled rows.

    The meta-estimators' own students hide labels (held-out folds) or add
    some (named rows), yet weigh the alignment as a fit on the user's labels
    would (:meth:`CrossModalDistiller._weighted_terms`), and predict the
    ``classes`` of the fit on the user's labels where given (a fold can hide
    every label of a class). Any other estimator is fitted as it is.
    """
    if not isinstance(estimator, CrossModalDistiller):
        return estimator.fit(X, y, sample_weight=sample_weight)
    estimator._validate_params()
    return estimator._fit(
        X, y, sample_weight=sample_weight, unlabeled_share=unlabeled_share, classes=classes
    )


def content_key(estimator):
    """What ``estimator`` computes from, as a digest: its parameters, its teacher by content.

    ``joblib.Memory`` would key an estimator by its pickle, in which a torch
    tensor is its memory address: the same teacher fitted again, or loaded,
    would never find what was kept for it. The key takes every parameter
    (``get_params(deep=True)``) but the teacher, the teacher's
    :meth:`~skcmkd.Teacher.fingerprint`, and this skcmkd's version (a result
    kept by another version is not reused).
    """
    params = []
    for name, value in sorted(estimator.get_params(deep=True).items()):
        if isinstance(value, Teacher):
            value = ("teacher", value.fingerprint())
        elif isinstance(value, BaseEstimator):
            value = type(value).__qualname__  # its own parameters are listed beside
        params.append((name, value))
    return joblib.hash((type(estimator).__qualname__, params, version()))


def cached(memory, function, *args, ignore=()):
    """``function(*args)`` through ``memory``; also whether the result was in it.

    Parameters
    ----------
    memory : None, str or joblib.Memory
        As :class:`~sklearn.pipeline.Pipeline`'s ``memory``: ``None`` keeps
        nothing, a path is a :class:`joblib.Memory` there.
    function : callable
        A module-level function (joblib names its cache by it).
    *args
        Its arguments; those named in ``ignore`` are left out of the key
        (an estimator, keyed instead by a :func:`content_key` argument).

    Returns
    -------
    result
    hit : bool
        ``True`` where the result came from ``memory``, without a call.
    """
    remembered = check_memory(memory).cache(function, ignore=list(ignore))
    hit = remembered.check_call_in_cache(*args)
    return remembered(*args), hit


class MetaDistiller(
    VersionedPickle,
    LogitPredictions,
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Base class of the meta-estimators around a distiller.

    Subclasses implement ``fit`` (setting ``estimator_``, ``classes_``,
    ``n_trainings_`` and ``decision_``) and may override :meth:`_logits`,
    which :meth:`decision_function`, :meth:`predict_proba` and
    :meth:`predict` are made of.
    """

    def set_teacher(self, X_teacher, y_teacher, **kwargs):
        """Fit the teacher of the wrapped distiller (:meth:`CrossModalDistiller.set_teacher`).

        Returns
        -------
        self
        """
        self.estimator.set_teacher(X_teacher, y_teacher, **kwargs)
        return self

    @property
    def teacher(self):
        """The wrapped distiller's fitted teacher (``None`` before :meth:`set_teacher`)."""
        return base_distiller(self.estimator)[0].teacher

    def _fit_or_keep(self, fit, X, y, sample_weight):
        """``fit(X, y, sample_weight)``; should it raise, the estimator is left as it was."""
        previous_state = dict(vars(self))
        try:
            return fit(X, y, sample_weight)
        except BaseException:
            vars(self).clear()
            vars(self).update(previous_state)
            raise

    def _validate_training_data(self, X, y):
        """``X`` and ``y`` checked as the distiller checks them, with the same messages."""
        if base_distiller(self.estimator)[0].warm_start:
            raise ValueError(
                f"{type(self).__name__} fits clones of its estimator at every fit, so there is "
                "no net to continue: warm_start=True is for a CrossModalDistiller alone. Set "
                "the distiller's warm_start=False here."
            )
        y = check_features_and_labels(X, y, "X", "y")
        check_device(base_distiller(self.estimator)[0].device)
        with naming_input("X"):
            return validate_data(self, X, y, dtype=[np.float64, np.float32])

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform gives the final student's float32 embeddings
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        return tags

    @property
    def _n_features_out(self):
        """Width of :meth:`transform`'s output, for ``get_feature_names_out``."""
        return final_distiller(self)._n_features_out

    def _logits(self, X):
        """The logits predictions come from, for validated ``X``: the fitted estimator's."""
        return self.estimator_._logits(X)

    def fit_transform(self, X, y, sample_weight=None):
        """Fit, then return the final student's embeddings of ``X``."""
        return self.fit(X, y, sample_weight=sample_weight).transform(X)

    def transform(self, X):
        """The final student's embeddings of ``X`` (the net's own, in the teacher's latent space).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        z : ndarray of shape (n_samples, latent_dim), float32
        """
        return self.estimator_.transform(self._validate_predict_data(X))

    def forward(self, X):
        """The final student net's logits and embeddings (:meth:`CrossModalDistiller.forward`).

        These are the net's own: a linear fall-back's logits are not added.
        """
        return final_distiller(self).forward(self._validate_predict_data(X))

    def _clone_with(self, **distiller_params):
        """A clone of ``estimator`` with these parameters set on its distiller."""
        _, prefix = base_distiller(self.estimator)
        return clone(self.estimator).set_params(
            **{prefix + name: value for name, value in distiller_params.items()}
        )
