"""SafeAlignment: the cluster check, the held-out check and the linear fall-back around one distiller."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skcmkd import AlignmentDecision, CrossModalDistiller, SafeAlignment
from skcmkd.diagnostics import alignment_decision, diagnose
from skcmkd.model_selection import LabeledStratifiedKFold
from skcmkd.terms import FeatureAlignment

from .test_distiller import _voices

PARAMS = dict(max_epochs=2, random_state=0)


def _clustered(n=240, seed=0):
    """Three well-separated classes: the cluster check trusts the unlabelled rows."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = 4 * np.eye(6)[y] + rng.randn(n, 6)
    return X, np.where(np.arange(n) < 30, y, -1)


def _teacher_data(seed=1, n_features=5):
    rng = np.random.RandomState(seed)
    y = np.arange(300) % 3
    return 4 * np.eye(n_features)[y] + rng.randn(300, n_features), y


def _safe(**params):
    return SafeAlignment(CrossModalDistiller(**PARAMS), **params)


# -- the decisions ------------------------------------------------------------------


def test_a_failed_held_out_check_falls_back_to_the_student_alone():
    X, y = _clustered()
    model = _safe(margin=np.inf, fallback=None).fit(X, y)  # nothing passes
    decision = model.decision_
    assert decision.branch == "holdout_off" and not decision.aligned
    assert decision.clusters.trust == 1.0 and decision.unlabeled_trust == 0.0
    assert decision.holdout.measured and not decision.holdout.keep
    assert decision.holdout.n_rows == 30 and model.n_trainings_ == 2  # the stack, the final
    one_by_one = _safe(margin=np.inf, fallback=None, stack_students=False).fit(X, y)
    assert one_by_one.n_trainings_ == 7 and one_by_one.decision_.branch == "holdout_off"
    assert model.estimator_.unlabeled_trust == 0.0 and "nc" not in model.estimator_.history_[-1]
    alone = CrossModalDistiller(neighbor_weight=0.0, **PARAMS).fit(X, y)
    assert np.array_equal(model.predict_proba(X), alone.predict_proba(X))


def test_a_kept_alignment_trains_exactly_as_the_distiller_alone():
    X, y = _clustered()
    model = _safe(margin=-np.inf).fit(X, y)  # everything passes
    assert model.decision_.branch == "holdout_on" and model.decision_.aligned
    assert model.fallback_ is None and model.decision_.fallback is None
    unchecked = CrossModalDistiller(**PARAMS).fit(X, y)
    assert np.array_equal(model.predict_proba(X), unchecked.predict_proba(X))


def test_neighbours_that_share_no_class_turn_the_alignment_off_before_training():
    X, y, _ = _voices()
    model = _safe(fallback=None).fit(X, y)
    clusters = model.decision_.clusters
    assert model.decision_.branch == "clusters_off" and clusters.checked
    assert clusters.graph_accuracy < clusters.linear_accuracy
    assert model.decision_.holdout is None and model.n_trainings_ == 1
    alone = CrossModalDistiller(neighbor_weight=0.0, **PARAMS).fit(X, y)
    assert np.array_equal(model.predict_proba(X), alone.predict_proba(X))


def test_nothing_is_checked_where_nothing_would_be_aligned():
    X, y = _clustered()
    labelled = _safe().fit(X, np.arange(len(y)) % 3)
    weightless = SafeAlignment(CrossModalDistiller(neighbor_weight=0.0, **PARAMS)).fit(X, y)
    for model in (labelled, weightless):
        assert model.decision_.branch == "nothing_to_align" and model.n_trainings_ == 1
        assert model.decision_.clusters is None and model.decision_.holdout is None


def test_the_distillers_own_trust_multiplies_the_checks():
    X, y = _clustered()
    model = SafeAlignment(CrossModalDistiller(unlabeled_trust=0.5, **PARAMS), margin=-np.inf).fit(
        X, y
    )
    assert model.decision_.unlabeled_trust == pytest.approx(0.5 * model.decision_.clusters.trust)
    assert model.estimator.unlabeled_trust == 0.5  # the parameter is left as it was


def test_without_folds_the_cluster_check_alone_decides():
    X, y = _clustered()
    model = _safe(cv=None).fit(X, y)
    assert model.decision_.branch == "clusters_on" and model.decision_.holdout is None
    assert model.n_trainings_ == 1 and model.decision_.aligned
    voices, y_voices, _ = _voices()
    assert _safe(cv=None).fit(voices, y_voices).decision_.branch == "clusters_off"


