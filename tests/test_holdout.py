"""The held-out check: the alignment stays on only where it predicts held-out labels better."""

import numpy as np
import pytest

import skcmkd.assumptions as assumptions
from skcmkd import CrossModalDistiller
from skcmkd.assumptions import HoldoutCheck, compare_on_holdout, holdout_rows

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


def _clustered(n=240, seed=0):
    """Three well-separated classes: the cluster check trusts the unlabelled rows."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = 4 * np.eye(6)[y] + rng.randn(n, 6)
    return X, np.where(np.arange(n) < 30, y, -1)


PARAMS = dict(max_epochs=2, random_state=0)


def test_fit_falls_back_to_the_student_alone_when_the_check_says_no(monkeypatch):
    X, y = _clustered()
    monkeypatch.setattr(assumptions, "HOLDOUT_MARGIN", np.inf)  # nothing passes
    model = CrossModalDistiller(**PARAMS).fit(X, y)
    assert model.checks_["clusters"]["trust"] == 1.0
    holdout = model.checks_["holdout"]
    assert holdout["measured"] and not holdout["keep"] and holdout["n_rows"] == 30
    assert model.unlabeled_trust_ == 0.0 and "nc" not in model.history_[-1]
    alone = CrossModalDistiller(neighbor_weight=0.0, **PARAMS).fit(X, y)
    assert np.array_equal(model.predict_proba(X), alone.predict_proba(X))


def test_a_kept_alignment_trains_exactly_as_without_the_check(monkeypatch):
    X, y = _clustered()
    monkeypatch.setattr(assumptions, "HOLDOUT_MARGIN", -np.inf)  # everything passes
    model = CrossModalDistiller(**PARAMS).fit(X, y)
    assert model.checks_["holdout"]["keep"] and model.unlabeled_trust_ == 1.0
    unchecked = CrossModalDistiller(unlabeled_trust=1.0, **PARAMS).fit(X, y)
    assert np.array_equal(model.predict_proba(X), unchecked.predict_proba(X))


def test_no_check_runs_where_nothing_would_be_aligned():
    X, y = _clustered()
    given = CrossModalDistiller(unlabeled_trust=1.0, **PARAMS).fit(X, y)
    labelled = CrossModalDistiller(**PARAMS).fit(X, np.arange(len(y)) % 3)
    assert given.checks_["holdout"] is None and labelled.checks_["holdout"] is None


def test_verbose_fit_says_what_the_checks_decided(capsys):
    X, y = _clustered()
    CrossModalDistiller(verbose=1, **PARAMS).fit(X, y)
    out = capsys.readouterr().out
    assert "cluster check:" in out and "held-out check:" in out and "unlabeled_trust_ =" in out


def test_unseen_classes_skip_the_check():
    rng = np.random.RandomState(0)
    y_t = np.arange(300) % 3
    X_t = 4 * np.eye(5)[y_t] + rng.randn(300, 5)
    X, y = _clustered()
    y = np.where(y == 2, -1, y)  # class 2 has no labelled row
    model = CrossModalDistiller(unseen_classes="ignore", **PARAMS)
    model.set_teacher(X_t, y_t, max_epochs=2).fit(X, y)
    holdout = model.checks_["holdout"]
    assert not holdout["measured"] and holdout["keep"] and "no labelled row" in holdout["reason"]


def test_diagnose_says_what_set_the_trust(monkeypatch):
    from skcmkd.diagnostics import alignment_decision, diagnose

    rng = np.random.RandomState(1)
    y_t = np.arange(300) % 3
    X_t = 4 * np.eye(5)[y_t] + rng.randn(300, 5)
    X, y = _clustered()
    monkeypatch.setattr(assumptions, "HOLDOUT_MARGIN", np.inf)
    model = CrossModalDistiller(**PARAMS).set_teacher(X_t[:200], y_t[:200], max_epochs=2)
    model.fit(X, y)
    report = diagnose(model, X_t[200:], y_t[200:], X[:60], np.arange(60) % 3)
    assert report.unlabeled_trust == 0.0 and "turned off" in report.decision
    assert "unlabeled_trust_ = 0.00" in str(report) and "held-out check" in str(report)
    model.set_params(unlabeled_trust=0.5).fit(X, y)
    assert alignment_decision(model).startswith("given")


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


def test_holdout_students_on_large_data_see_the_draw_only(monkeypatch):
    """The six students of the check train on HOLDOUT_MAX_ROWS rows; the final one on all."""
    X, y = _clustered()
    monkeypatch.setattr(assumptions, "HOLDOUT_MAX_ROWS", 80)
    seen = []
    train = CrossModalDistiller._train

    def recording(self, X_scaled, codes, *args):
        seen.append(len(X_scaled))
        return train(self, X_scaled, codes, *args)

    monkeypatch.setattr(CrossModalDistiller, "_train", recording)
    model = CrossModalDistiller(**PARAMS).fit(X, y)
    assert model.checks_["holdout"]["measured"] and model.checks_["holdout"]["n_rows"] == 30
    assert seen == [80] * 6 + [len(X)]  # every labelled row and 50 unlabelled ones


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


def test_holdout_students_solve_the_transport_at_every_step(monkeypatch):
    """The margin was chosen on such students; the final fit keeps the model's schedule."""
    from skcmkd.terms import FeatureAlignment

    X, y = _clustered()
    schedules = []
    train = CrossModalDistiller._train

    def recording(self, X_scaled, codes, classes, terms, *args):
        schedules.append([t.transport_every for t in terms if isinstance(t, FeatureAlignment)])
        return train(self, X_scaled, codes, classes, terms, *args)

    monkeypatch.setattr(CrossModalDistiller, "_train", recording)
    monkeypatch.setattr(assumptions, "HOLDOUT_MARGIN", -np.inf)  # the alignment is kept
    rng = np.random.RandomState(1)
    y_teacher = np.arange(300) % 3
    X_teacher = 4 * np.eye(8)[y_teacher] + rng.randn(300, 8)
    model = CrossModalDistiller(**PARAMS, transport_every=4)
    model.set_teacher(X_teacher, y_teacher, max_epochs=2).fit(X, y)
    assert model.checks_["holdout"]["measured"]
    assert sorted(schedules[:-1]) == [[], [], [], [1], [1], [1]]  # plain, then aligned
    assert schedules[-1] == [4]
