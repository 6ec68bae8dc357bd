"""Classes the student has no labels for: named from the teacher's class relations."""

import warnings

import numpy as np
import pytest

from skcmkd import CrossModalDistiller, load_model, save_model
from skcmkd.diagnostics import diagnose
from skcmkd.exceptions import UnseenClassesWarning
from skcmkd.unseen import MAX_ENUMERATED, anchor_clusters, name_clusters, seeded_kmeans

#: Seven classes at irregular places in a plane: every naming of three of
#: them shows in the distances. Both modalities see this plane through their
#: own random linear map, so they agree on which classes lie close.
PLACES = np.array([[0, 0], [1, 0], [3, 0], [0, 4], [5, 5], [2, 7], [7, 1]], dtype=float)
SEEN, UNSEEN = [0, 1, 2, 4], [3, 5, 6]
SMALL = dict(max_epochs=40, batch_size=32, random_state=0)


def _modality(n_per_class, mixing, seed, noise=0.3):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(PLACES)), n_per_class)
    X = (PLACES[y] + noise * rng.randn(len(y), 2)) @ mixing
    return X + 0.05 * rng.randn(*X.shape), y


@pytest.fixture(scope="module")
def planes():
    """An 8-feature teacher modality and a 6-feature student one; 4 labels per seen class."""
    rng = np.random.RandomState(0)
    teacher_view, student_view = rng.randn(2, 8), rng.randn(2, 6)
    X_teacher, y_teacher = _modality(60, teacher_view, seed=1)
    X_student, y_true = _modality(40, student_view, seed=2)
    X_test, y_test = _modality(30, student_view, seed=3)
    y = np.full(len(y_true), -1)
    rng = np.random.RandomState(3)
    for c in SEEN:
        y[rng.choice(np.flatnonzero(y_true == c), 4, replace=False)] = c
    return dict(
        X_teacher=X_teacher,
        y_teacher=y_teacher,
        X=X_student,
        y=y,
        y_true=y_true,
        X_test=X_test,
        y_test=y_test,
    )


@pytest.fixture(scope="module")
def noise_teacher(planes):
    """A teacher of labelled random noise: the teacher's labels on Gaussian rows."""
    noise = np.random.RandomState(4).randn(*planes["X_teacher"].shape)
    model = CrossModalDistiller(random_state=0)
    return model.set_teacher(noise, planes["y_teacher"], max_epochs=20).teacher


@pytest.fixture(scope="module")
def named(planes):
    model = CrossModalDistiller(**SMALL).set_teacher(
        planes["X_teacher"], planes["y_teacher"], max_epochs=60
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenClassesWarning)
        return model.fit(planes["X"], planes["y"])


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
    n = MAX_ENUMERATED + 4
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


# -- in fit ---------------------------------------------------------------------


def test_fit_names_the_classes_only_the_teacher_knows(named, planes):
    assert named.unseen_classes_.tolist() == UNSEEN
    check = named.checks_["unseen"]
    assert check["named"] and check["unseen"] == UNSEEN
    assert check["agreement"] >= 0.4
    assert check["pseudo_labels"] == [4, 4, 4]  # as many as a seen class has labels
    predicted = named.predict(planes["X_test"])
    is_unseen = np.isin(planes["y_test"], UNSEEN)
    assert set(UNSEEN) <= set(predicted[is_unseen].tolist())
    # chance for three unseen classes named at random is 1/3
    assert np.mean(predicted[is_unseen] == planes["y_test"][is_unseen]) > 0.6
    assert np.mean(predicted[~is_unseen] == planes["y_test"][~is_unseen]) > 0.6
    assert named.predict_proba(planes["X_test"]).shape == (len(planes["X_test"]), 7)


def test_a_teacher_of_labelled_noise_is_not_trusted_to_name_them(planes, noise_teacher):
    """The control: relations that disagree with the labelled classes name nothing."""
    kwargs = dict(SMALL, teacher=noise_teacher)
    with pytest.warns(UnseenClassesWarning, match="not named") as record:
        model = CrossModalDistiller(**kwargs).fit(planes["X"], planes["y"])
    warning = next(w for w in record if issubclass(w.category, UnseenClassesWarning))
    assert "[3, 5, 6]" in str(warning.message)
    assert warning.filename == __file__  # it points at the user's call of fit
    check = model.checks_["unseen"]
    assert not check["named"] and check["pseudo_labels"] == []
    assert "about chance" in check["reason"]
    # declining trains exactly the model that never tries
    ignoring = CrossModalDistiller(**kwargs, unseen_classes="ignore").fit(planes["X"], planes["y"])
    np.testing.assert_array_equal(
        model.predict_proba(planes["X_test"]), ignoring.predict_proba(planes["X_test"])
    )
    assert ignoring.checks_["unseen"] is None
    assert ignoring.unseen_classes_.tolist() == UNSEEN