def test_unseen_classes_skip_the_held_out_check():
    X_t, y_t = _teacher_data()
    X, y = _clustered()
    y = np.where(y == 2, -1, y)  # class 2 has no labelled row
    model = _safe().set_teacher(X_t, y_t, max_epochs=2).fit(X, y)
    holdout = model.decision_.holdout
    assert model.decision_.branch == "unmeasured_on"
    assert not holdout.measured and holdout.keep and "no labelled row" in holdout.reason
    assert model.fallback_ is None and model.n_trainings_ == 1


def test_held_out_students_on_large_data_see_the_draw_only(monkeypatch):
    """The six students of the check train on max_rows rows; the final one on all."""
    X, y = _clustered()
    seen = []
    setup = CrossModalDistiller._student_setup

    def recording(self, codes, *args):
        seen.append(len(codes))
        return setup(self, codes, *args)

    monkeypatch.setattr(CrossModalDistiller, "_student_setup", recording)
    for stack in (True, False):
        seen.clear()
        model = _safe(max_rows=80, stack_students=stack).fit(X, y)
        assert model.decision_.holdout.measured and model.decision_.holdout.n_rows == 30
        assert seen == [80] * 6 + [len(X)]  # every labelled row and 50 unlabelled ones


@pytest.mark.parametrize("stack", [True, False])
def test_held_out_students_follow_check_transport_every(monkeypatch, stack):
    """1: a solve at every step (0.3.0's students); None: the model's schedule, as the final fit."""
    X, y = _clustered()
    schedules = []
    setup = CrossModalDistiller._student_setup

    def recording(self, codes, classes, terms, *args):
        schedules.append([t.transport_every for t in terms if isinstance(t, FeatureAlignment)])
        return setup(self, codes, classes, terms, *args)

    monkeypatch.setattr(CrossModalDistiller, "_student_setup", recording)
    X_t, y_t = _teacher_data(n_features=8)
    model = SafeAlignment(
        CrossModalDistiller(transport_every=4, **PARAMS),
        margin=-np.inf,
        check_transport_every=1,
        stack_students=stack,
    )
    model.set_teacher(X_t, y_t, max_epochs=2).fit(X, y)
    assert model.decision_.holdout.measured
    assert sorted(schedules[:-1]) == [[], [], [], [1], [1], [1]]  # plain, then aligned
    assert schedules[-1] == [4]
    schedules.clear()
    model.set_params(check_transport_every=None).fit(X, y)  # the model's own schedule
    assert sorted(schedules) == [[], [], [], [4], [4], [4], [4]]


@pytest.mark.parametrize("check_max_epochs, expected", [(1, 1), (25, 2), (None, 2)])
def test_held_out_students_train_at_most_check_max_epochs(monkeypatch, check_max_epochs, expected):
    """The students' epochs: check_max_epochs, never more than the final fit's (2 here)."""
    X, y = _clustered()
    epochs = []
    setup = CrossModalDistiller._student_setup

    def recording(self, *args):
        epochs.append(self.max_epochs)
        return setup(self, *args)

    monkeypatch.setattr(CrossModalDistiller, "_student_setup", recording)
    model = _safe(margin=-np.inf, check_max_epochs=check_max_epochs).fit(X, y)
    assert epochs == [expected] * 6 + [2]
    assert len(model.estimator_.history_) == 2


def test_held_out_students_weigh_the_terms_as_the_final_fit(monkeypatch):
    """Hiding a fold's labels does not raise the weight of the terms on unlabelled rows."""
    X, y = _clustered()
    weights = []
    setup = CrossModalDistiller._student_setup

    def recording(self, codes, classes, terms, *args):
        weights.append([t.weight for t in terms])
        return setup(self, codes, classes, terms, *args)

    monkeypatch.setattr(CrossModalDistiller, "_student_setup", recording)
    _safe(margin=-np.inf).fit(X, y)
    aligned = [w for w in weights if w]
    assert len(aligned) == 4 and all(w == aligned[-1] for w in aligned)
    assert aligned[-1] == [pytest.approx(200.0 * np.mean(y == -1))]


def test_string_labels_are_hidden_with_the_string_marker():
    X, y = _clustered()
    names = np.array(["a", "b", "c"])
    y_strings = np.where(y == -1, "-1", names[np.maximum(y, 0)])
    model = _safe(margin=-np.inf).fit(X, y_strings)
    assert model.decision_.holdout.measured and set(model.predict(X)) <= set(names)


# -- the linear fall-back -------------------------------------------------------------


def test_a_fit_without_alignment_adds_the_linear_logits_to_the_nets():
    X, y = _clustered()
    model = _safe(margin=np.inf).fit(X, y)
    assert model.decision_.fallback.used and model.fallback_ is not None
    logits, _ = model.forward(X)
    expected = torch.softmax(
        torch.from_numpy(logits).double() + torch.from_numpy(model.fallback_.logits(X)), dim=1
    ).numpy()
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[expected.argmax(axis=1)])
    assert "fall-back: logistic regression" in alignment_decision(model)


