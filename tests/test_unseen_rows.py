"""skcmkd.unseen_rows: naming unseen classes row by row, through the seen classes as anchors."""

import numpy as np
import pytest

from skcmkd._teacher import relation_means_of
from skcmkd.unseen_rows import RowNaming, name_rows, relation_space

N_CLASSES = 16
UNSEEN = np.arange(8, 16)


def _view(places, y, rng):
    """The rows of classes ``y`` seen through a random linear map of their places."""
    return (places[y] + 0.5 * rng.randn(len(y), places.shape[1])) @ rng.randn(places.shape[1], 9)


def _problem(n_per_class=30, seed=0, sizes=None):
    """Sixteen classes at random places in 6 dimensions, seen by two random linear maps.

    The teacher sees 40 rows of each class, the student ``sizes`` (or
    ``n_per_class``) rows: the two sides agree on which classes lie close.
    Classes 0-7 have 4 labelled student rows each. Returns the student's
    rows and the teacher's class means, each in its own whitened space.
    """
    rng = np.random.RandomState(seed)
    places = rng.randn(N_CLASSES, 6) * 2
    y_teacher = np.repeat(np.arange(N_CLASSES), 40)
    means = relation_means_of(_view(places, y_teacher, rng), y_teacher, N_CLASSES)
    counts = np.full(N_CLASSES, n_per_class) if sizes is None else np.asarray(sizes)
    y = np.repeat(np.arange(N_CLASSES), counts)
    Z = relation_space(_view(places, y, rng))
    codes = np.full(len(y), -1)
    for c in range(8):
        codes[rng.choice(np.flatnonzero(y == c), 4, replace=False)] = c
    return Z, codes, y, means


def test_relation_space_whitens_to_at_most_the_features_or_rows():
    X = np.random.RandomState(0).randn(30, 5) @ np.diag([1, 10, 100, 1000, 1e4])
    Z = relation_space(X, n_components=64)
    assert Z.shape == (30, 5)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(5), atol=0.1)
    assert relation_space(X[:4], n_components=64).shape == (4, 3)


def test_rows_of_unseen_classes_get_their_class_from_the_teacher_relations():
    Z, codes, y, places = _problem()
    naming = name_rows(Z, codes, places, UNSEEN, n_permutations=19, random_state=0)
    assert isinstance(naming, RowNaming)
    hidden = np.isin(y[naming.rows], UNSEEN)
    accuracy = np.mean(naming.assigned[hidden] == y[naming.rows][hidden])
    assert accuracy > 0.8
    assert naming.relational_fit > 3 and naming.p_value == pytest.approx(0.05)
    np.testing.assert_allclose(naming.responsibilities.sum(axis=1), 1, rtol=1e-6)
    assert np.isnan(naming.stability[:8]).all()
    assert (naming.stability[UNSEEN] > 0.5).all() and (naming.stability[UNSEEN] <= 1).all()


def test_a_teacher_whose_classes_are_shuffled_fits_no_better_than_chance():
    Z, codes, y, places = _problem()
    shuffled = places[np.random.RandomState(1).permutation(N_CLASSES)]
    naming = name_rows(Z, codes, shuffled, UNSEEN, random_state=0)
    hidden = np.isin(y[naming.rows], UNSEEN)
    assert np.mean(naming.assigned[hidden] == y[naming.rows][hidden]) < 0.4
    assert naming.relational_fit < 3


def test_class_sizes_are_estimated_where_the_student_classes_are_unbalanced():
    sizes = np.where(np.arange(N_CLASSES) % 2, 60, 15)
    Z, codes, y, places = _problem(sizes=sizes)
    prior = np.full(N_CLASSES, 1 / N_CLASSES)
    labelled = np.bincount(codes[codes >= 0], minlength=N_CLASSES)
    true = (sizes - labelled) / (sizes - labelled).sum()  # the unlabelled rows' shares
    start = (prior * len(y) - labelled) / (prior * len(y) - labelled).sum()
    estimated = name_rows(Z, codes, places, UNSEEN, prior=prior, n_permutations=0, random_state=0)
    assert np.abs(estimated.class_sizes - true).sum() < np.abs(start - true).sum() / 2
    kept = name_rows(
        Z,
        codes,
        places,
        UNSEEN,
        prior=prior,
        estimate_sizes=False,
        n_permutations=0,
        random_state=0,
    )
    np.testing.assert_allclose(kept.class_sizes, start)