def test_name_overrides_the_agreement_check(planes, noise_teacher):
    model = CrossModalDistiller(**SMALL, teacher=noise_teacher, unseen_classes="name")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenClassesWarning)
        model.fit(planes["X"], planes["y"])
    assert model.checks_["unseen"]["named"]


def test_one_labelled_class_cannot_anchor_a_naming(planes):
    y = np.where(planes["y"] == 0, 0, -1)
    model = CrossModalDistiller(**SMALL).set_teacher(planes["X_teacher"], planes["y_teacher"])
    with pytest.warns(UnseenClassesWarning, match="fewer than two classes"):
        model.fit(planes["X"], y)
    assert model.checks_["unseen"]["agreement"] is None


def test_no_unseen_classes_no_naming(fitted):
    assert fitted.unseen_classes_.size == 0
    assert fitted.checks_["unseen"] is None


def test_string_labels_name_strings(planes):
    words = np.array(["a", "b", "c", "d", "e", "f", "g"], dtype=object)
    model = CrossModalDistiller(**SMALL).set_teacher(
        planes["X_teacher"], words[planes["y_teacher"]], max_epochs=60
    )
    y = np.where(planes["y"] == -1, "-1", words[np.maximum(planes["y"], 0)]).astype(object)
    model.fit(planes["X"], y)
    assert model.unseen_classes_.tolist() == ["d", "f", "g"]
    assert model.checks_["unseen"]["unseen"] == ["d", "f", "g"]
    assert set(model.predict(planes["X_test"])) <= set(words)


def test_the_naming_survives_save_and_load(named, planes, tmp_path):
    save_model(named, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.unseen_classes_.tolist() == UNSEEN
    assert loaded.checks_["unseen"] == named.checks_["unseen"]
    np.testing.assert_array_equal(loaded.predict(planes["X_test"]), named.predict(planes["X_test"]))


def test_too_few_rows_to_cluster_are_not_named(planes):
    model = CrossModalDistiller(**SMALL).set_teacher(planes["X_teacher"], planes["y_teacher"])
    keep = np.r_[np.flatnonzero(planes["y"] == 0)[:2], np.flatnonzero(planes["y"] == 1)[:2], 0, 1]
    keep = np.unique(np.r_[keep, np.flatnonzero(planes["y"] == -1)[:4]])
    with pytest.warns(UnseenClassesWarning, match="too few to cluster"):
        model.fit(planes["X"][keep], planes["y"][keep])
    assert not model.checks_["unseen"]["named"]


# -- a class only the student has -------------------------------------------------


@pytest.fixture(scope="module")
def student_only(planes):
    """The teacher lacks class 6; the student labels it (and 0, 1, 2, 4), not 3 or 5."""
    keep = planes["y_teacher"] != 6
    model = CrossModalDistiller(**SMALL, label_weight=0.5, prior_correction=True)
    model.set_teacher(planes["X_teacher"][keep], planes["y_teacher"][keep], max_epochs=60)
    y = planes["y"].copy()
    rng = np.random.RandomState(5)
    y[rng.choice(np.flatnonzero(planes["y_true"] == 6), 4, replace=False)] = 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenClassesWarning)  # named or not: both fine here
        return model.fit(planes["X"], y)


def test_a_class_the_teacher_lacks_is_learnt_from_the_student_labels(student_only, planes):
    model = student_only
    assert model.classes_.tolist() == list(range(7))
    assert model.unseen_classes_.tolist() == [3, 5]
    proba = model.predict_proba(planes["X_test"])
    assert proba.shape == (len(planes["X_test"]), 7) and np.all(np.isfinite(proba))
    sixes = planes["y_test"] == 6
    assert np.mean(model.predict(planes["X_test"])[sixes] == 6) > 0.6
    assert model.prior_ratio_[6] == 1.0  # no teacher prior to correct for


def test_a_class_the_teacher_lacks_survives_diagnose_and_save(student_only, planes, tmp_path):
    keep = planes["y_teacher"] != 6
    report = diagnose(
        student_only,
        planes["X_teacher"][keep],
        planes["y_teacher"][keep],
        planes["X_test"],
        planes["y_test"],
    )
    assert np.isfinite(report.label_alignment) and 0 <= report.student_error <= 1
    save_model(student_only, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    np.testing.assert_array_equal(
        loaded.predict(planes["X_test"]), student_only.predict(planes["X_test"])
    )


def test_the_naming_leaves_a_class_the_teacher_lacks_out_of_the_relations():
    means = np.array([[0.0, 0], [4, 0], [0, 3], [np.nan, np.nan], [9, 9]])
    clusters = means.copy()
    clusters[3] = [50, -50]  # the student-only class: anywhere
    naming, fit = name_clusters(clusters[[0, 1, 3, 4, 2]], means, {0: 0, 1: 1, 2: 3}, [2, 4])
    assert naming.tolist() == [0, 1, 3, 4, 2]
