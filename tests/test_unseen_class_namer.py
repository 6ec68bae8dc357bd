"""UnseenClassNamer: classes the student has no labels for, named from the teacher's class relations."""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from skcmkd import CrossModalDistiller, UnseenClassNamer, load_model, save_model
from skcmkd.diagnostics import diagnose
from skcmkd.exceptions import UnseenClassesWarning
from skcmkd.unseen import UnseenNaming

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


def _namer(**params):
    return UnseenClassNamer(CrossModalDistiller(**{**SMALL, **params}))


@pytest.fixture(scope="module")
def named(planes):
    model = _namer().set_teacher(planes["X_teacher"], planes["y_teacher"], max_epochs=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenClassesWarning)
        return model.fit(planes["X"], planes["y"])


# -- in fit ---------------------------------------------------------------------


def test_fit_names_the_classes_only_the_teacher_knows(named, planes):
    check = named.decision_
    assert check.named and check.unseen == UNSEEN and named.n_trainings_ == 2
    assert check.agreement >= 0.4
    assert check.pseudo_labels == [4, 4, 4]  # as many as a seen class has labels
    assert named.estimator_.unseen_classes_.size == 0  # the final model had labels for all
    predicted = named.predict(planes["X_test"])
    is_unseen = np.isin(planes["y_test"], UNSEEN)
    assert set(UNSEEN) <= set(predicted[is_unseen].tolist())
    # chance for three unseen classes named at random is 1/3
    assert np.mean(predicted[is_unseen] == planes["y_test"][is_unseen]) > 0.6
    assert np.mean(predicted[~is_unseen] == planes["y_test"][~is_unseen]) > 0.6
    assert named.predict_proba(planes["X_test"]).shape == (len(planes["X_test"]), 7)


def test_a_teacher_of_labelled_noise_is_not_trusted_to_name_them(planes, noise_teacher):
    """The control: relations that disagree with the labelled classes name nothing."""
    with pytest.warns(UnseenClassesWarning, match="not named") as record:
        model = _namer(teacher=noise_teacher).fit(planes["X"], planes["y"])
    warning = next(w for w in record if issubclass(w.category, UnseenClassesWarning))
    assert "[3, 5, 6]" in str(warning.message)
    assert warning.filename == __file__  # it points at the user's call of fit
    check = model.decision_
    assert not check.named and check.pseudo_labels == []
    assert "about chance" in check.reason
    # declining trains exactly the model that never tries
    alone = CrossModalDistiller(**SMALL, teacher=noise_teacher).fit(planes["X"], planes["y"])
    np.testing.assert_array_equal(
        model.predict_proba(planes["X_test"]), alone.predict_proba(planes["X_test"])
    )
    assert alone.unseen_classes_.tolist() == UNSEEN


def test_no_bounds_name_whatever_the_evidence(planes, noise_teacher):
    model = UnseenClassNamer(
        CrossModalDistiller(**SMALL, teacher=noise_teacher), min_fit=None, max_p_value=None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenClassesWarning)
        model.fit(planes["X"], planes["y"])
    assert model.decision_.named and "no bound" in model.decision_.reason


def test_one_labelled_class_cannot_anchor_a_naming(planes):
    y = np.where(planes["y"] == 0, 0, -1)
    model = _namer().set_teacher(planes["X_teacher"], planes["y_teacher"])
    with pytest.warns(UnseenClassesWarning, match="fewer than two classes"):
        model.fit(planes["X"], y)
    assert model.decision_.agreement is None and model.n_trainings_ == 1


def test_no_unseen_classes_no_naming(unpaired):
    model = UnseenClassNamer(CrossModalDistiller(max_epochs=2, random_state=0))
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], max_epochs=2)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    assert model.decision_.unseen == [] and not model.decision_.named
    assert "nothing to name" in model.decision_.reason and model.n_trainings_ == 1


