"""The held-out comparison of skcmkd.assumptions (SafeAlignment's second check)."""

import numpy as np
import pytest

from skcmkd.assumptions import (
    HoldoutCheck,
    compare_on_holdout,
    holdout_rights,
    holdout_rows,
    summarise_holdout,
)

CODES = np.r_[np.repeat([0, 1, 2], 6), np.full(30, -1)]
TRUTH = np.r_[np.repeat([0, 1, 2], 6), np.zeros(30, dtype=int)]


def _student(right_when_aligned, right_when_plain, calls=None):
    """A fake fit_predict: each student right or wrong on every row."""

    def fit_predict(train_codes, aligned):
        if calls is not None:
            calls.append((train_codes.copy(), aligned))
        right = right_when_aligned if aligned else right_when_plain
        return TRUTH if right else (TRUTH + 1) % 3

    return fit_predict


def test_the_alignment_stays_where_it_predicts_held_out_rows_better():
    check = compare_on_holdout(CODES, _student(True, False))
    assert check.keep and check.measured and check.n_rows == 18
    assert check.aligned_accuracy == 1.0 and check.plain_accuracy == 0.0 and check.gain == 1.0
    assert "stays on" in check.reason


def test_the_alignment_goes_where_it_predicts_held_out_rows_worse():
    check = compare_on_holdout(CODES, _student(False, True))
    assert not check.keep and check.gain == -1.0 and "turned off" in check.reason


@pytest.mark.parametrize(("margin", "keep"), [(0.0, True), (0.01, False), (-0.5, True)])
def test_a_tie_meets_a_zero_margin_only(margin, keep):
    assert compare_on_holdout(CODES, _student(True, True), margin=margin).keep is keep


def test_each_labelled_row_is_held_out_once_and_only_its_label_hidden():
    calls = []
    compare_on_holdout(CODES, _student(True, True, calls), n_splits=3, random_state=0)
    assert [aligned for _, aligned in calls] == [True, False] * 3
    hidden = [np.flatnonzero((CODES >= 0) & (codes == -1)) for codes, _ in calls[::2]]
    assert sorted(np.concatenate(hidden).tolist()) == list(range(18))
    for rows in hidden:  # stratified: every class keeps labels in every fold
        assert np.array_equal(np.bincount(CODES[rows], minlength=3), [2, 2, 2])
    for codes, _ in calls:
        assert np.array_equal(codes[18:], CODES[18:])  # the unlabelled rows stay as they were


@pytest.mark.parametrize(
    "codes", [np.r_[np.zeros(8, int), np.full(10, -1)], np.r_[0, 1, 0, 1, 0, np.full(10, -1)]]
)
def test_too_few_labels_leave_the_alignment_as_it_was(codes):
    check = compare_on_holdout(codes, _student(False, True))
    assert check.keep and not check.measured and "too few" in check.reason
    assert check == HoldoutCheck.not_measured(check.reason)


def test_holdout_students_train_on_every_row_of_small_data():
    assert np.array_equal(holdout_rows(CODES), np.arange(len(CODES)))


def test_holdout_students_train_on_a_bounded_draw_of_large_data():
    rng = np.random.RandomState(0)
    codes = np.where(rng.rand(30000) < 0.02, rng.randint(0, 3, 30000), -1)
    rows = holdout_rows(codes, max_rows=2000, random_state=0)
    assert len(rows) == 2000 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows[codes[rows] >= 0], np.flatnonzero(codes >= 0))  # every label
    many = np.where(rng.rand(30000) < 0.5, rng.randint(0, 3, 30000), -1)
    rows = holdout_rows(many, max_rows=2000, random_state=0)
    kept = many[rows][many[rows] >= 0]
    assert len(rows) == 2000 and len(kept) == 1000  # half labelled, classes in proportion
    assert np.abs(np.bincount(kept) / 1000 - 1 / 3).max() < 0.01


def test_holdout_rows_of_fully_labelled_or_label_rich_data_fill_the_draw():
    rng = np.random.RandomState(0)
    labelled = rng.randint(0, 3, 3000)
    assert abs(len(holdout_rows(labelled, max_rows=2000)) - 2000) <= 3  # none unlabelled
    codes = np.r_[rng.randint(0, 3, 1500), np.full(600, -1)]
    rows = holdout_rows(codes, max_rows=2000)
    assert len(rows) == 2000 and (codes[rows] == -1).sum() == 600


def test_holdout_rows_keep_a_rare_class_in_every_fold():
    codes = np.r_[np.full(3, 2), np.zeros(2997, dtype=int), np.full(9000, -1)]
    rows = holdout_rows(codes, max_rows=2000)
    assert (codes[rows] == 2).sum() == 3  # as many as the folds


def test_the_rights_decide_again_under_another_margin_without_training():
    calls = []
    aligned, plain = holdout_rights(CODES, _student(True, True, calls), random_state=0)
    assert len(calls) == 6 and aligned.sum() == plain.sum() == 18
    assert summarise_holdout(CODES, aligned, plain, margin=0.0).keep
    assert not summarise_holdout(CODES, aligned, plain, margin=0.01).keep
    assert len(calls) == 6
