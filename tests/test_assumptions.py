"""The checks behind SafeAlignment and teacher_relations="auto"."""

import numpy as np
import pytest
from sklearn.semi_supervised import LabelSpreading

from skcmkd.assumptions import (
    _knn_graph,
    check_clusters,
    equidistant_shift,
    relation_agreement,
    relations_from_agreement,
)

from .test_distiller import _voices


def test_clusters_that_carry_the_class_are_trusted():
    rng = np.random.RandomState(0)
    y = np.arange(200) % 4
    X = 5 * np.eye(8)[y] + rng.randn(200, 8)
    check = check_clusters(X, np.where(np.arange(200) < 40, y, -1))
    assert check.checked and check.trust > 0.8
    assert check.graph_accuracy >= check.linear_accuracy - 0.05
    assert 0 <= check.skill_sd < 0.2 and check.skill > 0.9


def test_neighbours_that_share_a_voice_are_not_trusted():
    X, y, _ = _voices()
    check = check_clusters(X, y)
    assert check.checked and check.trust == 0.0
    assert check.graph_accuracy < check.linear_accuracy - 0.2


def test_the_shared_graph_spreads_as_sklearns_knn_kernel():
    """One neighbour search for every fold changes nothing the folds compute."""
    rng = np.random.RandomState(0)
    y = np.arange(300) % 3
    X = 1.5 * np.eye(6)[y] + rng.randn(300, 6)
    graph = _knn_graph(X, 10)
    for fold in range(3):
        spread = np.where(np.arange(300) % 3 == fold, -1, y)
        spread[100:] = -1
        ours = LabelSpreading(kernel=graph).fit(X, spread)
        theirs = LabelSpreading(kernel="knn", n_neighbors=10).fit(X, spread)
        assert np.array_equal(ours.label_distributions_, theirs.label_distributions_)


def test_many_labelled_rows_are_checked_on_a_bounded_draw(monkeypatch):
    """Beyond max_labelled, a stratified draw is held out, with fewer repeats of the folds."""
    import skcmkd.assumptions as assumptions

    rng = np.random.RandomState(0)
    y = np.arange(3000) % 4
    X = 5 * np.eye(8)[y] + rng.randn(3000, 8)
    fits = []
    fit = assumptions.LogisticRegression.fit

    def counting(self, X, y):
        fits.append(len(X))
        return fit(self, X, y)

    monkeypatch.setattr(assumptions.LogisticRegression, "fit", counting)
    check = check_clusters(X, np.where(np.arange(3000) < 2000, y, -1), max_labelled=200)
    assert check.checked and check.trust > 0.8
    assert fits == [160] * 5  # 200 labelled rows in 5 folds, drawn once (200 // 200 repeats)
    fits.clear()
    check_clusters(X, np.where(np.arange(3000) < 100, y, -1), max_labelled=200)
    assert fits == [80] * 10  # 100 labelled rows: two draws of the folds


def test_a_rare_class_keeps_its_folds_in_the_draw_of_labelled_rows():
    """5,000 labelled rows, 8 of one class: the draw keeps all 8, every fold sees the class."""
    rng = np.random.RandomState(0)
    y = np.r_[np.ones(8, dtype=int), np.zeros(4992, dtype=int), np.full(1000, -1)]
    X = 3 * np.eye(4)[np.maximum(y, 0)] + rng.randn(6000, 4)
    check = check_clusters(X, y, max_labelled=500)
    assert check.checked and np.isfinite(check.skill)
    assert check.linear_accuracy > 0.9


def test_a_safe_fit_checks_imbalanced_data_with_many_labels():
    from skcmkd import CrossModalDistiller, SafeAlignment

    rng = np.random.RandomState(0)
    y = np.r_[np.ones(8, dtype=int), np.zeros(992, dtype=int), np.full(200, -1)]
    X = 3 * np.eye(4)[np.maximum(y, 0)] + rng.randn(1200, 4)
    model = SafeAlignment(
        CrossModalDistiller(neighbor_weight=1.0, max_epochs=1, random_state=0), cv=2
    )
    model.fit(X, y)  # 1,000 labelled rows: beyond the default draw of 500
    assert model.decision_.clusters.checked


