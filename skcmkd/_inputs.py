"""Checking and standardising user inputs, with errors that say what to do.

scikit-learn's validation does the work; the checks here come first only
where its message would not name the argument (``X_teacher`` is not ``X``)
or would not say how to fix the input.
"""

import contextlib
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

__all__ = [
    "check_device",
    "check_features",
    "check_labels",
    "check_lengths",
    "check_features_and_labels",
    "check_teacher_data",
    "cuda_missing",
    "input_scaler",
    "labelled_mask",
    "naming_input",
    "relative_weights",
    "sample_weights",
    "stratified_subset",
]

#: The unlabelled marker: the integer -1 (scikit-learn's semi-supervised
#: convention), or the string "-1" among string labels.
UNLABELLED = (-1, "-1")


def labelled_mask(y):
    """``True`` where ``y`` holds a label, ``False`` where it holds ``-1`` or ``"-1"``.

    Examples
    --------
    >>> import numpy as np
    >>> labelled_mask(np.array([0, -1, 2])).tolist()
    [True, False, True]
    >>> labelled_mask(np.array(["a", "-1"])).tolist()
    [True, False]
    """
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return y != -1
    if y.dtype.kind in "US":
        return y != "-1"
    return np.array(
        [not (isinstance(v, numbers.Number | str) and v in UNLABELLED) for v in y.ravel()],
        dtype=bool,
    ).reshape(y.shape)


def check_features(X, name):
    """Raise a clear error for a feature array of the wrong shape or kind.

    Catches what scikit-learn would report without the argument's name or a
    fix: wrong dimensions, no rows, complex or string values.
    Everything else (NaN, infinity, sparse input) is left to
    :func:`~sklearn.utils.validation.check_array`, whose messages do both.
    """
    shape, dtype = getattr(X, "shape", None), getattr(X, "dtype", None)
    if shape is None:
        try:
            array = np.asarray(X)
        except ValueError:  # ragged nested lists: scikit-learn explains those
            return
        shape, dtype = array.shape, array.dtype
    shape = tuple(shape)
    if len(shape) != 2:
        fix = (
            f"{name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) for a single row"
            if len(shape) == 1
            else f"{name}.reshape(len({name}), -1) to flatten the trailing axes, or embed the "
            "data first"
        )
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got {len(shape)}-D "
            f"shape {shape}. Reshape your data: {fix}."
        )
    if shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {shape}): pass at least one row.")
    kind = getattr(dtype, "kind", None)
    if kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} holds complex numbers, skcmkd needs real ones. Pass the real and "
            f"imaginary parts (or modulus and phase) as separate columns."
        )
    if kind in ("U", "S"):
        raise ValueError(
            f"{name} holds strings (dtype {dtype}); skcmkd needs numeric features. Convert "
            f"numbers stored as text with {name}.astype(float), and encode categories first "
            "(OneHotEncoder in a Pipeline)."
        )


# scikit-learn's message fragment -> ours, which names the argument and the fix.
_EXPLAINED = {
    "could not convert": "{name} holds non-numeric values ({error}). Encode categorical "
    "columns first (OneHotEncoder in a Pipeline) and pass numbers.",
    "contains NaN": "{name} holds NaN (missing values). Impute them first "
    "(sklearn.impute.SimpleImputer in a Pipeline) or drop those rows.",
    "contains infinity": "{name} holds infinity or values beyond float64's range. Clip "
    "them (np.clip) or drop those rows.",
}


@contextlib.contextmanager
def naming_input(name):
    """Re-raise scikit-learn's input errors with the argument's name and a fix."""
    try:
        yield
    except ValueError as error:
        for fragment, message in _EXPLAINED.items():
            if fragment in str(error):
                raise ValueError(message.format(name=name, error=error)) from error
        raise


