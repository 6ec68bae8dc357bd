"""The tools users hand scikit-learn estimators to, on the distiller and the safe default."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.inspection import permutation_importance
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    cross_val_predict,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcmkd import CrossModalDistiller, make_safe_distiller
from skcmkd.model_selection import LabeledStratifiedKFold, labeled_scorer

from .conftest import FAST, TEACHER_FAST

QUICK = dict(FAST, max_epochs=2)


@pytest.fixture(scope="module")
def data(unpaired):
    return unpaired["X_student"], unpaired["y_student"], unpaired["X_test"], unpaired["y_test"]


@pytest.fixture(scope="module")
def distiller(unpaired):
    """An unfitted distiller with a fitted teacher (clones share it)."""
    model = CrossModalDistiller(**QUICK)
    return model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)


@pytest.fixture(scope="module")
def fitted_safe(distiller, data):
    X, y, _, _ = data
    return make_safe_distiller(teacher=distiller.teacher, **QUICK).fit(X, y)


# -- scoring partly labelled targets --------------------------------------------------


def test_a_labeled_scorer_on_default_folds_gives_the_estimators_own_score(distiller, data):
    X, y, _, _ = data
    grid = {"feature_weight": [0.0, 5.0]}
    own = GridSearchCV(distiller, grid, cv=3).fit(X, y)
    wrapped = GridSearchCV(distiller, grid, cv=3, scoring=labeled_scorer("accuracy")).fit(X, y)
    trap = GridSearchCV(distiller, grid, cv=3, scoring="accuracy").fit(X, y)
    np.testing.assert_allclose(
        wrapped.cv_results_["mean_test_score"], own.cv_results_["mean_test_score"]
    )
    # the trap the wrapper avoids: every unlabelled validation row counted as an error
    assert (trap.cv_results_["mean_test_score"] < 0.5 * own.cv_results_["mean_test_score"]).all()


def test_cross_val_score_with_a_labeled_f1(distiller, data):
    X, y, _, _ = data
    scores = cross_val_score(distiller, X, y, cv=3, scoring=labeled_scorer("f1_macro"))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_multi_metric_scoring_with_refit(distiller, data):
    X, y, _, _ = data
    scoring = labeled_scorer({"acc": "accuracy", "f1": "f1_macro"})
    assert set(scoring) == {"acc", "f1"}
    search = GridSearchCV(
        distiller, {"feature_weight": [0.0, 5.0]}, cv=3, scoring=scoring, refit="f1"
    ).fit(X, y)
    assert {"mean_test_acc", "mean_test_f1"} <= set(search.cv_results_)
    assert search.best_score_ == max(search.cv_results_["mean_test_f1"])
    assert labeled_scorer(["accuracy", "f1_macro"]).keys() == {"accuracy", "f1_macro"}


def test_a_fold_without_labels_is_named():
    X, y = np.zeros((4, 2)), np.array([-1, -1, -1, -1])
    with pytest.raises(ValueError, match="no labelled row.*LabeledStratifiedKFold"):
        labeled_scorer("accuracy")(None, X, y)


def test_successive_halving_with_labelled_folds(distiller, data):
    X, y, _, _ = data
    search = HalvingGridSearchCV(
        distiller,
        {"feature_weight": [0.0, 1.0, 5.0]},
        cv=LabeledStratifiedKFold(2),
        scoring="accuracy",
        factor=3,
        min_resources=60,
        random_state=0,
    ).fit(X, y)
    assert search.best_params_["feature_weight"] in (0.0, 1.0, 5.0)


def test_the_splitter_gives_the_same_folds_at_every_call(data):
    X, y, _, _ = data
    for cv in (LabeledStratifiedKFold(3), LabeledStratifiedKFold(3, shuffle=True, random_state=0)):
        first = [test.tolist() for _, test in cv.split(X, y)]
        assert first == [test.tolist() for _, test in cv.split(X, y)]
    with pytest.raises(ValueError, match="random_state has no effect since shuffle is False"):
        LabeledStratifiedKFold(3, random_state=0)


# -- the tools -------------------------------------------------------------------------


def test_cross_val_predict(distiller, data, unpaired):
    """Predictions on partly labelled targets; probabilities on fully labelled ones.

    For probabilities scikit-learn re-encodes y (-1 would become a class):
    the user guide says to use them on labelled targets only.
    """
    X, y, _, _ = data
    predicted = cross_val_predict(distiller, X, y, cv=3)
    assert predicted.shape == (len(X),) and set(predicted) <= set(range(10))
    y_all = unpaired["y_student_true"]
    proba = cross_val_predict(distiller, X, y_all, cv=3, method="predict_proba")
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_calibration_of_a_frozen_model(fitted_safe, data):
    frozen = pytest.importorskip("sklearn.frozen").FrozenEstimator
    _, _, X_test, y_test = data
    calibrated = CalibratedClassifierCV(frozen(fitted_safe), method="sigmoid")
    calibrated.fit(X_test, y_test)  # held-out labelled rows, every class among them
    proba = calibrated.predict_proba(X_test)
    assert proba.shape == (len(X_test), len(fitted_safe.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_permutation_importance(fitted_safe, data):
    _, _, X_test, y_test = data
    result = permutation_importance(fitted_safe, X_test, y_test, n_repeats=2, random_state=0)
    assert result.importances_mean.shape == (X_test.shape[1],)


def test_pandas_output_and_feature_names(fitted_safe, data):
    pd = pytest.importorskip("pandas")
    X, _, X_test, _ = data
    model = clone(fitted_safe).set_output(transform="pandas")
    columns = [f"f{i}" for i in range(X.shape[1])]
    model.fit(pd.DataFrame(X, columns=columns), data[1])
    z = model.transform(pd.DataFrame(X_test, columns=columns))
    assert isinstance(z, pd.DataFrame) and z.columns[0] == "safealignment0"


def test_the_notebook_repr_shows_the_composition(fitted_safe):
    html = fitted_safe._repr_html_()
    assert "SafeAlignment" in html and "UnseenClassNamer" in html
    assert "CrossModalDistiller" in html


def test_skops_is_refused_with_what_to_use_instead(fitted_safe):
    """skops 0.12 and newer ask __reduce__, which refuses; older ones write what they cannot load."""
    skops = pytest.importorskip("skops")
    import skops.io as skops_io
    from packaging.version import Version

    for model in (fitted_safe, fitted_safe.estimator_.estimator_):
        if Version(skops.__version__) >= Version("0.12"):
            with pytest.raises(TypeError, match="skops.*skcmkd.save_model"):
                skops_io.dumps(model)
        else:  # the lowest versions CI tests (numpy 1.24): skops's own refusal at load
            data = skops_io.dumps(model)
            untrusted = skops_io.get_untrusted_types(data=data)
            assert "builtins.print" in untrusted  # a safe load would have to trust functions
            with pytest.raises(Exception, match="[Uu]ntrusted"):
                skops_io.loads(data)


# -- sample weights ---------------------------------------------------------------------


def test_sample_weight_changes_the_fit_and_all_ones_is_unweighted(distiller, data):
    X, y, X_test, _ = data
    base = clone(distiller).fit(X, y).predict_proba(X_test)
    ones = clone(distiller).fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X_test)
    weights = np.where(y == 3, 10.0, 1.0)
    weighted = clone(distiller).fit(X, y, sample_weight=weights).predict_proba(X_test)
    assert np.array_equal(base, ones)
    assert np.abs(weighted - base).max() > 1e-4


def test_the_safe_default_passes_sample_weight_on(fitted_safe, data):
    X, y, X_test, _ = data
    ones = clone(fitted_safe).fit(X, y, sample_weight=np.ones(len(y)))
    assert np.array_equal(ones.predict_proba(X_test), fitted_safe.predict_proba(X_test))
    weighted = clone(fitted_safe).fit(X, y, sample_weight=np.where(y == 3, 10.0, 1.0))
    assert np.abs(weighted.predict_proba(X_test) - fitted_safe.predict_proba(X_test)).max() > 1e-4


@pytest.mark.parametrize(
    "weights, message",
    [
        (lambda n: np.ones(n - 1), "one number per row"),
        (lambda n: -np.ones(n), "non-negative"),
        (lambda n: np.full(n, np.nan), "finite"),
        (lambda n: np.zeros(n), "zero everywhere"),
    ],
)
def test_bad_sample_weights_are_named(distiller, data, weights, message):
    X, y, _, _ = data
    with pytest.raises(ValueError, match=message):
        clone(distiller).fit(X, y, sample_weight=weights(len(y)))


def test_sample_weight_is_routed_through_a_pipeline(distiller, data):
    X, y, X_test, _ = data
    weights = np.where(y == 3, 10.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        model = clone(distiller).set_fit_request(sample_weight=True)
        pipeline = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), model)
        pipeline.fit(X, y, sample_weight=weights)
    direct = make_pipeline(StandardScaler(), clone(distiller))
    direct.fit(X, y, crossmodaldistiller__sample_weight=weights)
    assert np.array_equal(pipeline.predict_proba(X_test), direct.predict_proba(X_test))


# -- continued training ------------------------------------------------------------------


def test_warm_start_goes_on_training_the_same_net(distiller, data):
    X, y, X_test, _ = data
    model = clone(distiller).set_params(warm_start=True)
    model.fit(X, y)
    first = [p.detach().clone() for p in model.net_.module_.parameters()]
    teacher = model.teacher
    model.fit(X, y)
    assert len(model.history_) == 2 * QUICK["max_epochs"]
    assert model.teacher is teacher and model.n_trainings_ == 1
    moved = [p for p in model.net_.module_.parameters()]
    assert any(
        not np.array_equal(a.numpy(), b.detach().numpy()) for a, b in zip(first, moved, strict=True)
    )
    cold = clone(distiller).fit(X, y)
    assert len(cold.history_) == QUICK["max_epochs"]


def test_warm_start_needs_the_classes_of_the_first_fit(data):
    X, y, _, _ = data
    model = CrossModalDistiller(**QUICK, warm_start=True).fit(X, np.where(y >= 0, y % 2, -1))
    with pytest.raises(ValueError, match="warm_start=True continues the net.*warm_start=False"):
        model.fit(X, np.where(y >= 0, y % 3, -1))
    with pytest.raises(ValueError, match="features"):
        model.fit(X[:, :5], np.where(y >= 0, y % 2, -1))


# -- review mends ------------------------------------------------------------------------


def test_a_safe_model_counts_weights_by_their_ratios_in_its_fall_back_too(distiller, data):
    from skcmkd import SafeAlignment

    X, y, X_test, _ = data
    safe = SafeAlignment(clone(distiller), margin=np.inf)  # it falls back
    plain = clone(safe).fit(X, y)
    assert plain.fallback_ is not None
    constant = clone(safe).fit(X, y, sample_weight=0.5)
    assert np.array_equal(constant.predict_proba(X_test), plain.predict_proba(X_test))
    weights = np.where(y == 3, 10.0, 1.0)
    scaled = [clone(safe).fit(X, y, sample_weight=s * weights) for s in (1.0, 1e-3)]
    np.testing.assert_allclose(scaled[0].fallback_.coef, scaled[1].fallback_.coef, rtol=1e-6)


def test_routing_reaches_the_fall_back_of_a_safe_model(distiller, data):
    X, y, X_test, _ = data
    weights = np.where(y == 3, 10.0, 1.0)
    from skcmkd import SafeAlignment

    with sklearn.config_context(enable_metadata_routing=True):
        safe = SafeAlignment(clone(distiller), margin=np.inf).set_fit_request(sample_weight=True)
        pipeline = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), safe)
        pipeline.fit(X, y, sample_weight=weights)
    assert pipeline[-1].fallback_ is not None  # the linear fall-back fitted, with the weights


def test_a_weighted_fit_transform_in_a_pipeline(distiller, data):
    from sklearn.linear_model import LogisticRegression

    X, y, X_test, _ = data
    weights = np.where(y == 3, 10.0, 1.0)
    pipeline = make_pipeline(clone(distiller), LogisticRegression(max_iter=500))
    pipeline.fit(X, y, crossmodaldistiller__sample_weight=weights)  # a transformer step
    assert pipeline.predict(X_test[:3]).shape == (3,)


def test_the_labeled_scorer_routes_what_its_scorer_asks_for(distiller, data):
    from sklearn.metrics import accuracy_score, make_scorer
    from sklearn.model_selection import cross_validate

    X, y, _, _ = data
    seen = []

    def weighted_accuracy(y_true, y_pred, sample_weight=None):
        seen.append(sample_weight)
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(weighted_accuracy).set_score_request(sample_weight=True)
        scorer = labeled_scorer(scorer)
        model = clone(distiller).set_fit_request(sample_weight=False)
        cross_validate(model, X, y, cv=2, scoring=scorer, params={"sample_weight": np.ones(len(y))})
    assert len(seen) == 2 and all(w is not None for w in seen)  # the weights came through


def test_a_misspelt_scorer_is_an_error_at_once():
    with pytest.raises(ValueError, match="acuracy"):
        labeled_scorer("acuracy")


def test_weights_count_by_their_ratios(distiller, data):
    X, y, X_test, _ = data
    weights = np.where(y == 3, 10.0, 1.0)
    once = clone(distiller).fit(X, y, sample_weight=weights).predict_proba(X_test)
    scaled = clone(distiller).fit(X, y, sample_weight=1e-3 * weights).predict_proba(X_test)
    np.testing.assert_allclose(once, scaled, rtol=1e-5, atol=1e-6)
    assert np.array_equal(
        clone(distiller).fit(X, y, sample_weight=0.5).predict_proba(X_test),
        clone(distiller).fit(X, y).predict_proba(X_test),
    )  # one weight for every row is no weight
    with pytest.raises(ValueError, match="zero on every labelled row"):
        clone(distiller).fit(X, y, sample_weight=(y < 0).astype(float))


def test_warm_start_refuses_another_teacher_and_warns_after_load(
    distiller, data, unpaired, tmp_path
):
    from skcmkd import load_model, save_model

    X, y, _, _ = data
    model = clone(distiller).set_params(warm_start=True).fit(X, y)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    with pytest.warns(UserWarning, match="optimizer has no state"):
        loaded.fit(X, y)
    assert len(loaded.history_) == 2 * QUICK["max_epochs"]
    model.set_teacher(unpaired["X_teacher"], np.roll(unpaired["y_teacher"], 1), **TEACHER_FAST)
    with pytest.raises(ValueError, match="the teacher was set .* since"):
        model.fit(X, y)


def test_a_meta_estimator_refuses_an_inner_warm_start(distiller, data):
    from skcmkd import SafeAlignment

    X, y, _, _ = data
    with pytest.raises(ValueError, match="warm_start=True is for a CrossModalDistiller alone"):
        SafeAlignment(clone(distiller).set_params(warm_start=True)).fit(X, y)


def test_a_spent_generator_of_splits_is_named():
    from skcmkd import SafeAlignment

    from .test_safe_alignment import PARAMS, _clustered

    X, y = _clustered()
    labelled = np.arange(30)
    splits = ((labelled[labelled % 2 == k], labelled[labelled % 2 != k]) for k in (0, 1))
    model = SafeAlignment(CrossModalDistiller(**PARAMS), cv=splits, margin=-np.inf)
    model.fit(X, y)
    with pytest.raises(ValueError, match="cv gave no fold"):
        model.fit(X, y)


def test_pickling_leaves_the_live_object_alone(distiller):
    import pickle

    pickle.dumps(distiller)
    assert "_skcmkd_version" not in vars(distiller)
