"""Control teachers: what any teacher gives, so that what *this* teacher gives can be told apart.

Without pairs, a teacher can carry only class-level knowledge: how many
classes, their priors, and how they relate to each other. Some of what
distillation gains needs none of it: any set of well-separated labelled
clusters is a prior on the student's latent geometry. Two controls measure
that part (semi-supervised heterogeneous domain adaptation, arXiv
2502.13573, found noise sources often transfer as well as real ones):

- a teacher of **labelled noise**: Gaussian clusters, one per class, with
  the real teacher's class counts and nothing else;
- the real teacher with its **classes permuted** (a derangement): the same
  geometry, wrongly named.

A claim that the teacher's content helps is a claim that the real teacher
beats the noise teacher; :func:`skcmkd.diagnostics.teacher_contribution`
measures it on a user's own data, the benchmark on ours.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["NOISE_DIMENSIONS", "noise_teacher_data", "permuted_labels"]

#: Width of the noise teacher's inputs.
NOISE_DIMENSIONS = 300


def noise_teacher_data(y_teacher, *, n_features=NOISE_DIMENSIONS, random_state=None):
    """Labelled Gaussian noise with the class counts of ``y_teacher``.

    Each class gets a mean drawn from :math:`N(0, I)` in ``n_features``
    dimensions; each row is its class mean plus :math:`N(0, I)` noise. In
    300 dimensions the classes are far apart and equally so: a teacher
    fitted on them carries the number of classes, their priors and a clean
    cluster geometry, and no knowledge of any modality.

    Parameters
    ----------
    y_teacher : array-like of shape (n_teacher,)
        The real teacher's labels; returned rows follow them one for one.
    n_features : int, default=300
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_noise : ndarray of shape (n_teacher, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> X = noise_teacher_data(np.array([0, 0, 1]), n_features=4, random_state=0)
    >>> X.shape
    (3, 4)
    """
    rng = check_random_state(random_state)
    y_teacher = np.asarray(y_teacher)
    classes, codes = np.unique(y_teacher, return_inverse=True)
    means = rng.standard_normal((len(classes), n_features))
    return means[codes] + rng.standard_normal((len(y_teacher), n_features))


def permuted_labels(y, *, random_state=None):
    """``y`` with its classes renamed by a derangement: no class keeps its name.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        At least two classes.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    y_permuted : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1, 2, 0])
    >>> y_p = permuted_labels(y, random_state=0)
    >>> bool(np.all(y_p != y)), sorted(set(y_p.tolist()))
    (True, [0, 1, 2])
    """
    rng = check_random_state(random_state)
    y = np.asarray(y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("permuted_labels needs at least two classes to rename.")
    while True:
        order = rng.permutation(len(classes))
        if np.all(order != np.arange(len(classes))):
            return classes[order][codes]
