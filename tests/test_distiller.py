import pickle
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback
from torch.optim.optimizer import register_optimizer_step_post_hook

import skcmkd._distiller
from skcmkd import CrossModalDistiller
from skcmkd._net import WarmUp
from skcmkd.exceptions import NonFiniteLossError
from skcmkd.terms import FeatureAlignment, LossTerm

from .conftest import FAST, TEACHER_FAST


def _teacher_distiller(unpaired, **params):
    distiller = CrossModalDistiller(**{**FAST, **params})
    return distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)


# -- the user-facing shape ------------------------------------------------------


def test_set_teacher_returns_self(unpaired):
    distiller = CrossModalDistiller(**FAST)
    teacher_data = unpaired["X_teacher"], unpaired["y_teacher"]
    assert distiller.set_teacher(*teacher_data, **TEACHER_FAST) is distiller


def test_the_teachers_settings_are_arguments_of_set_teacher(unpaired):
    """Every estimator parameter changes what fit does; the teacher's live on set_teacher."""
    params = set(CrossModalDistiller().get_params())
    assert not {"teacher_encoder", "teacher_max_epochs", "teacher_lr"} & params
    model = CrossModalDistiller(**FAST).set_teacher(
        unpaired["X_teacher"], unpaired["y_teacher"], max_epochs=2, latent_dim=8, lr=0.01
    )
    assert model.teacher.latent_dim_ == 8
    assert model.teacher.settings["max_epochs"] == 2 and model.teacher.settings["lr"] == 0.01
    assert model.lr == 1e-3  # the student's learning rate is its own


def test_logits_on_a_subset_of_rows_match_to_float32_precision(fitted, unpaired):
    X = unpaired["X_test"]
    whole, part = fitted.decision_function(X), fitted.decision_function(X[:7])
    np.testing.assert_allclose(part, whole[:7], rtol=1e-5, atol=1e-5)
    assert np.array_equal(fitted.predict(X[:7]), fitted.predict(X)[:7])


def test_predict_proba_score_transform(fitted, unpaired):
    X = unpaired["X_test"]
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 10) and proba.dtype == np.float64
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])
    assert 0.0 <= fitted.score(X, unpaired["y_test"]) <= 1.0
    z = fitted.transform(X)
    assert z.shape == (len(X), fitted.teacher.latent_dim_) and z.dtype == np.float32


def test_history_records_the_terms_that_were_computed(fitted):
    history = fitted.history_
    assert len(history) == FAST["max_epochs"]
    for term in ("ce", "fa", "nc", "train_loss"):
        assert np.all(np.isfinite(history[:, term]))
    assert np.all(np.asarray(history[:, "fa"]) > 0)
    assert "la" not in history[-1]  # label_weight=0: not computed


def test_without_teacher_only_the_cross_entropy_is_computed(unpaired):
    params = {**FAST, "neighbor_weight": 0.0}
    alone = CrossModalDistiller(**params).fit(unpaired["X_student"], unpaired["y_student"])
    assert not {"fa", "la", "nc"} & set(alone.history_[-1])
    assert np.allclose(alone.history_[:, "ce"], alone.history_[:, "train_loss"])


# -- neighbour consistency --------------------------------------------------------


def test_neighbor_consistency_uses_the_unlabelled_rows_without_a_teacher(unpaired):
    y = unpaired["y_student"]
    params = {**FAST, "neighbor_weight": 3.0, "warmup_epochs": 0}
    model = CrossModalDistiller(**params).fit(unpaired["X_student"], y)
    history = model.history_
    nc = np.asarray(history[:, "nc"])
    assert np.all(nc > 0) and "fa" not in history[-1]
    # per epoch: mean of ce + weight * unlabelled share * nc over the batches
    expected = np.asarray(history[:, "ce"]) + 3.0 * np.mean(y == -1) * nc
    assert np.allclose(history[:, "train_loss"], expected, rtol=1e-4)


def test_neighbor_consistency_warms_up_with_the_alignment(unpaired):
    y = unpaired["y_student"]
    params = {**FAST, "neighbor_weight": 3.0, "warmup_epochs": 4}
    history = CrossModalDistiller(**params).fit(unpaired["X_student"], y).history_
    factor = np.minimum(1.0, np.asarray(history[:, "epoch"]) / 4)
    expected = history[:, "ce"] + factor * 3.0 * np.mean(y == -1) * np.asarray(history[:, "nc"])
    assert np.allclose(history[:, "train_loss"], expected, rtol=1e-4)


