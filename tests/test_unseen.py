"""Naming clusters by the teacher's class relations (skcmkd.unseen, UnseenClassNamer's core)."""

import numpy as np
import pytest

from skcmkd.unseen import anchor_clusters, name_clusters, seeded_kmeans

# -- the naming step on its own -----------------------------------------------


def test_name_clusters_recovers_a_shuffled_naming_from_distances_alone():
    rng = np.random.RandomState(0)
    means = rng.randn(7, 3) * 3
    order = rng.permutation(7)  # cluster k holds class order[k]
    clusters = means[order] @ rng.randn(3, 5) * 0.5  # another space, another scale
    anchors = {k: int(order[k]) for k in range(3)}
    unseen = sorted(int(c) for c in order[3:])
    naming, fit = name_clusters(clusters, means, anchors, unseen)
    # a random linear map keeps most of the distances' order, not all of it
    assert (naming == order).mean() >= 5 / 7
    assert 0 < fit <= 1


def test_name_clusters_is_exact_on_distances_kept_exactly():
    rng = np.random.RandomState(1)
    means = rng.randn(6, 4)
    order = rng.permutation(6)
    rotation = np.linalg.qr(rng.randn(4, 4))[0]
    anchors = {0: int(order[0]), 1: int(order[1])}
    naming, fit = name_clusters(2 * means[order] @ rotation, means, anchors, order[2:])
    np.testing.assert_array_equal(naming, order)
    assert fit > 0.5


def test_beyond_the_enumerated_size_the_solver_still_finds_an_exact_naming():
    rng = np.random.RandomState(2)
    n = 8 + 4  # beyond max_enumerated
    means = rng.randn(n, 6) * np.linspace(1, 4, n)[:, None]
    order = rng.permutation(n)
    anchors = {k: int(order[k]) for k in range(3)}
    naming, fit = name_clusters(means[order], means, anchors, order[3:], random_state=0)
    assert (naming == order).mean() >= 0.9
    assert fit > 0.5


def test_name_clusters_refuses_a_count_mismatch():
    with pytest.raises(ValueError, match="one cluster per class"):
        name_clusters(np.eye(4), np.eye(4), {0: 0}, [1, 2])


def test_one_unseen_class_takes_the_one_free_cluster():
    naming, fit = name_clusters(np.eye(3), np.eye(3), {0: 2, 2: 0}, [1])
    assert naming.tolist() == [2, 1, 0] and fit == 0.0


def test_seeded_kmeans_anchors_each_labelled_class_to_its_cluster():
    rng = np.random.RandomState(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    truth = np.repeat(np.arange(4), 30)
    Z = centres[truth] + rng.randn(120, 2)
    codes = np.full(120, -1)
    codes[[0, 1, 30, 31]] = [0, 0, 1, 1]
    km = seeded_kmeans(Z, codes, 4, random_state=0)
    anchors = anchor_clusters(km.labels_, codes)
    assert sorted(anchors.values()) == [0, 1]
    for cluster, code in anchors.items():
        assert np.all(truth[km.labels_ == cluster] == code)


def test_the_naming_leaves_a_class_the_teacher_lacks_out_of_the_relations():
    means = np.array([[0.0, 0], [4, 0], [0, 3], [np.nan, np.nan], [9, 9]])
    clusters = means.copy()
    clusters[3] = [50, -50]  # the student-only class: anywhere
    naming, fit = name_clusters(clusters[[0, 1, 3, 4, 2]], means, {0: 0, 1: 1, 2: 3}, [2, 4])
    assert naming.tolist() == [0, 1, 3, 4, 2]