def test_string_labels_name_strings(planes):
    words = np.array(["a", "b", "c", "d", "e", "f", "g"], dtype=object)
    model = _namer().set_teacher(planes["X_teacher"], words[planes["y_teacher"]], max_epochs=60)
    y = np.where(planes["y"] == -1, "-1", words[np.maximum(planes["y"], 0)]).astype(object)
    model.fit(planes["X"], y)
    assert model.decision_.unseen == ["d", "f", "g"] and model.decision_.named
    assert set(model.predict(planes["X_test"])) <= set(words)
    short = np.array(list("abcdefg"))  # a fixed-width dtype: the names still fit
    model.fit(planes["X"], np.where(planes["y"] == -1, "-1", short[np.maximum(planes["y"], 0)]))
    assert set(model.predict(planes["X_test"])) <= set(short)


def test_the_naming_survives_save_and_load(named, planes, tmp_path):
    save_model(named, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, UnseenClassNamer) and isinstance(loaded.decision_, UnseenNaming)
    assert loaded.decision_ == named.decision_
    np.testing.assert_array_equal(loaded.predict(planes["X_test"]), named.predict(planes["X_test"]))


def test_too_few_rows_to_name_by_are_not_named(planes):
    model = _namer().set_teacher(planes["X_teacher"], planes["y_teacher"])
    keep = np.r_[np.flatnonzero(planes["y"] == 0)[:2], np.flatnonzero(planes["y"] == 1)[:2], 0, 1]
    keep = np.unique(np.r_[keep, np.flatnonzero(planes["y"] == -1)[:4]])
    with pytest.warns(UnseenClassesWarning, match="too few to name"):
        model.fit(planes["X"][keep], planes["y"][keep])
    assert not model.decision_.named


# -- a class only the student has -------------------------------------------------


@pytest.fixture(scope="module")
def student_only(planes):
    """The teacher lacks class 6; the student labels it (and 0, 1, 2, 4), not 3 or 5."""
    keep = planes["y_teacher"] != 6
    model = _namer(label_weight=0.5, prior_correction=True)
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
    assert model.decision_.unseen == [3, 5]
    proba = model.predict_proba(planes["X_test"])
    assert proba.shape == (len(planes["X_test"]), 7) and np.all(np.isfinite(proba))
    sixes = planes["y_test"] == 6
    assert np.mean(model.predict(planes["X_test"])[sixes] == 6) > 0.6
    assert model.estimator_.prior_ratio_[6] == 1.0  # no teacher prior to correct for


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


# -- memory, conventions ---------------------------------------------------------------


def test_a_second_fit_with_memory_reuses_the_first_student(planes, tmp_path):
    memory = joblib.Memory(str(tmp_path), verbose=0)
    model = UnseenClassNamer(CrossModalDistiller(**SMALL), memory=memory)
    model.set_teacher(planes["X_teacher"], planes["y_teacher"], max_epochs=60)
    first = clone(model).fit(planes["X"], planes["y"])
    second = clone(model).fit(planes["X"], planes["y"])
    assert first.n_trainings_ == 2 and second.n_trainings_ == 1
    assert second.decision_ == first.decision_
    np.testing.assert_array_equal(
        first.predict_proba(planes["X_test"]), second.predict_proba(planes["X_test"])
    )
    # the thresholds and labels_factor decide after the kept step: changing them trains once
    fewer = clone(model).set_params(labels_factor=0.5).fit(planes["X"], planes["y"])
    assert fewer.n_trainings_ == 1 and fewer.decision_.pseudo_labels == [2, 2, 2]


def test_set_teacher_is_delegated_and_the_teacher_survives_clone(planes):
    model = _namer()
    assert model.set_teacher(planes["X_teacher"], planes["y_teacher"], max_epochs=2) is model
    assert clone(model).teacher is model.teacher is model.estimator.teacher


# -- by rows: many classes ----------------------------------------------------------

#: Sixteen classes at random places in 5 dimensions; 6 are unseen (more than rows_above=4).
MANY, MANY_UNSEEN = 16, list(range(10, 16))


@pytest.fixture(scope="module")
def many():
    """A 12-feature teacher modality and a 9-feature student one; 3 labels per seen class."""
    rng = np.random.RandomState(0)
    places = rng.randn(MANY, 5) * 2

    def view(mixing, n_per_class):
        y = np.repeat(np.arange(MANY), n_per_class)
        return (places[y] + 0.5 * rng.randn(len(y), 5)) @ mixing, y

    teacher_view, student_view = rng.randn(5, 12), rng.randn(5, 9)
    X_teacher, y_teacher = view(teacher_view, 30)
    X, y_true = view(student_view, 25)
    X_test, y_test = view(student_view, 10)
    y = np.full(len(y_true), -1)
    for c in range(10):
        y[rng.choice(np.flatnonzero(y_true == c), 3, replace=False)] = c
    return dict(X_teacher=X_teacher, y_teacher=y_teacher, X=X, y=y, X_test=X_test, y_test=y_test)