def test_neighbor_consistency_is_off_when_every_row_is_labelled(unpaired):
    model = CrossModalDistiller(**{**FAST, "neighbor_weight": 3.0})
    model.fit(unpaired["X_student"], unpaired["y_student_true"])
    assert "nc" not in model.history_[-1]
    plain = CrossModalDistiller(**{**FAST, "neighbor_weight": 0.0})
    plain.fit(unpaired["X_student"], unpaired["y_student_true"])
    assert np.array_equal(
        model.predict_proba(unpaired["X_test"]), plain.predict_proba(unpaired["X_test"])
    )


def test_neighbor_weight_changes_the_distilled_student(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student"]
    on = _teacher_distiller(unpaired, neighbor_weight=10.0).fit(X, y)
    off = clone(on).set_params(neighbor_weight=0.0).fit(X, y)
    assert np.all(np.asarray(on.history_[:, "nc"]) > 0)
    assert "nc" not in off.history_[-1]
    assert not np.allclose(on.transform(X), off.transform(X))


def test_the_fitted_model_keeps_no_copy_of_its_training_rows(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = _teacher_distiller(unpaired, neighbor_weight=1.0).fit(X, y)
    held = [*vars(model.net_).values(), *vars(model.net_.criterion_).values()]
    assert not any(isinstance(value, torch.utils.data.Dataset) for value in held)
    assert not any(getattr(value, "shape", None) == X.shape for value in held)
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict(X), model.predict(X))


@pytest.mark.parametrize("n_rows", [2, 3, 5])
def test_n_neighbors_beyond_the_rows_is_clipped(unpaired, n_rows):
    X = unpaired["X_student"][:n_rows]
    y = np.full(n_rows, -1)
    y[0] = unpaired["y_student_true"][0]
    model = _teacher_distiller(unpaired, n_neighbors=50, neighbor_weight=1.0).fit(X, y)
    assert np.all(np.isfinite(model.history_[:, "nc"]))


def test_default_estimator_is_a_working_classifier(unpaired):
    model = CrossModalDistiller(random_state=0)
    model.fit(unpaired["X_student"], unpaired["y_student_true"])
    assert model.score(unpaired["X_test"], unpaired["y_test"]) > 0.5  # 10 classes


@pytest.mark.parametrize("solver", ["emd", "sinkhorn", "sliced"])
def test_each_solver_trains(unpaired, solver):
    distiller = _teacher_distiller(unpaired, solver=solver, max_epochs=2)
    distiller.fit(unpaired["X_student"], unpaired["y_student"])
    assert np.all(np.isfinite(distiller.history_[:, "fa"]))


def test_label_weight_and_prior_correction_train(unpaired):
    distiller = _teacher_distiller(
        unpaired, label_weight=1.0, prior_correction=True, warmup_epochs=0
    )
    distiller.fit(unpaired["X_student"], unpaired["y_student"])
    ratio = np.asarray(distiller.net_.criterion_.prior_ratio)
    assert ratio.shape == (10,) and not np.allclose(ratio, np.ones(10))
    assert np.all(np.asarray(distiller.history_[:, "la"]) > 0)


def test_alignment_weights_change_the_student(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student"]
    off = _teacher_distiller(unpaired, feature_weight=0.0).fit(X, y)
    on = _teacher_distiller(unpaired, feature_weight=5.0).fit(X, y)
    assert not np.allclose(off.predict_proba(X), on.predict_proba(X))


def test_feature_alignment_is_spent_only_on_unlabelled_share(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student_true"]  # every row labelled
    off = _teacher_distiller(unpaired, feature_weight=0.0).fit(X, y)
    on = _teacher_distiller(unpaired, feature_weight=5.0).fit(X, y)
    assert list(on.net_.criterion_.terms) == []  # spent on no row: not even built
    assert np.array_equal(off.predict_proba(X), on.predict_proba(X))
    assert "fa" not in on.history_[-1]  # weight zero: no transport solved


class _Failing(LossTerm):
    name, title = "failing", "a term that must not run"

    def forward(self, step):
        raise AssertionError("a term of weight zero was computed")


class _Infinite(LossTerm):
    name, title = "infinite", "an infinite term"

    def forward(self, step):
        return torch.tensor(float("inf"))


def test_a_zero_weight_term_is_never_computed(unpaired):
    params = dict(feature_weight=0.0, label_weight=0.0, neighbor_weight=0.0)
    model = _teacher_distiller(unpaired, terms=[_Failing(weight=0.0)], **params)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    assert list(model.net_.criterion_.terms) == []
    assert set(model.history_[-1]) & {"fa", "la", "nc", "failing"} == set()


def test_an_infinite_term_of_weight_zero_does_not_stop_training(unpaired):
    model = _teacher_distiller(unpaired, terms=[_Infinite(weight=0.0)])
    model.fit(unpaired["X_student"], unpaired["y_student"])  # 0 * inf would be NaN
    assert np.all(np.isfinite(model.history_[:, "train_loss"]))


def test_fully_labelled_student_trains_as_the_student_alone(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student_true"]
    alone = CrossModalDistiller(**FAST).fit(X, y)
    distilled = _teacher_distiller(unpaired).fit(X, y)
    assert np.array_equal(alone.predict_proba(X), distilled.predict_proba(X))


@pytest.mark.parametrize(
    "head_init, labels, from_teacher",
    [
        ("auto", "y_student", True),  # unlabelled rows: alignment on, teacher's head
        ("auto", "y_student_true", False),  # all labelled: as the student alone
        ("teacher", "y_student_true", True),
        ("random", "y_student", False),
    ],
)
def test_head_init(unpaired, head_init, labels, from_teacher):
    distiller = _teacher_distiller(
        unpaired, head_init=head_init, max_epochs=1, lr=1e-12, teacher_relations=1.0
    )
    distiller.fit(unpaired["X_student"], unpaired[labels])
    weight, _ = distiller.teacher.head_params()
    same = torch.allclose(distiller.net_.module_.head.weight, weight, atol=1e-6)
    assert same == from_teacher


def test_warmup_grows_the_alignment_weight(fitted):
    net = pickle.loads(pickle.dumps(fitted.net_))
    (warm_up,) = [cb for _, cb in net.callbacks_ if isinstance(cb, WarmUp)]
    assert warm_up.epochs == 10  # the estimator's default
    for epoch, factor in [(1, 0.1), (5, 0.5), (30, 1.0)]:  # the first: a tenth of the weight
        at_epoch = SimpleNamespace(history=[{}] * epoch, criterion_=net.criterion_)
        warm_up.on_epoch_begin(at_epoch)
        assert net.criterion_.factor == pytest.approx(factor)


# -- labels ---------------------------------------------------------------------


def test_classes_are_the_teachers_when_a_teacher_is_set(unpaired):
    y = unpaired["y_student"].copy()
    y[np.isin(y, [7, 8, 9])] = -1  # the student has labels of seven classes only
    distiller = _teacher_distiller(unpaired).fit(unpaired["X_student"], y)
    assert np.array_equal(distiller.classes_, np.arange(10))


def test_all_rows_unlabelled_with_a_teacher(unpaired):
    y = np.full(len(unpaired["y_student"]), -1)
    distiller = _teacher_distiller(unpaired).fit(unpaired["X_student"], y)
    assert distiller.predict(unpaired["X_test"]).shape == (len(unpaired["X_test"]),)
    assert np.all(np.asarray(distiller.history_[:, "ce"]) == 0)


def test_all_rows_unlabelled_without_a_teacher_is_an_error(unpaired):
    y = np.full(len(unpaired["y_student"]), -1)
    with pytest.raises(ValueError, match="no labelled row"):
        CrossModalDistiller(**FAST).fit(unpaired["X_student"], y)


def test_string_labels_round_trip(unpaired):
    names = np.array(list("abcdefghij"), dtype=object)
    y_teacher = names[unpaired["y_teacher"]]
    y_student = np.where(
        unpaired["y_student"] == -1, -1, names[np.maximum(unpaired["y_student"], 0)]
    ).astype(object)
    distiller = CrossModalDistiller(**FAST).set_teacher(
        unpaired["X_teacher"], y_teacher, **TEACHER_FAST
    )
    predictions = distiller.fit(unpaired["X_student"], y_student).predict(unpaired["X_test"])
    assert set(predictions) <= set(names)
    assert list(distiller.classes_) == list(names)


def test_unicode_string_labels_without_teacher(unpaired):
    y = np.array(["odd", "even"])[unpaired["y_student_true"] % 2]
    model = CrossModalDistiller(**FAST).fit(unpaired["X_student"], y)
    assert model.predict(unpaired["X_test"]).dtype.kind == "U"


def test_student_classes_missing_from_the_teacher_join_the_classes(unpaired):
    y = unpaired["y_student"].copy()
    y[:2] = [11, 12]  # classes only the student has: learnt from its labels alone
    model = _teacher_distiller(unpaired).fit(unpaired["X_student"], y)
    assert model.classes_.tolist() == [*range(10), 11, 12]
    assert model.predict_proba(unpaired["X_test"]).shape == (len(unpaired["X_test"]), 12)


def test_single_labelled_class_without_teacher_is_an_error(unpaired):
    y = np.where(unpaired["y_student"] == 3, 3, -1)
    with pytest.raises(ValueError, match="one class only"):
        CrossModalDistiller(**FAST).fit(unpaired["X_student"], y)


# -- clone, grid search, pipelines ---------------------------------------------


@pytest.fixture
def count_teacher_fits(monkeypatch):
    calls = []
    original = skcmkd._distiller.fit_teacher

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(skcmkd._distiller, "fit_teacher", counting)
    return calls


def test_clone_keeps_the_same_teacher_and_fits(unpaired):
    distiller = _teacher_distiller(unpaired)
    copy = clone(distiller)
    assert copy.teacher is distiller.teacher
    copy.fit(unpaired["X_student"], unpaired["y_student"])
    assert copy.net_.criterion_.target.bank is distiller.teacher.bank_


def test_grid_search_fits_the_teacher_once(unpaired, count_teacher_fits):
    distiller = _teacher_distiller(unpaired, max_epochs=2)
    search = GridSearchCV(distiller, {"feature_weight": [0.1, 1.0, 10.0]}, cv=2)
    search.fit(unpaired["X_student"], unpaired["y_student_true"])
    assert len(count_teacher_fits) == 1
    assert search.best_estimator_.teacher is distiller.teacher
    assert len(search.cv_results_["params"]) == 3


def test_cross_val_score_and_pipeline_fit_the_teacher_once(unpaired, count_teacher_fits):
    distiller = _teacher_distiller(unpaired, max_epochs=2)
    pipeline = make_pipeline(StandardScaler(), distiller)
    scores = cross_val_score(pipeline, unpaired["X_student"], unpaired["y_student_true"], cv=3)
    search = GridSearchCV(pipeline, {"crossmodaldistiller__label_weight": [0.0, 1.0]}, cv=2).fit(
        unpaired["X_student"], unpaired["y_student_true"]
    )
    assert len(count_teacher_fits) == 1
    assert scores.shape == (3,) and search.best_estimator_[-1].teacher is distiller.teacher


def test_score_skips_unlabelled_rows(fitted, unpaired):
    X, y = unpaired["X_test"], unpaired["y_test"].copy()
    full = fitted.score(X, y)
    y[::2] = -1
    expected = np.mean(fitted.predict(X[1::2]) == unpaired["y_test"][1::2])
    assert fitted.score(X, y) == pytest.approx(expected)
    assert full == pytest.approx(np.mean(fitted.predict(X) == unpaired["y_test"]))
    with pytest.raises(ValueError, match="nothing to score"):
        fitted.score(X, np.full(len(y), -1))


def test_grid_search_on_partly_labelled_data(unpaired):
    """The brief's shape: GridSearchCV straight on y with -1 rows."""
    distiller = _teacher_distiller(unpaired, max_epochs=2)
    search = GridSearchCV(distiller, {"feature_weight": [0.1, 10.0]}, cv=2)
    search.fit(unpaired["X_student"], unpaired["y_student"])
    assert _weights(search.best_estimator_)["fa"] > 0
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_grid_search_in_worker_processes(unpaired):
    distiller = _teacher_distiller(unpaired, max_epochs=2)
    search = GridSearchCV(distiller, {"feature_weight": [0.0, 1.0]}, cv=2, n_jobs=2)
    search.fit(unpaired["X_student"], unpaired["y_student_true"])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# -- skorch-style parameters and machinery ---------------------------------------


class TinyEncoder(torch.nn.Module):
    def __init__(self, n_features, latent_dim, width=4):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_features, width), torch.nn.Tanh(), torch.nn.Linear(width, latent_dim)
        )

    def forward(self, X):
        return self.layers(X)


def test_custom_module_with_routed_parameters(unpaired):
    distiller = CrossModalDistiller(module=TinyEncoder, module__width=7, **FAST)
    assert distiller.get_params()["module__width"] == 7
    assert clone(distiller).module__width == 7
    distiller.set_params(module__width=9, optimizer__weight_decay=1e-4)
    distiller.fit(unpaired["X_student"], unpaired["y_student_true"])
    assert distiller.net_.module_.encoder.layers[0].out_features == 9
    assert distiller.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-4


def test_unknown_extra_parameter_is_a_type_error(unpaired):
    with pytest.raises(TypeError, match="module__"):
        CrossModalDistiller(modul__width=3).fit(unpaired["X_student"], unpaired["y_student"])


def test_skorch_callbacks_and_verbose_output(unpaired, capsys):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    distiller = _teacher_distiller(unpaired, callbacks=[counter], verbose=1)
    capsys.readouterr()
    distiller.fit(unpaired["X_student"], unpaired["y_student"])
    out = capsys.readouterr().out
    assert counter.epochs == FAST["max_epochs"]
    assert "fa" in out and "nc" in out and "train_loss" in out


# -- state: determinism, persistence, failures -----------------------------------


def test_random_state_gives_identical_results_and_leaves_global_rng(unpaired):
    torch.manual_seed(5)
    expected_draw = torch.rand(2)
    torch.manual_seed(5)
    first = _teacher_distiller(unpaired).fit(unpaired["X_student"], unpaired["y_student"])
    assert torch.equal(torch.rand(2), expected_draw)
    second = _teacher_distiller(unpaired).fit(unpaired["X_student"], unpaired["y_student"])
    X = unpaired["X_test"]
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    refit = clone(first).fit(unpaired["X_student"], unpaired["y_student"])
    assert np.array_equal(first.predict_proba(X), refit.predict_proba(X))


@pytest.mark.parametrize("dump", ["joblib", "pickle"])
def test_persistence_round_trip(fitted, unpaired, tmp_path, dump):
    path = tmp_path / "model.bin"
    if dump == "joblib":
        joblib.dump(fitted, path)
        loaded = joblib.load(path)
    else:
        path.write_bytes(pickle.dumps(fitted))
        loaded = pickle.loads(path.read_bytes())
    X = unpaired["X_test"]
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert np.array_equal(loaded.transform(X), fitted.transform(X))


def test_dataframe_input_sets_feature_names(unpaired):
    pd = pytest.importorskip("pandas")
    columns = [f"zernike_{i}" for i in range(unpaired["X_student"].shape[1])]
    frame = pd.DataFrame(unpaired["X_student"], columns=columns)
    distiller = _teacher_distiller(unpaired).fit(frame, unpaired["y_student"])
    assert list(distiller.feature_names_in_) == columns
    assert distiller.n_features_in_ == len(columns)
    distiller.predict(pd.DataFrame(unpaired["X_test"], columns=columns))


def test_wrong_feature_count_at_predict(fitted, unpaired):
    with pytest.raises(ValueError, match="features"):
        fitted.predict(unpaired["X_test"][:, :5])


def test_non_finite_loss_stops_and_leaves_estimator_as_it_was(unpaired, monkeypatch):
    distiller = _teacher_distiller(unpaired, warmup_epochs=0)
    monkeypatch.setattr(FeatureAlignment, "forward", lambda self, step: torch.tensor(float("nan")))
    with pytest.raises(NonFiniteLossError, match=r"\['fa'\].*feature_weight"):
        distiller.fit(unpaired["X_student"], unpaired["y_student"])
    assert not hasattr(distiller, "net_") and not hasattr(distiller, "classes_")


def test_failed_refit_keeps_the_previous_model(fitted, unpaired, monkeypatch):
    model = clone(fitted).fit(unpaired["X_student"], unpaired["y_student"])
    before = model.predict_proba(unpaired["X_test"])
    model.set_params(warmup_epochs=0)
    monkeypatch.setattr(FeatureAlignment, "forward", lambda self, step: torch.tensor(float("inf")))
    with pytest.raises(NonFiniteLossError):
        model.fit(unpaired["X_student"], unpaired["y_student"])
    assert np.array_equal(model.predict_proba(unpaired["X_test"]), before)


def test_feature_names_out_and_pandas_output(fitted, unpaired):
    pd = pytest.importorskip("pandas")
    names = fitted.get_feature_names_out()
    assert len(names) == fitted.teacher.latent_dim_
    assert list(names[:2]) == ["crossmodaldistiller0", "crossmodaldistiller1"]
    model = pickle.loads(pickle.dumps(fitted)).set_output(transform="pandas")
    frame = model.transform(unpaired["X_test"])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(names)


def test_show_versions_names_the_dependencies(capsys):
    import skcmkd

    skcmkd.show_versions()
    out = capsys.readouterr().out
    for name in ("skcmkd", "torch", "skorch", "POT", "scikit-learn", "python"):
        assert name in out


def test_progress_bar_shows_the_batches(unpaired, capsys):
    model = CrossModalDistiller(progress_bar=True, **FAST)
    model.fit(unpaired["X_student"], unpaired["y_student_true"])
    captured = capsys.readouterr()
    assert "/3 [" in captured.err  # tqdm counting the 3 batches of each epoch
    assert any(type(cb).__name__ == "ProgressBar" for _, cb in model.net_.callbacks_)


def test_progress_bar_without_tqdm_says_what_to_install(unpaired, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    with pytest.raises(ImportError, match=r"skcmkd\[progress\]"):
        CrossModalDistiller(progress_bar=True, **FAST).fit(
            unpaired["X_student"], unpaired["y_student_true"]
        )


def test_repr_shows_changed_parameters_and_a_summary_of_the_teacher(fitted):
    text = repr(fitted)
    assert text.startswith("CrossModalDistiller(") and "max_epochs=3" in text
    assert "teacher=Teacher(kind='mlp', n_classes=10, bank=300x32)" in text
    assert "feature_weight" not in text  # defaults stay out, as in scikit-learn


# -- labels and scoring: defects found by a new user ---------------------------


def test_string_minus_one_marks_unlabelled_rows_not_a_class(unpaired):
    names = np.array(list("abcdefghij"))
    y = np.where(unpaired["y_student"] == -1, "-1", names[np.maximum(unpaired["y_student"], 0)])
    model = CrossModalDistiller(**FAST).fit(unpaired["X_student"], y)
    assert "-1" not in model.classes_
    assert set(model.classes_) == set(y[y != "-1"])


def test_score_takes_a_column_vector(fitted, unpaired):
    y = unpaired["y_test"]
    with pytest.warns(Warning, match="column-vector"):
        column = fitted.score(unpaired["X_test"], y[:, None])
    assert column == fitted.score(unpaired["X_test"], y)


def test_the_old_spelling_of_the_splitter_warns_and_splits_alike():
    from skcmkd.model_selection import LabeledStratifiedKFold, LabelledStratifiedKFold

    y = np.array([0, 0, 1, 1, 0, 1, -1, -1])
    with pytest.warns(FutureWarning, match="LabeledStratifiedKFold"):
        old = LabelledStratifiedKFold(2, shuffle=False)
    new = LabeledStratifiedKFold(2, shuffle=False)
    for (a, b), (c, d) in zip(old.split(y, y), new.split(y, y), strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_scoring_string_with_labelled_folds_is_right(unpaired):
    from skcmkd.model_selection import LabeledStratifiedKFold

    distiller = _teacher_distiller(unpaired, max_epochs=1)
    cv = LabeledStratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(distiller, {"feature_weight": [0.1, 1.0]}, cv=cv, scoring="accuracy")
    search.fit(unpaired["X_student"], unpaired["y_student"])
    default = GridSearchCV(distiller, {"feature_weight": [0.1, 1.0]}, cv=cv)
    default.fit(unpaired["X_student"], unpaired["y_student"])
    # no unlabelled row in a validation fold: "accuracy" and the estimator's score agree
    assert np.allclose(
        search.cv_results_["mean_test_score"], default.cv_results_["mean_test_score"]
    )


# -- one estimator, one model -------------------------------------------------------


def _voices(n=300, seed=0):
    """Three classes in 4 weak columns; 40 loud columns shared by 15 'voices'."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    voice = rng.randint(0, 15, n)
    signal = 1.5 * np.eye(4)[y] + 0.5 * rng.randn(n, 4)
    nuisance = 6 * rng.randn(15, 40)[voice] + rng.randn(n, 40)
    y_partial = np.where(np.arange(n) < 30, y, -1)
    return np.hstack([signal, nuisance]), y_partial, y


@pytest.fixture
def optimizer_steps():
    """Every optimizer step taken in the test, counted by torch's global hook."""
    steps = []
    handle = register_optimizer_step_post_hook(lambda optimizer, args, kwargs: steps.append(1))
    yield steps
    handle.remove()


def test_a_fit_trains_one_net_with_one_trainings_steps(unpaired, optimizer_steps):
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = _teacher_distiller(unpaired, max_epochs=3, batch_size=64)
    optimizer_steps.clear()  # set_teacher trained the teacher
    model.fit(X, y)
    assert model.n_trainings_ == 1
    assert len(optimizer_steps) == 3 * int(np.ceil(len(X) / 64))


def test_a_searched_feature_weight_changes_the_model_where_neighbours_share_no_class():
    """The data on which the checks of make_safe_distiller turn the alignment off."""
    X, y, _ = _voices()
    rng = np.random.RandomState(1)
    y_teacher = np.arange(300) % 3
    X_teacher = 4 * np.eye(8)[y_teacher] + rng.randn(300, 8)
    model = CrossModalDistiller(max_epochs=3, random_state=0)
    model.set_teacher(X_teacher, y_teacher, max_epochs=3)
    fits = [clone(model).set_params(feature_weight=w).fit(X, y) for w in (0.0, 10.0)]
    assert np.abs(fits[0].predict_proba(X) - fits[1].predict_proba(X)).max() > 1e-3
    assert "fa" not in fits[0].history_[-1] and "fa" in fits[1].history_[-1]


def test_unlabeled_trust_scales_every_alignment_weight(unpaired):
    model = _teacher_distiller(unpaired, unlabeled_trust=0.5)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    share = np.mean(unpaired["y_student"] == -1)
    assert _weights(model)["fa"] == pytest.approx(5.0 * share * 0.5)
    off = _teacher_distiller(unpaired, unlabeled_trust=0.0)
    off.fit(unpaired["X_student"], unpaired["y_student"])
    assert _weights(off) == {} and "fa" not in off.history_[-1]


def test_unseen_classes_are_reported_not_named(unpaired):
    y = unpaired["y_student"].copy()
    y[np.isin(y, [7, 8, 9])] = -1
    model = _teacher_distiller(unpaired).fit(unpaired["X_student"], y)
    assert model.unseen_classes_.tolist() == [7, 8, 9] and model.n_trainings_ == 1


def test_auto_relations_follow_the_measured_agreement(unpaired):
    model = _teacher_distiller(unpaired, teacher_relations="auto")
    model.fit(unpaired["X_student"], unpaired["y_student"])
    rho = model.relation_agreement_
    assert -1.0 <= rho <= 1.0
    from skcmkd.assumptions import relations_from_agreement

    assert model.teacher_relations_ == relations_from_agreement(rho)
    target = model.net_.criterion_.target
    assert (target.shift is None) == (model.teacher_relations_ == 1.0)


def test_teacher_relations_zero_aligns_to_equidistant_class_means(unpaired):
    model = _teacher_distiller(unpaired, teacher_relations=0.0, head_init="teacher", lr=1e-12)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    target = model.net_.criterion_.target
    means = model.teacher.class_means_ + target.shift
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(10, 1)]
    assert distances.std() / distances.mean() < 1e-4
    # the student's head starts from the head refitted on the moved bank
    assert torch.allclose(model.net_.module_.head.weight, target.head_weight, atol=1e-6)


def _weights(model):
    """The weight of each term of a fitted model's loss, by name."""
    return {term.name: term.weight for term in model.net_.criterion_.terms}


@pytest.mark.parametrize(
    "params, where",
    [
        (dict(unlabeled_trust="auto"), "SafeAlignment"),
        (dict(fallback="linear"), "SafeAlignment"),
        (dict(unseen_classes="auto"), "UnseenClassNamer"),
    ],
)
def test_a_parameter_of_skcmkd_0_2_says_where_it_went(unpaired, params, where):
    with pytest.raises(TypeError, match=f"since skcmkd 0.3.*{where}.*make_safe_distiller"):
        CrossModalDistiller(**FAST, **params).fit(unpaired["X_student"], unpaired["y_student"])
