import numpy as np
import pytest

from skcmkd.datasets import (
    HANGUL_VIEWS,
    MFEAT_VIEWS,
    load_hangul,
    load_mfeat,
    load_mfeat_unpaired,
    load_spoken_digits,
    load_unpaired,
    unpaired_split,
)


def test_load_mfeat_all_views_have_documented_widths():
    data = load_mfeat()
    assert set(data.views) == set(MFEAT_VIEWS)
    for view, width in MFEAT_VIEWS.items():
        assert data.views[view].shape == (2000, width)
    assert np.array_equal(np.bincount(data.target), np.full(10, 200))


def test_load_mfeat_carries_attribution():
    assert "CC BY 4.0" in load_mfeat("mor").DESCR
    assert "van Breukelen" in load_mfeat("mor").DESCR


def test_load_mfeat_returns_copies():
    first = load_mfeat("mor")
    first.views["mor"][:] = 0
    assert load_mfeat("mor").views["mor"].any()


def test_load_mfeat_rejects_unknown_view():
    with pytest.raises(ValueError, match="Unknown mfeat view"):
        load_mfeat(["fou", "audio"])


def test_unpaired_split_parts_are_disjoint_and_stratified():
    y = load_mfeat("mor").target
    parts = unpaired_split(y, sizes=[0.4, 0.35, 0.25], random_state=0)
    assert sum(len(p) for p in parts) == 2000
    assert len(np.unique(np.concatenate(parts))) == 2000
    for part in parts:
        counts = np.bincount(y[part], minlength=10)
        assert counts.max() - counts.min() <= 1


def test_unpaired_split_keeps_labels_per_class():
    y = load_mfeat("mor").target
    (_, student, _), y_student = unpaired_split(
        y, sizes=[0.4, 0.35, 0.25], labels_per_class=5, random_state=0
    )
    labelled = y_student != -1
    assert labelled.sum() == 50
    assert np.array_equal(y_student[labelled], y[student][labelled])
    assert np.array_equal(np.bincount(y_student[labelled].astype(int)), np.full(10, 5))


def test_unpaired_split_rejects_sizes_over_one():
    with pytest.raises(ValueError, match="sum to at most 1"):
        unpaired_split(np.zeros(10), sizes=[0.8, 0.5])


def test_load_spoken_digits_shape_and_classes():
    data = load_spoken_digits()
    assert data.data.shape == (2000, 120)
    assert np.array_equal(np.bincount(data.target), np.full(10, 200))
    assert "espeak-ng" in data.DESCR


@pytest.mark.parametrize("teacher, student", [("digits", "speech"), ("speech", "digits")])
def test_load_unpaired_across_data_sets_has_no_pairs(teacher, student):
    data = load_unpaired(teacher, student, labels_per_class=5, random_state=0)
    assert data.X_student_paired is None
    assert int((data.y_student != -1).sum()) == 50
    labelled = data.y_student != -1
    assert np.array_equal(data.y_student[labelled], data.y_student_true[labelled])
    # student train and test are disjoint parts of the student's data set
    assert len(data.X_student) + len(data.X_test) == (2000 if student == "speech" else 1797)


def test_load_unpaired_same_mfeat_split_as_load_mfeat_unpaired():
    a = load_unpaired("fac", "fou", labels_per_class=5, random_state=3)
    b = load_mfeat_unpaired("fac", "fou", labels_per_class=5, random_state=3)
    for key in ("X_teacher", "X_student", "y_student", "X_test", "X_student_paired"):
        assert np.array_equal(a[key], b[key])


def test_zero_labels_per_class_labels_no_row():
    data = load_mfeat_unpaired("fac", "fou", labels_per_class=0, random_state=0)
    assert (data.y_student == -1).all()


def test_load_unpaired_rejects_unknown_or_same_source():
    with pytest.raises(ValueError, match="Unknown data source"):
        load_unpaired("digits", "audio")
    with pytest.raises(ValueError, match="choose two sources"):
        load_unpaired("speech", "speech")


def test_shapes_are_deterministic_and_unpaired():
    from skcmkd.datasets import SHAPE_CLASSES, load_shapes

    first, again = load_shapes("image", n_per_class=4), load_shapes("image", n_per_class=4)
    assert np.array_equal(first.data, again.data) and np.array_equal(first.target, again.target)
    assert first.data.shape == (40, 576) and first.data.dtype == np.float32
    assert np.array_equal(np.bincount(first.target), np.full(len(SHAPE_CLASSES), 4))
    contour = load_shapes("contour", n_per_class=4)
    assert contour.data.shape == (40, 32) and np.isfinite(contour.data).all()
    with pytest.raises(ValueError, match="modality"):
        load_shapes("sound")