def check_labels(y, name):
    """Raise a clear error for labels that are not one finite label per row."""
    y = np.asarray(y)
    column = y.ndim == 2 and y.shape[1] == 1  # scikit-learn ravels it, with a warning
    if y.ndim != 1 and not column:
        raise ValueError(
            f"{name} must be 1-D, one label per row; got shape {y.shape}. skcmkd fits "
            "single-output classification."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(
            f"{name} holds NaN or infinity. Labels are classes; mark an unlabelled "
            "student row with -1 (teacher rows all need a label)."
        )
    return y


def check_lengths(X, y, X_name, y_name):
    """Raise a clear error when ``X`` and ``y`` disagree on the number of rows."""
    if y is None:
        raise ValueError(
            f"skcmkd requires y to be passed, but the target {y_name} is None. Pass one label "
            "per row (-1 for an unlabelled student row)."
        )
    n_X, n_y = _n_rows(X), _n_rows(y)
    if n_X != n_y:
        raise ValueError(
            f"{X_name} has {n_X} rows but {y_name} has {n_y} labels: give one label per "
            "row (-1 for an unlabelled student row)."
        )


def check_teacher_data(X_teacher, y_teacher):
    """Validate the teacher's training pair: every row labelled, at least two classes."""
    y_teacher = check_features_and_labels(X_teacher, y_teacher, "X_teacher", "y_teacher")
    y_teacher = column_or_1d(y_teacher, warn=True)
    with naming_input("X_teacher"):
        X_teacher = check_array(X_teacher, dtype=[np.float64, np.float32], input_name="X_teacher")
    if not labelled_mask(y_teacher).all():
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


def cuda_missing(device):
    """``True`` when ``device`` asks for CUDA on a machine without it."""
    return torch.device(device).type == "cuda" and not torch.cuda.is_available()


def check_device(device):
    """Refuse a CUDA device on a machine without one, saying what to do."""
    if cuda_missing(device):
        raise ValueError(
            f"device={device!r} but torch finds no CUDA device on this machine; "
            "set device='cpu' (a model saved on a GPU loads and predicts on the CPU as it is)."
        )


def sample_weights(sample_weight, X):
    """``sample_weight`` checked, as a float array; ``None`` for none or all ones (unweighted).

    Raises a clear error for weights of the wrong length or shape, negative,
    NaN, infinite or all zero.
    """
    if sample_weight is None:
        return None
    weights = np.array(sample_weight, dtype=np.float64)  # a copy: writable, ours
    if weights.ndim == 0:  # one number for every row, as scikit-learn takes it
        weights = np.full(_n_rows(X), float(weights))
    if weights.ndim != 1 or len(weights) != _n_rows(X):
        raise ValueError(
            f"sample_weight must hold one number per row of X ({_n_rows(X)}); got shape "
            f"{weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative; drop or fix those rows.")
    if not weights.any():
        raise ValueError("sample_weight is zero everywhere: give some rows a positive weight.")
    return None if (weights == 1).all() else weights


def relative_weights(weights, codes):
    """The labelled rows' weights scaled to average 1; ``None`` where they are all equal."""
    labelled = codes >= 0
    if weights is None or not labelled.any():
        return None
    if not weights[labelled].any():
        raise ValueError(
            "sample_weight is zero on every labelled row: the cross-entropy would weigh "
            "nothing. Give the labelled rows positive weights."
        )
    if (weights[labelled] == weights[labelled][0]).all():  # equal weights: unweighted
        return None
    return weights / weights[labelled].mean()


def _n_rows(data):
    """Rows of an array, DataFrame, sparse matrix, nested list or array-like."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape):
        return shape[0]
    try:
        return len(data)
    except TypeError:  # an object with __array__ only
        return np.asarray(data).shape[0]


def check_features_and_labels(X, y, X_name, y_name):
    """The three checks above for a training pair; returns ``y`` as an array."""
    check_features(X, X_name)
    check_lengths(X, y, X_name, y_name)
    return check_labels(y, y_name)


class _MaxAbsDivider(TransformerMixin, BaseEstimator):
    """Divide each column by its largest absolute value (zero columns by one).

    Unlike :class:`~sklearn.preprocessing.MaxAbsScaler` it keeps columns of
    tiny magnitude (1e-200, say): scikit-learn's scalers treat a scale below
    ten machine epsilons as a constant column.
    """

    def fit(self, X, y=None):
        scale = np.max(np.abs(X), axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X):
        return X / self.scale_


def input_scaler():
    """Standardise features, safely at any magnitude.

    Dividing each column by its largest absolute value first keeps the
    variance of a column near 1e300 from overflowing, and one near 1e-200
    from being taken for a constant, in
    :class:`~sklearn.preprocessing.StandardScaler`; the standardised result
    is the same.
    """
    return make_pipeline(_MaxAbsDivider(), StandardScaler())


def stratified_subset(rows, labels, size, rng, *, min_per_class=1):
    """About ``size`` of ``rows``, each class in proportion.

    Every class keeps at least ``min_per_class`` rows (all of them where it
    has fewer): a rare class is never drawn out of a cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.arange(10) % 2
    >>> subset = stratified_subset(np.arange(10), labels, 4, np.random.RandomState(0))
    >>> np.bincount(labels[subset])
    array([2, 2])
    """
    keep = []
    for label in np.unique(labels):
        members = rows[labels == label]
        take = max(min_per_class, int(round(size * len(members) / len(rows))))
        keep.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(keep))
