"""Predictions from logits, shared by the distiller and the meta-estimators around it.

Each estimator gives the logits of validated rows (``_logits``); the class
:class:`LogitPredictions` makes ``decision_function``, ``predict_proba``,
``predict`` and ``score`` (accuracy on the labelled rows) of them.
"""

import numpy as np
import torch
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._compat import validate_data
from ._inputs import check_features, check_labels, check_lengths, labelled_mask, naming_input

__all__ = ["LogitPredictions", "binary_scores", "labelled_accuracy", "probabilities"]


def probabilities(logits):
    """Class probabilities: the softmax of float64 ``logits``, row by row."""
    return torch.softmax(torch.from_numpy(np.asarray(logits, dtype=np.float64)), dim=1).numpy()


def binary_scores(logits):
    """``decision_function``'s output: the logits, or with two classes one score per row.

    scikit-learn's binary classifiers give the second class's score alone; the
    softmax of two logits depends on their difference only.
    """
    return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits


def labelled_accuracy(predict, X, y, sample_weight=None):
    """Accuracy of ``predict`` on the rows of ``(X, y)`` with a label; ``-1`` rows are skipped.

    Parameters
    ----------
    predict : callable
        Predicts the classes of validated rows.
    X : ndarray of shape (n_samples, n_features)
        Validated rows.
    y : array-like of shape (n_samples,)
        True labels, ``-1`` for rows to skip.
    sample_weight : array-like of shape (n_samples,), default=None
    """
    check_lengths(X, y, "X", "y")
    y = column_or_1d(check_labels(y, "y"), warn=True)
    labelled = labelled_mask(y)
    if not labelled.any():
        raise ValueError("y has no labelled row (all -1): nothing to score against.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)[labelled]
    return accuracy_score(y[labelled], predict(X[labelled]), sample_weight=sample_weight)


class LogitPredictions:
    """Mixin: what a fitted classifier with ``classes_`` and ``_logits(X)`` predicts."""

    def _logits(self, X):
        """The logits (float64, one column per class in ``classes_``) of validated ``X``."""
        raise NotImplementedError

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        check_features(X, "X")
        with naming_input("X"):
            return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def decision_function(self, X):
        """The logits the predictions come from.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) with two classes
            The logits, columns following ``classes_``; with two classes, as
            scikit-learn's binary classifiers give it, the second class's
            logit minus the first's.
        """
        return binary_scores(self._logits(self._validate_predict_data(X)))

    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return probabilities(self._logits(self._validate_predict_data(X)))

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
        return self.classes_[np.argmax(self._logits(X), axis=1)]

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
        return labelled_accuracy(self._predict, X, y, sample_weight)