def test_shapes_rasterise_the_radius_function():
    from skcmkd._shapes import _polygon_radius, _vertices

    square = _vertices("square", np.random.default_rng(0))  # corners on the unit circle
    theta = np.array([0.0, np.pi / 4])
    assert np.allclose(_polygon_radius(square, theta), [1.0, np.cos(np.pi / 4)])


def test_shapes_are_a_source_of_load_unpaired():
    data = load_unpaired("shapes-contour", "shapes-image", labels_per_class=5, random_state=0)
    assert data.X_teacher.shape[1] == 32 and data.X_student.shape[1] == 576
    assert int((data.y_student != -1).sum()) == 50 and data.X_student_paired is None


def test_activities_are_deterministic_and_unpaired():
    from skcmkd.datasets import ACTIVITY_CLASSES, load_activities

    first = load_activities("accelerometer", n_per_class=4)
    again = load_activities("accelerometer", n_per_class=4)
    assert np.array_equal(first.data, again.data) and np.array_equal(first.target, again.target)
    assert first.data.shape == (40, 54) and first.data.dtype == np.float32
    assert np.array_equal(np.bincount(first.target), np.full(len(ACTIVITY_CLASSES), 4))
    gyroscope = load_activities("gyroscope", n_per_class=4)
    assert gyroscope.data.shape == (40, 36) and np.isfinite(gyroscope.data).all()
    with pytest.raises(ValueError, match="modality"):
        load_activities("magnetometer")


def test_accelerometer_sees_gravity_and_the_gyroscope_does_not():
    from skcmkd._activities import _accelerometer, _gyroscope

    # at rest the accelerometer reads 1 g; the posture turns it between the axes
    standing = _accelerometer("standing", np.random.default_rng(0))
    lying = _accelerometer("lying", np.random.default_rng(0))
    assert abs(np.linalg.norm(standing[:3]) - 1) < 0.1 and standing[2] > 0.9
    assert lying[2] < 0.5
    # the gyroscope sees motion, not posture: sitting and lying read alike, walking differs
    rest = [_gyroscope(a, np.random.default_rng(0))[:3] for a in ("sitting", "lying")]
    walking = _gyroscope("walking", np.random.default_rng(0))[:3]
    assert np.abs(rest[0] - rest[1]).max() < 0.5 < np.abs(walking - rest[0]).max()


def test_activities_are_a_source_of_load_unpaired():
    data = load_unpaired(
        "activities-gyroscope", "activities-accelerometer", labels_per_class=5, random_state=0
    )
    assert data.X_teacher.shape[1] == 36 and data.X_student.shape[1] == 54
    assert int((data.y_student != -1).sum()) == 50 and data.X_student_paired is None


# -- Hangul: 100 classes, two feature extractors of the same renderings -------------


@pytest.mark.parametrize("view", sorted(HANGUL_VIEWS))
def test_load_hangul_has_documented_widths_and_classes(view):
    data = load_hangul(view)
    assert data.data.shape == (8000, HANGUL_VIEWS[view])
    assert np.array_equal(np.bincount(data.target), np.full(100, 80))
    assert data.data.min() >= 0 and data.data.max() <= 1
    assert len(set(data.target_names)) == 100 and data.target_names[0] == "가"
    assert "fonts" in data.DESCR


def test_the_two_hangul_views_split_once_like_mfeat_views():
    data = load_unpaired("hangul-hog", "hangul-pix", labels_per_class=2, random_state=0)
    # the same renderings in both views: the teacher-view copies of the student rows exist
    assert data.X_student_paired.shape == (len(data.X_student), HANGUL_VIEWS["hog"])
    assert len(data.X_teacher) + len(data.X_student) + len(data.X_test) == 8000
    assert int((data.y_student != -1).sum()) == 200


def test_load_unpaired_keeps_only_the_classes_asked_for():
    data = load_unpaired("hangul-pix", "hangul-hog", classes=range(26), random_state=0)
    for key in ("y_teacher", "y_student_true", "y_test"):
        assert np.array_equal(np.unique(data[key]), np.arange(26))
    with pytest.raises(ValueError, match="at least two classes"):
        load_unpaired("hangul-pix", "hangul-hog", classes=[3])
    with pytest.raises(ValueError, match=r"\[100\] are not among"):
        load_unpaired("hangul-pix", "hangul-hog", classes=[0, 100])


def test_load_hangul_rejects_unknown_view():
    with pytest.raises(ValueError, match="view must be one of"):
        load_hangul("png")
