import numpy as np
import pytest

from skcmkd.controls import noise_teacher_data, permuted_labels
from skcmkd.diagnostics import teacher_contribution

from .conftest import FAST, TEACHER_FAST


def test_noise_teacher_data_follows_the_labels():
    y = np.array([2, 2, 5, 5, 5, 9])
    X = noise_teacher_data(y, random_state=0)
    assert X.shape == (6, 300)
    # rows of one class share a mean: closer to each other than to another class
    assert np.linalg.norm(X[2] - X[3]) < np.linalg.norm(X[2] - X[5])


def test_permuted_labels_is_a_derangement():
    y = np.repeat(np.arange(10), 3)
    for seed in range(20):
        permuted = permuted_labels(y, random_state=seed)
        assert np.all(permuted != y)
        assert np.array_equal(np.bincount(permuted), np.bincount(y))
        # one renaming per class
        assert all(len(set(permuted[y == c])) == 1 for c in range(10))
    with pytest.raises(ValueError, match="two classes"):
        permuted_labels(np.zeros(4))


def test_teacher_contribution_reports_the_controls(unpaired):
    from skcmkd import CrossModalDistiller

    distiller = CrossModalDistiller(**{**FAST, "max_epochs": 2})
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    report = teacher_contribution(
        distiller,
        unpaired["X_teacher"],
        unpaired["y_teacher"],
        unpaired["X_student"],
        unpaired["y_student"],
        cv=3,
    )
    assert set(report.scores) == {"real teacher", "noise teacher", "permuted teacher", "no teacher"}
    assert all(scores.shape == (3,) for scores in report.scores.values())
    real, noise = report.scores["real teacher"], report.scores["noise teacher"]
    assert report.contribution == pytest.approx(100 * np.mean(real - noise))
    assert "labelled noise" in str(report) and -1 <= report.relation_agreement <= 1
    assert distiller.teacher is not None and not hasattr(distiller, "net_")  # left unchanged


def test_teacher_contribution_needs_a_teacher(unpaired):
    from skcmkd import CrossModalDistiller

    with pytest.raises(ValueError, match="set_teacher"):
        teacher_contribution(
            CrossModalDistiller(),
            unpaired["X_teacher"],
            unpaired["y_teacher"],
            unpaired["X_student"],
            unpaired["y_student"],
        )