def test_a_noisy_skill_is_trusted_less_than_a_sure_one():
    """The lower bound: the same skill measured on fewer rows earns less trust."""
    rng = np.random.RandomState(0)
    y = np.arange(600) % 4
    X = 1.5 * np.eye(8)[y] + rng.randn(600, 8)  # overlapping classes: a modest skill
    few = check_clusters(X, np.where(np.arange(600) < 40, y, -1), random_state=0)
    many = check_clusters(X, np.where(np.arange(600) < 400, y, -1), random_state=0)
    assert few.skill_sd > 2 * many.skill_sd > 0
    assert few.trust == pytest.approx(_ramp_of(few.skill - few.skill_sd, 0.5, 0.9))
    moved = check_clusters(X, np.where(np.arange(600) < 40, y, -1), ramp=(0.0, 0.2))
    assert moved.trust == pytest.approx(_ramp_of(few.skill - few.skill_sd, 0.0, 0.2))


def _ramp_of(value, low, high):
    return float(np.clip((value - low) / (high - low), 0, 1))


@pytest.mark.parametrize(
    "labels", [[0, 1, -1, -1, -1, -1], [0, 0, 0, 0, 0, 0, -1], [0, 1, 0, -1, -1, -1]]
)
def test_too_few_labels_to_check_means_no_change(labels):
    y = np.array(labels)
    check = check_clusters(np.random.RandomState(0).randn(len(y), 3), y)
    assert not check.checked and check.trust == 1.0


def test_string_labels_with_the_string_marker():
    rng = np.random.RandomState(0)
    y = np.array(["a", "b", "c"])[np.arange(150) % 3]
    X = 5 * np.eye(3)[np.arange(150) % 3] + rng.randn(150, 3)
    y_partial = np.where(np.arange(150) < 30, y, "-1")
    assert check_clusters(X, y_partial).trust == 1.0


def test_the_relation_ramp_maps_to_zero_and_one():
    assert relations_from_agreement(0.1) == 0.0
    assert relations_from_agreement(0.7) == 1.0
    assert relations_from_agreement(0.4) == pytest.approx(0.5)
    assert relations_from_agreement(0.4, ramp=(0.0, 0.4)) == 1.0
    assert relations_from_agreement(float("nan")) == 1.0


def test_relation_agreement_is_high_for_a_teacher_of_the_same_geometry(fitted, unpaired):
    teacher = fitted.teacher
    # student rows placed at the teacher's own class means: perfect agreement
    y = np.repeat(np.arange(10), 5)
    X = teacher.class_means_[y] + 0.01 * np.random.RandomState(0).randn(50, 32)
    assert relation_agreement(teacher, X, y) > 0.95
    assert np.isnan(relation_agreement(teacher, X[:10], np.r_[y[:10]]))  # class 0 and 1 only


def test_equidistant_shift_keeps_the_mean_spread():
    rng = np.random.RandomState(0)
    means = rng.randn(5, 8) * [1, 2, 3, 4, 5, 1, 1, 1]
    moved = means + equidistant_shift(means, 0.0)
    pair = np.triu_indices(5, 1)

    def squared(m):
        return ((m[:, None] - m[None]) ** 2).sum(-1)[pair]

    assert np.allclose(squared(moved), squared(moved)[0])
    assert squared(moved).mean() == pytest.approx(squared(means).mean())
    assert np.allclose(moved.mean(axis=0), means.mean(axis=0))
    assert not equidistant_shift(means, 1.0).any()


def test_equidistant_shift_needs_room_for_a_simplex():
    means = np.random.RandomState(0).randn(6, 3)  # 6 vertices need 5 dimensions
    assert not equidistant_shift(means, 0.0).any()