def test_the_net_trains_the_same_with_or_without_the_fallback():
    X, y = _clustered()
    fits = [_safe(margin=np.inf, fallback=f).fit(X, y) for f in ("linear", None)]
    np.testing.assert_array_equal(fits[0].transform(X), fits[1].transform(X))
    assert fits[1].fallback_ is None and fits[1].decision_.fallback is None


def test_a_bad_fallback_is_named():
    X, y = _clustered()
    with pytest.raises(ValueError, match="fallback"):
        _safe(fallback="logreg").fit(X, y)


def test_verbose_fit_says_what_was_decided(capsys):
    X, y = _clustered()
    SafeAlignment(CrossModalDistiller(verbose=1, **PARAMS), margin=np.inf).fit(X, y)
    out = capsys.readouterr().out
    assert "SafeAlignment: cluster check trust" in out and "held-out check" in out
    assert "fall-back: logistic regression on 30 labelled rows" in out


def test_diagnose_says_what_set_the_trust():
    X_t, y_t = _teacher_data()
    X, y = _clustered()
    model = _safe(margin=np.inf).set_teacher(X_t[:200], y_t[:200], max_epochs=2).fit(X, y)
    report = diagnose(model, X_t[200:], y_t[200:], X[:60], np.arange(60) % 3)
    assert report.unlabeled_trust == 0.0 and "turned off" in report.decision
    assert "unlabeled_trust = 0.00" in str(report) and "held-out check" in str(report)
    distiller = CrossModalDistiller(unlabeled_trust=0.5, **PARAMS).set_teacher(X_t, y_t)
    assert alignment_decision(distiller.fit(X, y)).startswith("given")


# -- memory: the checks of a second fit ------------------------------------------------


def test_a_second_fit_with_memory_reuses_the_checks(tmp_path):
    X, y = _clustered()
    memory = joblib.Memory(str(tmp_path), verbose=0)
    first = _safe(memory=memory).fit(X, y)
    second = _safe(memory=memory).fit(X, y)
    assert first.n_trainings_ == 2 and second.n_trainings_ == 1
    assert second.decision_.holdout == first.decision_.holdout
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert _safe(memory=None).fit(X, y).n_trainings_ == 2  # memory=None keeps nothing
    assert _safe(memory=str(tmp_path)).fit(X, y).n_trainings_ == 1  # a path is a Memory


def test_a_grid_search_over_the_margin_trains_the_held_out_students_once_per_fold(tmp_path):
    X, y = _clustered()
    search = GridSearchCV(
        _safe(memory=joblib.Memory(str(tmp_path), verbose=0)),
        {"margin": [-np.inf, 0.04, np.inf]},
        cv=LabeledStratifiedKFold(2, shuffle=True, random_state=0),
        refit=False,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert (
        _safe(memory=joblib.Memory(str(tmp_path), verbose=0), margin=0.5).fit(X, y).n_trainings_
        == 2
    )
    # every fold's check was kept once: a fourth margin on the same folds trains the finals only
    for train, _ in LabeledStratifiedKFold(2, shuffle=True, random_state=0).split(X, y):
        model = _safe(memory=joblib.Memory(str(tmp_path), verbose=0), margin=0.3)
        assert model.fit(X[train], y[train]).n_trainings_ == 1


def test_another_weight_is_another_check(tmp_path):
    X, y = _clustered()
    memory = joblib.Memory(str(tmp_path), verbose=0)
    _safe(memory=memory).fit(X, y)
    other = SafeAlignment(CrossModalDistiller(neighbor_weight=50.0, **PARAMS), memory=memory)
    assert other.fit(X, y).n_trainings_ == 2


# -- scikit-learn conventions --------------------------------------------------------


def test_set_teacher_is_delegated_and_survives_clone():
    X_t, y_t = _teacher_data()
    model = _safe()
    assert model.set_teacher(X_t, y_t, max_epochs=2) is model
    assert model.teacher is model.estimator.teacher is not None
    assert clone(model).teacher is model.teacher


def test_the_distillers_weights_are_searchable_through_it():
    X, y = _clustered()
    search = GridSearchCV(_safe(), {"estimator__neighbor_weight": [0.0, 200.0]}, cv=2).fit(X, y)
    weights = [p["estimator__neighbor_weight"] for p in search.cv_results_["params"]]
    assert weights == [0.0, 200.0]


def test_the_decision_is_a_frozen_record():
    X, y = _clustered()
    decision = _safe(margin=np.inf).fit(X, y).decision_
    assert isinstance(decision, AlignmentDecision)
    with pytest.raises(AttributeError):
        decision.branch = "holdout_on"
    assert decision.to_dict()["holdout"]["keep"] is False


def test_an_estimator_that_is_no_distiller_is_named():
    from sklearn.linear_model import LogisticRegression

    X, y = _clustered()
    with pytest.raises((TypeError, ValueError), match="estimator"):
        SafeAlignment(LogisticRegression()).fit(X, y)


def test_memory_keys_the_teacher_by_content(tmp_path):
    """A teacher fitted again (same data, same seed) or unpickled finds what was kept."""
    import pickle

    X_t, y_t = _teacher_data()
    X, y = _clustered()
    memory = str(tmp_path)
    first = _safe(memory=memory).set_teacher(X_t, y_t, max_epochs=2).fit(X, y)
    again = _safe(memory=memory).set_teacher(X_t, y_t, max_epochs=2)
    assert again.teacher is not first.teacher
    assert again.teacher.fingerprint() == first.teacher.fingerprint()
    assert again.fit(X, y).n_trainings_ == 1
    loaded = pickle.loads(pickle.dumps(_safe(memory=memory).set_teacher(X_t, y_t, max_epochs=2)))
    assert loaded.fit(X, y).n_trainings_ == 1
    other = _safe(memory=memory).set_teacher(X_t, np.roll(y_t, 1), max_epochs=2)
    assert other.teacher.fingerprint() != first.teacher.fingerprint()
    assert first.n_trainings_ == 2


def test_a_fold_that_hides_a_class_keeps_predicting_it():
    """Without a teacher, one class with few labels: a fold student still knows every class."""
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(6, int), np.ones(2, int), np.full(60, -1)]
    X = (
        rng.randn(68, 4)
        + 3 * np.eye(4)[np.r_[np.zeros(6, int), np.ones(2, int), rng.randint(0, 2, 60)]]
    )
    model = SafeAlignment(
        CrossModalDistiller(max_epochs=2, random_state=0), cluster_ramp=(-np.inf, -np.inf)
    ).fit(X, y)
    assert model.decision_.holdout.measured and model.decision_.clusters.trust == 1.0


