"""Labels of partly labelled data: class codes, the teacher's classes, unseen classes.

Shared by :class:`~skcmkd.CrossModalDistiller` and the meta-estimators
around it, which must read ``y`` exactly as the distiller does.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from ._inputs import labelled_mask

__all__ = ["encode_labels", "teacher_codes", "unseen_codes"]


def encode_labels(teacher, y, classes=None):
    """Classes the model predicts, and integer codes with ``-1`` for unlabelled rows.

    With a teacher, the classes are the teacher's and any labelled student
    class the teacher lacks; without one, the labelled student classes.

    Parameters
    ----------
    teacher : Teacher or None
    y : ndarray of shape (n_samples,)
        Validated labels, ``-1`` (or ``"-1"``) for unlabelled rows.
    classes : ndarray or None, default=None
        Given, the classes as they are (a held-out fold's student predicts
        the classes of the whole data, labelled in its fold or not); every
        label of ``y`` must be among them.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    codes : ndarray of shape (n_samples,), int64
    """
    labelled = labelled_mask(y)
    y_labelled = y[labelled]
    if classes is not None:
        if not np.isin(y_labelled, classes).all():
            raise ValueError(
                f"Labels {np.setdiff1d(y_labelled, classes).tolist()} are not among the "
                f"classes {np.asarray(classes).tolist()} this fit was given."
            )
    elif teacher is None:
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
        classes = teacher.classes_
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


def unseen_codes(teacher, classes, codes):
    """Codes of the teacher's classes that have no labelled row (none without a teacher)."""
    if teacher is None:
        return np.array([], dtype=np.int64)
    return np.setdiff1d(teacher.positions_in(classes), codes[codes >= 0])


def teacher_codes(teacher, codes, classes):
    """Codes into the teacher's classes; ``-1`` for unlabelled rows and classes it lacks."""
    to_teacher = np.full(len(classes) + 1, -1, dtype=np.int64)  # the last entry: code -1
    to_teacher[teacher.positions_in(classes)] = np.arange(len(teacher.classes_))
    return to_teacher[codes]
