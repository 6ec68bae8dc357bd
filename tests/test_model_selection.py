"""LabeledStratifiedKFold: validation folds of labelled rows only."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV, cross_validate

from skcmkd.model_selection import LabeledStratifiedKFold

from .conftest import FAST, TEACHER_FAST


@settings(max_examples=40, deadline=None)
@given(
    n_classes=st.integers(2, 4),
    per_class=st.integers(3, 8),
    n_unlabelled=st.integers(0, 30),
    n_splits=st.integers(2, 3),
    seed=st.integers(0, 1000),
)
def test_folds_never_validate_on_unlabelled_rows(
    n_classes, per_class, n_unlabelled, n_splits, seed
):
    rng = np.random.RandomState(seed)
    y = np.r_[np.repeat(np.arange(n_classes), per_class), np.full(n_unlabelled, -1)]
    y = y[rng.permutation(len(y))]
    cv = LabeledStratifiedKFold(n_splits, shuffle=True, random_state=seed)
    folds = list(cv.split(np.zeros((len(y), 1)), y))
    assert len(folds) == cv.get_n_splits() == n_splits
    tested = np.concatenate([test for _, test in folds])
    assert np.all(y[tested] != -1)
    assert sorted(tested) == sorted(np.flatnonzero(y != -1))  # each labelled row once
    for train, test in folds:
        assert set(np.flatnonzero(y == -1)) <= set(train)
        assert not set(train) & set(test)


def test_string_labels_and_the_string_marker():
    y = np.array(["a", "b", "-1", "a", "b", "-1", "a", "b"])
    for train, test in LabeledStratifiedKFold(2, shuffle=True, random_state=0).split(
        np.zeros(8), y
    ):
        assert "-1" not in y[test] and {2, 5} <= set(train)


def test_clear_errors():
    with pytest.raises(ValueError, match="needs y"):
        list(LabeledStratifiedKFold().split(np.zeros(4), None))
    with pytest.raises(ValueError, match="3 labelled rows cannot make 5"):
        list(LabeledStratifiedKFold(5).split(np.zeros(6), np.array([0, 1, 0, -1, -1, -1])))


def test_in_a_grid_search_with_workers_and_a_scoring_string(unpaired):
    from skcmkd import CrossModalDistiller

    distiller = CrossModalDistiller(**{**FAST, "max_epochs": 1})
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    search = GridSearchCV(
        distiller,
        {"feature_weight": [0.0, 1.0]},
        cv=LabeledStratifiedKFold(3, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
        n_jobs=2,
    )
    search.fit(unpaired["X_student"], unpaired["y_student"])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    result = cross_validate(
        distiller,
        unpaired["X_student"],
        unpaired["y_student"],
        cv=LabeledStratifiedKFold(3, shuffle=True, random_state=0),
        scoring=["accuracy", "f1_macro"],
    )
    assert result["test_accuracy"].shape == (3,)


def test_bound_score_needs_no_label(fitted, unpaired):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skcmkd.model_selection import bound_score

    X = unpaired["X_student"]
    score = bound_score(fitted, X)
    assert np.isfinite(score) and score <= 0
    assert bound_score(fitted, X, np.full(len(X), -1)) == score  # y is never read
    pipeline = make_pipeline(StandardScaler(), fitted).fit(X, unpaired["y_student"])
    assert np.isfinite(bound_score(pipeline, X))


def test_bound_score_refuses_a_distiller_without_teacher(unpaired):
    from skcmkd import CrossModalDistiller
    from skcmkd.model_selection import bound_score

    alone = CrossModalDistiller(**FAST).fit(unpaired["X_student"], unpaired["y_student"])
    with pytest.raises(ValueError, match="needs a CrossModalDistiller with a teacher"):
        bound_score(alone, unpaired["X_student"])


def test_label_free_scorer_runs_on_folds_with_unlabelled_rows(unpaired):
    from sklearn.model_selection import StratifiedKFold

    from skcmkd import CrossModalDistiller
    from skcmkd.model_selection import bound_score

    distiller = CrossModalDistiller(**{**FAST, "max_epochs": 1})
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    X, y = unpaired["X_student"], unpaired["y_student"]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)  # folds with -1 rows
    result = cross_validate(distiller, X, y, cv=cv, scoring={"bound": bound_score})
    assert np.all(result["test_bound"] <= 0)


def _results(params, *fold_scores):
    results = {"params": params}
    for fold, scores in enumerate(fold_scores):
        results[f"split{fold}_test_score"] = scores
    return results


def test_prefer_defaults_keeps_them_unless_a_candidate_clearly_wins():
    from skcmkd.model_selection import prefer_defaults

    params = [{"w": 0.0}, {"w": 5.0}, {"w": 20.0}]
    rule = prefer_defaults({"w": 5.0})
    noisy = _results(params, [0.5, 0.6, 0.7], [0.5, 0.6, 0.45], [0.5, 0.6, 0.7])
    assert rule(noisy) == 1  # 20 is ahead on average, but one fold says otherwise
    clear = _results(params, [0.5, 0.6, 0.70], [0.5, 0.6, 0.71], [0.5, 0.6, 0.69])
    assert rule(clear) == 2
    assert prefer_defaults({"w": 5.0}, n_se=100.0)(clear) == 1
    with pytest.raises(ValueError, match="no candidate of the grid has"):
        prefer_defaults({"w": 1.0})(clear)
    with pytest.raises(ValueError, match="no per-fold 'accuracy' scores"):
        prefer_defaults({"w": 5.0}, metric="accuracy")(clear)


def test_prefer_defaults_as_refit_of_a_grid_search(unpaired):
    from skcmkd import CrossModalDistiller
    from skcmkd.model_selection import prefer_defaults

    distiller = CrossModalDistiller(**{**FAST, "max_epochs": 1})
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    grid = {"feature_weight": [0.0, 5.0]}
    rule = prefer_defaults({"feature_weight": 5.0}, n_se=1e9)  # never leave the defaults
    search = GridSearchCV(distiller, grid, cv=3, refit=rule)
    search.fit(unpaired["X_student"], unpaired["y_student"])
    assert search.best_params_ == {"feature_weight": 5.0}
    assert search.predict(unpaired["X_test"]).shape == (len(unpaired["X_test"]),)