@pytest.mark.parametrize("ramp", [(0.9, 0.5), (1.0,), ("a", "b"), (np.nan, 1.0), 0.5])
def test_a_bad_cluster_ramp_is_named(ramp):
    X, y = _clustered()
    with pytest.raises((ValueError, TypeError), match="cluster_ramp"):
        _safe(cluster_ramp=ramp).fit(X, y)


def test_a_ramp_that_is_a_step_keeps_or_drops_the_trust():
    voices, y, _ = _voices()
    assert (
        _safe(cluster_ramp=(-np.inf, -np.inf), cv=None).fit(voices, y).decision_.unlabeled_trust
        == 1.0
    )
    assert _safe(cluster_ramp=(0.5, 0.5), cv=None).fit(voices, y).decision_.unlabeled_trust == 0.0


@pytest.mark.parametrize("stack, trainings", [(True, 2), (False, 5)])
def test_a_splitter_as_cv(stack, trainings):
    from sklearn.model_selection import StratifiedKFold

    X, y = _clustered()
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    model = _safe(cv=cv, margin=-np.inf, stack_students=stack).fit(X, y)
    assert model.decision_.holdout.measured and model.n_trainings_ == trainings


def test_a_failed_refit_leaves_the_model_as_it_was():
    X, y = _clustered()
    model = _safe(margin=np.inf).fit(X, y)
    before = model.predict_proba(X)
    with pytest.raises(ValueError):
        model.fit(np.full_like(X[:, :4], np.nan), y)
    assert model.n_features_in_ == 6
    assert np.array_equal(model.predict_proba(X), before)


def test_decisions_of_nested_meta_estimators_of_one_class_keep_both():
    from skcmkd.diagnostics import decisions

    X, y = _clustered()
    model = SafeAlignment(SafeAlignment(CrossModalDistiller(**PARAMS), cv=None), cv=None).fit(X, y)
    assert list(decisions(model)) == ["SafeAlignment", "SafeAlignment (estimator_)"]


def test_an_iterable_of_splits_as_cv():
    X, y = _clustered()
    labelled = np.arange(30)
    splits = [(labelled[labelled % 2 == 0], labelled[labelled % 2 == 1])]
    splits.append((splits[0][1], splits[0][0]))
    model = _safe(cv=splits, margin=-np.inf, stack_students=False).fit(X, y)
    assert model.decision_.holdout.measured and model.n_trainings_ == 5  # 2 folds, 2 arms
    stacked = _safe(cv=splits, margin=-np.inf).fit(X, y)
    assert stacked.decision_.holdout.n_rows == 30 and stacked.n_trainings_ == 2
