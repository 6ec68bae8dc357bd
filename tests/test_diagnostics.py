import matplotlib
import numpy as np
import ot
import pytest

from skcmkd import CrossModalDistiller
from skcmkd.diagnostics import BoundReport, diagnose, plot_embeddings, plot_history

from .conftest import FAST

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def report(fitted, unpaired):
    return diagnose(
        fitted, unpaired["X_teacher"], unpaired["y_teacher"], unpaired["X_test"], unpaired["y_test"]
    )


def test_report_measures_the_terms_of_the_bound(report, fitted, unpaired):
    assert isinstance(report, BoundReport)
    values = report.to_dict()
    for key in ("teacher_error", "student_error", "teacher_head_error", "label_disagreement"):
        assert 0.0 <= values[key] <= 1.0
    assert values["feature_alignment"] >= 0 and values["label_alignment"] >= 0
    assert report.student_error == pytest.approx(
        1 - fitted.score(unpaired["X_test"], unpaired["y_test"])
    )
    teacher = fitted.teacher
    accuracy = np.mean(teacher.predict(unpaired["X_teacher"]) == unpaired["y_teacher"])
    assert report.teacher_error == pytest.approx(1 - accuracy)


def test_feature_alignment_is_the_exact_wasserstein_distance(report, fitted, unpaired):
    z_s = fitted.transform(unpaired["X_test"]).astype(np.float64)
    z_t = fitted.teacher.transform(unpaired["X_teacher"]).astype(np.float64)
    expected = ot.emd2(
        np.full(len(z_s), 1 / len(z_s)), np.full(len(z_t), 1 / len(z_t)), ot.dist(z_s, z_t)
    )
    assert report.feature_alignment == pytest.approx(
        expected / fitted.teacher.cost_scale_, rel=1e-6
    )


def test_report_prints_as_a_table(report):
    text = str(report)
    assert "teacher error" in text and "feature alignment" in text and "label alignment" in text
    assert f"{report.student_error:.3f}" in text


def test_max_rows_subsamples(fitted, unpaired):
    small = diagnose(
        fitted,
        unpaired["X_teacher"],
        unpaired["y_teacher"],
        unpaired["X_test"],
        unpaired["y_test"],
        max_rows=40,
    )
    assert small.n_teacher == 40 and small.n_student == 40


def test_diagnose_needs_a_teacher_and_labels(fitted, unpaired):
    alone = CrossModalDistiller(**FAST).fit(unpaired["X_student"], unpaired["y_student_true"])
    with pytest.raises(ValueError, match="needs a distiller with a teacher"):
        diagnose(
            alone,
            unpaired["X_teacher"],
            unpaired["y_teacher"],
            unpaired["X_test"],
            unpaired["y_test"],
        )
    unlabelled = np.full(len(unpaired["y_test"]), -1)
    with pytest.raises(ValueError, match="no labelled row"):
        diagnose(
            fitted, unpaired["X_teacher"], unpaired["y_teacher"], unpaired["X_test"], unlabelled
        )


def test_plots_draw_embeddings_before_and_after_and_the_loss_terms(fitted, unpaired):
    before = CrossModalDistiller(teacher=fitted.teacher, feature_weight=0.0, **FAST)
    before.fit(unpaired["X_student"], unpaired["y_student"])
    axes = plot_embeddings(
        fitted,
        unpaired["X_teacher"],
        unpaired["y_teacher"],
        unpaired["X_test"],
        unpaired["y_test"],
        before=before,
    )
    assert len(axes) == 2 and all(len(ax.collections) == 2 for ax in axes)
    ax = plot_history(fitted)
    assert [line.get_label() for line in ax.get_lines()][0].startswith("cross-entropy")
    assert len(ax.get_lines()) == 3  # ce, fa, nc; label_weight=0 computes no la
    matplotlib.pyplot.close("all")


def test_label_alignment_uses_the_prior_correction(fitted, unpaired):
    import torch

    from skcmkd.alignment import label_alignment, prior_shift_correction

    y = unpaired["y_student"].copy()
    y[np.flatnonzero(y == 0)[1:]] = -1  # one labelled 0: the student prior differs
    model = CrossModalDistiller(teacher=fitted.teacher, prior_correction=True, **FAST)
    model.fit(unpaired["X_student"], y)
    assert model.prior_ratio_ is not None and not np.allclose(model.prior_ratio_, 1)
    report = diagnose(
        model, unpaired["X_teacher"], unpaired["y_teacher"], unpaired["X_test"], unpaired["y_test"]
    )
    logits, z = model.forward(unpaired["X_test"])
    q = torch.as_tensor(fitted.teacher.predict_proba_latent(z))
    corrected = prior_shift_correction(q, torch.as_tensor(model.prior_ratio_, dtype=q.dtype))
    assert report.label_alignment == pytest.approx(
        float(label_alignment(torch.from_numpy(logits).double(), corrected))
    )
