"""Loaders for the real multi-view data bundled with skcmkd."""

from functools import cache
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["MFEAT_VIEWS", "load_mfeat", "load_mfeat_unpaired", "unpaired_split"]

#: The six views of UCI Multiple Features, with their widths.
MFEAT_VIEWS = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}

_MFEAT_DESCR = """UCI Multiple Features (mfeat): six views of 2000 handwritten digits.

Views: fou (76 Fourier coefficients of the character shapes), fac (216 profile
correlations), kar (64 Karhunen-Loeve coefficients), pix (240 pixel averages in
2 x 3 windows), zer (47 Zernike moments), mor (6 morphological features).
Row i is the same digit in every view; 200 digits per class, in class order.

Source: UCI Machine Learning Repository, "Multiple Features" (Robert P.W. Duin),
licensed CC BY 4.0; cite M. van Breukelen, R.P.W. Duin, D.M.J. Tax,
J.E. den Hartog, "Handwritten digit recognition by combined classifiers",
Kybernetika 34(4):381-386, 1998.
"""


@cache
def _read_view(view):
    path = resources.files("skcmkd") / "data" / "mfeat" / f"mfeat-{view}.csv.gz"
    with resources.as_file(path) as file:
        table = np.loadtxt(file, delimiter=",", skiprows=1)
    table.setflags(write=False)
    return table


def load_mfeat(views=None):
    """Load the bundled UCI Multiple Features data set.

    Parameters
    ----------
    views : str or list of str, default=None
        Which views to load, among ``MFEAT_VIEWS`` (``"fou"``, ``"fac"``,
        ``"kar"``, ``"pix"``, ``"zer"``, ``"mor"``). ``None`` loads all six.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``views`` maps each view name to a float64 array of shape
        ``(2000, n_features_view)``; ``target`` holds the digit labels
        ``0..9`` (int64); ``DESCR`` gives the source and its attribution.
        Row ``i`` is the same digit in every view: split the rows to make
        the views unpaired (see :func:`unpaired_split`).

    Examples
    --------
    >>> from skcmkd.datasets import load_mfeat
    >>> data = load_mfeat(["fac", "fou"])
    >>> data.views["fac"].shape, data.views["fou"].shape, data.target.shape
    ((2000, 216), (2000, 76), (2000,))
    """
    if views is None:
        views = list(MFEAT_VIEWS)
    elif isinstance(views, str):
        views = [views]
    unknown = sorted(set(views) - set(MFEAT_VIEWS))
    if unknown:
        raise ValueError(f"Unknown mfeat view(s) {unknown}; choose among {sorted(MFEAT_VIEWS)}.")
    tables = {view: _read_view(view) for view in views}
    target = next(iter(tables.values()))[:, -1].astype(np.int64)
    return Bunch(
        views={view: table[:, :-1].copy() for view, table in tables.items()},
        target=target,
        DESCR=_MFEAT_DESCR,
    )


def unpaired_split(y, *, sizes, labels_per_class=None, random_state=None):
    """Split row indices into disjoint, class-stratified parts.

    The multi-view data sets pair row ``i`` of every view; giving each side of
    a distillation a disjoint part of the rows makes the two sides unpaired.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels, used to stratify every part.
    sizes : sequence of float
        Fraction of each class that goes to each part, in order; they must
        sum to at most 1.
    labels_per_class : int, default=None
        If given, also return a label vector for the second part (the student
        training part) in which all but ``labels_per_class`` rows of each
        class are marked ``-1`` (unlabelled).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle.

    Returns
    -------
    parts : list of ndarray
        Row indices of each part, disjoint.
    y_partial : ndarray
        Only when ``labels_per_class`` is given: the labels of the second
        part with unlabelled rows set to ``-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd.datasets import unpaired_split
    >>> y = np.repeat(np.arange(3), 10)
    >>> teacher, student, test = unpaired_split(y, sizes=[0.4, 0.4, 0.2], random_state=0)
    >>> len(teacher), len(student), len(test), len(set(teacher) & set(student))
    (12, 12, 6, 0)
    """
    from sklearn.utils import check_random_state

    y = np.asarray(y)
    sizes = np.asarray(sizes, dtype=float)
    if np.any(sizes <= 0) or sizes.sum() > 1 + 1e-9:
        raise ValueError(f"sizes must be positive and sum to at most 1, got {list(sizes)}.")
    rng = check_random_state(random_state)
    parts = [[] for _ in sizes]
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        bounds = np.round(np.cumsum(sizes) * len(rows)).astype(int)
        for part, start, stop in zip(parts, np.r_[0, bounds[:-1]], bounds, strict=True):
            part.extend(rows[start:stop])
    parts = [np.sort(np.asarray(part, dtype=np.int64)) for part in parts]
    if labels_per_class is None:
        return parts
    y_partial = y[parts[1]].astype(object if y.dtype.kind in "OUS" else y.dtype)
    keep = np.zeros(len(y_partial), dtype=bool)
    for label in np.unique(y_partial):
        rows = np.flatnonzero(y_partial == label)
        keep[rng.choice(rows, size=min(labels_per_class, len(rows)), replace=False)] = True
    y_partial[~keep] = -1
    return parts, y_partial


def load_mfeat_unpaired(teacher_view, student_view, *, labels_per_class=None, random_state=None):
    """Two mfeat views as an unpaired distillation problem, ready to fit.

    The 2000 digits are split, class-stratified, into a teacher set (40%), a
    student training set (35%) and a student test set (25%); no digit is on
    both sides. This is the split of the demo and of the benchmarks.

    Parameters
    ----------
    teacher_view, student_view : str
        Views among ``MFEAT_VIEWS``.
    labels_per_class : int, default=None
        Labelled student training rows per class; the others get ``-1``.
        ``None`` labels every row.
    random_state : int, RandomState instance or None, default=None
        Seeds the split and the choice of labelled rows.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_teacher``, ``y_teacher``; ``X_student``, ``y_student`` (int64,
        ``-1`` for unlabelled rows) and ``y_student_true`` (the hidden
        labels, for evaluation only); ``X_test``, ``y_test``;
        ``X_student_paired`` and ``X_test_paired``: the *teacher* view of the
        student training and test digits, which an unpaired method must not
        use (paired baselines and teacher accuracy only).

    Examples
    --------
    >>> from skcmkd.datasets import load_mfeat_unpaired
    >>> data = load_mfeat_unpaired("fac", "fou", labels_per_class=5, random_state=0)
    >>> data.X_teacher.shape, data.X_student.shape, int((data.y_student != -1).sum())
    ((800, 216), (700, 76), 50)
    """
    data = load_mfeat([teacher_view, student_view])
    y = data.target
    (t_rows, s_rows, test_rows), y_student = unpaired_split(
        y,
        sizes=[0.4, 0.35, 0.25],
        labels_per_class=labels_per_class or len(y),
        random_state=random_state,
    )
    teacher, student = data.views[teacher_view], data.views[student_view]
    return Bunch(
        X_teacher=teacher[t_rows],
        y_teacher=y[t_rows],
        X_student=student[s_rows],
        y_student=y_student.astype(np.int64),
        y_student_true=y[s_rows],
        X_test=student[test_rows],
        y_test=y[test_rows],
        X_student_paired=teacher[s_rows],
        X_test_paired=teacher[test_rows],
    )