def _rows_namer(**params):
    return UnseenClassNamer(CrossModalDistiller(**SMALL), **{"rows_above": 4, **params})


def test_many_unseen_classes_are_named_row_by_row_without_a_first_student(many):
    model = _rows_namer().set_teacher(many["X_teacher"], many["y_teacher"], max_epochs=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenClassesWarning)
        model.fit(many["X"], many["y"])
    check = model.decision_
    assert model.method_ == "rows" and model.n_trainings_ == 1  # the final model only
    assert check.named and check.unseen == MANY_UNSEEN and "row by row" in check.reason
    assert check.relational_fit >= 3 and len(check.stability) == len(MANY_UNSEEN)
    assert all(0 < count <= 3 for count in check.pseudo_labels)  # at most a seen class's labels
    predicted = model.predict(many["X_test"])
    hidden = np.isin(many["y_test"], MANY_UNSEEN)
    # chance for six unseen classes named at random is 1/6
    assert np.mean(predicted[hidden] == many["y_test"][hidden]) > 0.5


def test_rows_above_chooses_the_method_and_method_forces_it(many, planes):
    model = _rows_namer(rows_above=len(MANY_UNSEEN))
    model.set_teacher(many["X_teacher"], many["y_teacher"], max_epochs=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenClassesWarning)
        model.fit(many["X"], many["y"])
    assert model.method_ == "clusters" and model.n_trainings_ == 2
    by_rows = _namer().set_params(method="rows")
    by_rows.set_teacher(planes["X_teacher"], planes["y_teacher"], max_epochs=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenClassesWarning)
        by_rows.fit(planes["X"], planes["y"])
    assert by_rows.method_ == "rows" and by_rows.n_trainings_ == 1


def test_rows_of_a_noise_teacher_are_not_named(many):
    noise = np.random.RandomState(4).randn(*many["X_teacher"].shape)
    model = _rows_namer().set_teacher(noise, many["y_teacher"], max_epochs=30)
    with pytest.warns(UnseenClassesWarning, match="not named"):
        model.fit(many["X"], many["y"])
    assert not model.decision_.named and model.decision_.relational_fit < 3
    assert "standard deviations" in model.decision_.reason and model.n_trainings_ == 1


def test_unstable_classes_stay_unnamed_and_the_bounds_are_parameters(many):
    model = _rows_namer(min_stability=1.0).set_teacher(
        many["X_teacher"], many["y_teacher"], max_epochs=30
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenClassesWarning)
        model.fit(many["X"], many["y"])
    check = model.decision_
    unstable = [s < 1.0 for s in check.stability]
    assert [count == 0 for count in check.pseudo_labels] == unstable
    model = _rows_namer(min_row_fit=1e9).set_teacher(
        many["X_teacher"], many["y_teacher"], max_epochs=30
    )
    with pytest.warns(UnseenClassesWarning, match="needs at least 1000000000"):
        model.fit(many["X"], many["y"])


def test_rows_anchored_by_one_teacher_class_warn_instead_of_failing(many):
    """One teacher class and one class only the student has are labelled: nothing anchors."""
    keep = many["y_teacher"] != 1
    model = _rows_namer(method="rows").set_teacher(
        many["X_teacher"][keep], many["y_teacher"][keep], max_epochs=5
    )
    y = np.where(np.isin(many["y"], [0, 1]), many["y"], -1)
    with pytest.warns(UnseenClassesWarning, match="min_row_fit=None"):
        model.fit(many["X"], y)
    assert not model.decision_.named and "fewer than two" in model.decision_.reason


def test_the_class_sizes_can_be_kept_at_the_teachers_priors(many):
    model = _rows_namer(estimate_sizes=False)
    model.set_teacher(many["X_teacher"], many["y_teacher"], max_epochs=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenClassesWarning)
        model.fit(many["X"], many["y"])
    assert model.decision_.named and model.get_params()["estimate_sizes"] is False
