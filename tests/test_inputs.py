"""Bad input ends in a clear error naming the argument and the fix, or in a correct result."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

import skcmkd._net
from skcmkd import CrossModalDistiller

from .conftest import FAST

# -- a tiny unpaired problem: errors come before any training ---------------------

RNG = np.random.RandomState(0)
X_T = RNG.randn(60, 4)
Y_T = np.arange(60) % 3
X_S = RNG.randn(40, 3)
Y_S = np.where(np.arange(40) < 9, np.arange(40) % 3, -1)


def _with(array, **cells):
    """A copy of ``array`` with ``cells={"0,1": value}`` set."""
    array = np.array(array, dtype=np.result_type(array, *cells.values()))
    for key, value in cells.items():
        array[tuple(int(i) for i in key.split("_"))] = value
    return array


def _object_with_text(array):
    array = array.astype(object)
    array[0, 0] = "seven"
    return array


class Wide(torch.nn.Module):
    """An encoder whose output is one column wider than asked for."""

    def __init__(self, n_features, latent_dim):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, latent_dim + 1)

    def forward(self, X):
        return self.linear(X)


def _distiller(**params):
    return CrossModalDistiller(**{**FAST, **params})


def _set_teacher(X=X_T, y=Y_T, **arguments):
    return lambda: _distiller().set_teacher(X, y, **arguments)


def _fit(X=X_S, y=Y_S, teacher=True, **params):
    def call():
        distiller = _distiller(**params)
        if teacher:
            distiller.set_teacher(X_T, Y_T)
        return distiller.fit(X, y)

    return call


BAD_INPUTS = {
    # set_teacher: teacher-modality data
    "X_teacher NaN": (
        _set_teacher(X=_with(X_T, **{"0_0": np.nan})),
        r"X_teacher holds NaN.*Impute",
    ),
    "X_teacher inf": (
        _set_teacher(X=_with(X_T, **{"1_2": np.inf})),
        r"X_teacher holds infinity.*Clip",
    ),
    "X_teacher empty": (
        _set_teacher(X=X_T[:0], y=Y_T[:0]),
        r"X_teacher is empty.*at least one row",
    ),
    "X_teacher 1-D": (_set_teacher(X=X_T[:, 0]), r"X_teacher must be a 2-D.*reshape\(-1, 1\)"),
    "X_teacher 3-D": (_set_teacher(X=X_T[:, :, None]), r"X_teacher must be a 2-D.*3-D.*reshape"),
    "X_teacher complex": (_set_teacher(X=X_T + 1j), r"X_teacher holds complex.*separate columns"),
    "X_teacher strings": (_set_teacher(X=X_T.astype(str)), r"X_teacher holds strings.*astype"),
    "X_teacher text in objects": (
        _set_teacher(X=_object_with_text(X_T)),
        r"X_teacher holds non-numeric.*OneHotEncoder",
    ),
    "X_teacher and y_teacher lengths": (
        _set_teacher(y=Y_T[:-1]),
        r"X_teacher has 60 rows but y_teacher has 59 labels",
    ),
    "y_teacher NaN": (
        _set_teacher(y=_with(Y_T.astype(float), **{"3": np.nan})),
        r"y_teacher holds NaN",
    ),
    "y_teacher unlabelled": (_set_teacher(y=_with(Y_T, **{"3": -1})), r"y_teacher holds -1.*Drop"),
    "y_teacher one class": (_set_teacher(y=np.zeros(60, int)), r"single class.*another class"),
    "y_teacher 2-D": (_set_teacher(y=np.c_[Y_T, Y_T]), r"y_teacher must be 1-D"),
    "precomputed beyond float32": (
        _set_teacher(X=X_T * 1e300, encoder="precomputed"),
        r"float32's range.*Rescale X_teacher",
    ),
    "unknown solver at set_teacher": (
        lambda: _distiller(solver="sinkorn").set_teacher(X_T, Y_T),
        r"'solver' parameter",
    ),
    "unknown teacher encoder": (_set_teacher(encoder="resnet"), r"encoder must be one of"),
    # fit: student-modality data
    "X NaN": (_fit(X=_with(X_S, **{"0_0": np.nan})), r"X holds NaN.*Impute"),
    "X inf": (_fit(X=_with(X_S, **{"2_1": -np.inf})), r"X holds infinity.*Clip"),
    "X empty": (_fit(X=X_S[:0], y=Y_S[:0]), r"X is empty"),
    "X 1-D": (_fit(X=X_S[:, 0]), r"X must be a 2-D.*reshape"),
    "X 3-D": (_fit(X=X_S[:, :, None]), r"X must be a 2-D.*3-D"),
    "X complex": (_fit(X=X_S * 1j), r"X holds complex"),
    "X strings": (_fit(X=X_S.astype(str)), r"X holds strings"),
    "X text in objects": (_fit(X=_object_with_text(X_S)), r"X holds non-numeric"),
    "X and y lengths": (_fit(y=Y_S[:-1]), r"X has 40 rows but y has 39 labels"),
    "y None": (_fit(y=None), r"requires y to be passed"),
    "y NaN": (_fit(y=_with(Y_S.astype(float), **{"0": np.nan})), r"y holds NaN.*-1"),
    "y 2-D": (_fit(y=np.c_[Y_S, Y_S]), r"y must be 1-D"),
    "y continuous": (_fit(y=RNG.randn(40), teacher=False), r"Unknown label type: continuous"),
    "y shares no class with the teacher": (
        _fit(y=np.where(Y_S >= 0, Y_S + 7, -1)),
        r"None of the student labels \[7, 8, 9\] is among the teacher's classes \[0, 1, 2\]",
    ),
    "y all unlabelled, no teacher": (_fit(y=np.full(40, -1), teacher=False), r"no labelled row"),
    "y one class, no teacher": (_fit(y=np.where(Y_S == 1, 1, -1), teacher=False), r"one class"),
    # parameters, checked at fit
    "negative feature_weight": (
        _fit(feature_weight=-1.0),
        r"'feature_weight' parameter.*\[0.0, inf\)",
    ),
    "text label_weight": (_fit(label_weight="high"), r"'label_weight' parameter"),
    "NaN feature_weight": (_fit(feature_weight=np.nan), r"'feature_weight' parameter"),
    "unknown solver": (_fit(solver="sinkorn"), r"'solver' parameter.*sinkorn"),
    "zero reg": (_fit(solver="sinkhorn", reg=0.0), r"'reg' parameter"),
    "zero teacher batch": (_fit(teacher_batch_size=0), r"'teacher_batch_size' parameter"),
    "module of the wrong width": (_fit(module=Wide), r"shape \(2, 33\).*width 32"),
}


@pytest.mark.parametrize("call, match", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gets_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="modul__width.*module__"):
        _fit(modul__width=3)()


def test_cuda_on_a_machine_without_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device.*device='cpu'"):
        _fit(device="cuda")()


# -- prediction-time input ---------------------------------------------------------

PREDICT_METHODS = ["predict", "predict_proba", "transform", "score"]


def _call(model, method, X):
    if method == "score":
        return model.score(X, np.zeros(len(X), dtype=int))
    return getattr(model, method)(X)


BAD_PREDICT_INPUTS = {
    "NaN": (lambda X: _with(X, **{"0_0": np.nan}), r"X holds NaN"),
    "1-D": (lambda X: X[0], r"X must be a 2-D.*reshape\(1, -1\)"),
    "wrong width": (
        lambda X: X[:, :5],
        r"X has 5 features, but CrossModalDistiller is expecting 47",
    ),
    "strings": (lambda X: X.astype(str), r"X holds strings"),
    "empty": (lambda X: X[:0], r"X is empty"),
}


@pytest.mark.parametrize("method", PREDICT_METHODS)
@pytest.mark.parametrize("make, match", BAD_PREDICT_INPUTS.values(), ids=BAD_PREDICT_INPUTS.keys())
def test_bad_input_at_prediction(fitted, unpaired, method, make, match):
    with pytest.raises(ValueError, match=match):
        _call(fitted, method, make(unpaired["X_test"]))


@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_prediction_before_fit(method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        _call(_distiller(), method, X_S)


def test_score_checks_its_labels(fitted, unpaired):
    X = unpaired["X_test"]
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        fitted.score(X, unpaired["y_test"][:-1])


@pytest.mark.parametrize("kind", ["mlp", "precomputed"])
def test_teacher_transform_checks_the_width(kind):
    teacher = _distiller().set_teacher(X_T, Y_T, encoder=kind).teacher
    with pytest.raises(ValueError, match=f"X_teacher has 3 columns.*'{kind}' teacher.*of 4"):
        teacher.transform(X_S)


# -- input that is unusual but valid: handled, and correct -------------------------


def test_one_labelled_row_with_a_teacher():
    model = _fit(X=X_S[:1], y=np.array([2]))()
    assert model.predict(X_S[:5]).shape == (5,)
    assert list(model.classes_) == [0, 1, 2]


def test_every_row_unlabelled_with_a_teacher_uses_the_teacher_alone():
    model = _fit(y=np.full(40, -1))()
    assert np.all(np.asarray(model.history_[:, "ce"]) == 0)
    assert set(model.predict(X_S)) <= {0, 1, 2}


def test_column_vector_labels_are_raveled_with_a_warning():
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        model = _fit(y=Y_S[:, None])()
    assert model.predict(X_S).shape == (40,)


def test_numbers_in_an_object_array_are_accepted():
    model = _fit(X=X_S.astype(object))()
    assert np.array_equal(model.predict(X_S.astype(object)), model.predict(X_S))


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_extreme_feature_magnitudes_train_as_the_unscaled_data(factor):
    """Standardisation is safe at any magnitude, so scaling X changes nothing."""
    reference = _fit()()
    scaled = _fit(X=X_S * factor)()
    for term in ("ce", "fa", "train_loss"):
        assert np.all(np.isfinite(scaled.history_[:, term]))
    assert np.allclose(scaled.predict_proba(X_S * factor), reference.predict_proba(X_S), atol=1e-5)


def test_columns_of_very_different_magnitudes():
    X = X_S * np.array([1e-150, 1.0, 1e150])
    model = _fit(X=X)()
    assert np.all(np.isfinite(model.predict_proba(X)))


def test_huge_teacher_inputs_give_a_working_teacher():
    teacher = _distiller().set_teacher(X_T * 1e250, Y_T).teacher
    reference = _distiller().set_teacher(X_T, Y_T).teacher
    assert np.all(np.isfinite(teacher.bank_))
    assert np.allclose(teacher.bank_, reference.bank_, atol=1e-4)


def test_huge_precomputed_embeddings_give_a_finite_head():
    embeddings = X_T * 1e30  # representable in float32, squares are not
    teacher = _distiller().set_teacher(embeddings, Y_T, encoder="precomputed").teacher
    proba = teacher.predict_proba(embeddings)
    assert np.all(np.isfinite(proba))
    model = _distiller().set_teacher(embeddings, Y_T, encoder="precomputed").fit(X_S, Y_S)
    assert np.all(np.isfinite(model.history_[:, "fa"]))


def test_student_weights_that_break_at_the_last_step_are_an_error(monkeypatch):
    model = _fit()()
    before = model.predict_proba(X_S)
    original = skcmkd._net.DistillerNet.fit

    def fit_then_break(net, X, y):
        original(net, X, y)
        with torch.no_grad():
            net.module_.head.bias.fill_(float("nan"))
        return net

    monkeypatch.setattr(skcmkd._net.DistillerNet, "fit", fit_then_break)
    with pytest.raises(FloatingPointError, match=r"weights \['head.bias'\].*Lower `lr`"):
        model.fit(X_S, Y_S)
    assert np.array_equal(model.predict_proba(X_S), before)