def test_pseudo_labels_name_the_surest_rows_of_stable_classes_only():
    Z, codes, y, places = _problem()
    naming = name_rows(Z, codes, places, UNSEEN, n_permutations=0, random_state=0)
    named, counts = naming.pseudo_labels(codes, per_class=3)
    assert counts == [3] * len(UNSEEN)
    new = np.flatnonzero(named != codes)
    assert len(new) == 3 * len(UNSEEN) and (codes[new] == -1).all()
    assert np.mean(named[new] == y[new]) > 0.9
    naming.stability[UNSEEN[:2]] = 0.1  # two classes judged unstable: left unnamed
    named, counts = naming.pseudo_labels(codes, per_class=3, min_stability=0.5)
    assert counts[:2] == [0, 0] and counts[2:] == [3] * (len(UNSEEN) - 2)
    assert not np.isin(named[named != codes], UNSEEN[:2]).any()


def test_without_resamples_or_permutations_the_evidence_is_nan():
    Z, codes, _, places = _problem(n_per_class=10)
    naming = name_rows(Z, codes, places, UNSEEN, n_resamples=0, n_permutations=0)
    assert np.isnan(naming.stability).all()
    assert np.isnan(naming.relational_fit) and np.isnan(naming.p_value)


def test_the_same_seed_names_the_same():
    Z, codes, _, places = _problem(n_per_class=10)
    first = name_rows(Z, codes, places, UNSEEN, n_permutations=5, random_state=3)
    second = name_rows(Z, codes, places, UNSEEN, n_permutations=5, random_state=3)
    np.testing.assert_array_equal(first.assigned, second.assigned)
    assert first.relational_fit == second.relational_fit
    np.testing.assert_array_equal(first.stability, second.stability)


def test_too_few_anchors_or_no_unlabelled_row_is_a_clear_error():
    Z, codes, _, places = _problem(n_per_class=10)
    one_anchor = np.where(codes == 0, 0, -1)
    with pytest.raises(ValueError, match="at least two classes with labelled rows"):
        name_rows(Z, one_anchor, places, UNSEEN)
    with pytest.raises(ValueError, match="needs unlabelled rows"):
        name_rows(Z[codes >= 0], codes[codes >= 0], places, UNSEEN)


def test_labelled_rows_do_not_count_toward_the_unlabelled_rows_sizes():
    """Seen classes labelled in full: every unlabelled row is of an unseen class."""
    Z, codes, y, means = _problem()
    codes = np.where(y < 8, y, -1)
    for estimate in (True, False):
        naming = name_rows(
            Z, codes, means, UNSEEN, estimate_sizes=estimate, n_permutations=0, random_state=0
        )
        assert np.mean(np.isin(naming.assigned, UNSEEN)) > 0.9
        assert naming.class_sizes[:8].sum() < 0.1


def test_bad_settings_and_constant_rows_are_clear_errors():
    Z, codes, _, means = _problem(n_per_class=10)
    for bad in (dict(n_rounds=0), dict(reg=0), dict(resample_share=0), dict(n_resamples=-1)):
        with pytest.raises(ValueError, match="name_rows needs n_rounds"):
            name_rows(Z, codes, means, UNSEEN, **bad)
    with pytest.raises(ValueError, match="at least 2"):
        name_rows(Z, codes, means, UNSEEN, n_permutations=1)
    with pytest.raises(ValueError, match="Every row is the same"):
        relation_space(np.ones((10, 3)))


def test_a_resample_left_without_rows_gives_no_evidence_rather_than_an_error():
    Z, codes, _, means = _problem(n_per_class=10)
    few = codes.copy()
    few[np.flatnonzero(codes == -1)[2:]] = 0  # two unlabelled rows left
    naming = name_rows(Z, few, means, UNSEEN, resample_share=0.3, n_permutations=0, random_state=0)
    assert naming.assigned.shape == (2,)
