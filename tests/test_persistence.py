"""Saved models: pickles, the safe format, other machines, other versions, Ctrl-C."""

import json
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning

import skcmkd
import skcmkd._distiller
import skcmkd.persistence
from skcmkd import CrossModalDistiller, load_model, save_model
from skcmkd.exceptions import InconsistentVersionWarning

from .conftest import FAST, TEACHER_FAST
from .test_distiller import TinyEncoder


def _predictions(model, X):
    return model.predict_proba(X), model.transform(X)


def _assert_same_predictions(first, second, X):
    for a, b in zip(_predictions(first, X), _predictions(second, X), strict=True):
        assert np.array_equal(a, b)


# -- the safe format: weights and plain data --------------------------------------


def test_save_and_load_round_trip(fitted, unpaired, tmp_path):
    save_model(fitted, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "arrays.npz",
        "estimator.json",
        "history.json",
        "student.safetensors",
    ]
    loaded = load_model(tmp_path)
    _assert_same_predictions(fitted, loaded, unpaired["X_test"])
    assert np.array_equal(loaded.classes_, fitted.classes_)
    assert len(loaded.history_) == len(fitted.history_)
    assert loaded.history_[-1, "fa"] == pytest.approx(fitted.history_[-1, "fa"])
    params = {k: v for k, v in fitted.get_params().items() if k != "teacher"}
    assert {k: v for k, v in loaded.get_params().items() if k != "teacher"} == params


def test_loaded_teacher_embeds_and_distils_as_the_saved_one(fitted, unpaired, tmp_path):
    save_model(fitted, tmp_path)
    loaded = load_model(tmp_path)
    teacher, original = loaded.teacher, fitted.teacher
    assert np.array_equal(teacher.bank_, original.bank_)
    assert np.array_equal(
        teacher.transform(unpaired["X_teacher"][:20]),
        original.transform(unpaired["X_teacher"][:20]),
    )
    assert teacher.cost_scale_ == pytest.approx(original.cost_scale_)
    # Determinism across a save/load round trip: fitting again gives the same model.
    refit = clone(fitted).fit(unpaired["X_student"], unpaired["y_student"])
    loaded.fit(unpaired["X_student"], unpaired["y_student"])
    _assert_same_predictions(refit, loaded, unpaired["X_test"])


def test_files_load_without_pickle(fitted, tmp_path):
    save_model(fitted, tmp_path)
    json.loads((tmp_path / "estimator.json").read_text())
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as arrays:
        assert arrays["teacher.bank"].dtype == np.float32
    from safetensors.torch import load_file

    state = load_file(tmp_path / "student.safetensors")
    assert "head.weight" in state


def test_without_safetensors_weights_go_to_a_torch_file(fitted, unpaired, tmp_path, monkeypatch):
    monkeypatch.setattr(skcmkd.persistence, "_has_safetensors", lambda: False)
    save_model(fitted, tmp_path)
    assert (tmp_path / "student.pt").exists() and not (tmp_path / "student.safetensors").exists()
    torch.load(tmp_path / "student.pt", weights_only=True)  # plain tensors only
    _assert_same_predictions(fitted, load_model(tmp_path), unpaired["X_test"])


def test_string_classes_feature_names_and_custom_module(unpaired, tmp_path):
    pd = pytest.importorskip("pandas")
    names = np.array(list("abcdefghij"), dtype=object)
    y_student = np.where(
        unpaired["y_student"] == -1, -1, names[np.maximum(unpaired["y_student"], 0)]
    )
    columns = [f"zernike_{i}" for i in range(unpaired["X_student"].shape[1])]
    X = pd.DataFrame(unpaired["X_student"], columns=columns)
    model = CrossModalDistiller(module=TinyEncoder, module__width=6, **FAST)
    model.set_teacher(unpaired["X_teacher"], names[unpaired["y_teacher"]], **TEACHER_FAST)
    model.fit(X, y_student.astype(object))
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.module is TinyEncoder and loaded.module__width == 6
    assert list(loaded.feature_names_in_) == columns
    assert loaded.classes_.dtype == object and list(loaded.classes_) == list(names)
    X_test = pd.DataFrame(unpaired["X_test"], columns=columns)
    assert np.array_equal(loaded.predict(X_test), model.predict(X_test))


def test_precomputed_and_encoder_teachers(unpaired, tmp_path):
    pca = PCA(8, random_state=0).fit(unpaired["X_teacher"])
    for kind, encoder, X_teacher in [
        ("precomputed", "precomputed", pca.transform(unpaired["X_teacher"])),
        ("encoder", pca, unpaired["X_teacher"]),
    ]:
        model = CrossModalDistiller(**FAST).set_teacher(
            X_teacher, unpaired["y_teacher"], encoder=encoder
        )
        model.fit(unpaired["X_student"], unpaired["y_student"])
        directory = tmp_path / kind
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            save_model(model, directory)
        loaded = load_model(directory)
        _assert_same_predictions(model, loaded, unpaired["X_test"])
        assert loaded.teacher.kind == kind
        if kind == "encoder":  # a user object: named as not saved
            messages = " ".join(str(w.message) for w in caught)
            assert "own encoder" in messages
            with pytest.raises(ValueError, match="loaded without its encoder"):
                loaded.teacher.transform(unpaired["X_teacher"])


def test_save_model_needs_a_fitted_distiller(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        save_model(CrossModalDistiller(), tmp_path)
    with pytest.raises(TypeError, match="CrossModalDistiller, got PCA"):
        save_model(PCA(), tmp_path)


def test_load_refuses_a_class_that_is_not_a_torch_module(fitted, tmp_path):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    document["params"]["module"] = {"class": "subprocess:Popen"}
    (tmp_path / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="not a subclass of Module; refusing"):
        load_model(tmp_path)


# -- other versions, other machines ------------------------------------------------


def test_load_model_from_another_version_warns(fitted, unpaired, tmp_path):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    document["skcmkd_version"] = "0.0.1"
    (tmp_path / "estimator.json").write_text(json.dumps(document))
    with pytest.warns(InconsistentVersionWarning, match="saved with skcmkd 0.0.1"):
        loaded = load_model(tmp_path)
    _assert_same_predictions(fitted, loaded, unpaired["X_test"])


def test_unpickling_from_another_version_warns(fitted, monkeypatch):
    data = pickle.dumps(fitted)
    monkeypatch.setattr(skcmkd._distiller, "_version", lambda: "9.9.9")
    with pytest.warns(
        InconsistentVersionWarning,
        match=f"saved with skcmkd {skcmkd.__version__} and is loaded with skcmkd 9.9.9",
    ):
        pickle.loads(data)


def test_unpickling_the_same_version_is_silent(fitted):
    data = pickle.dumps(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(data)


def test_pickled_on_a_gpu_loads_on_a_cpu_only_machine(fitted, unpaired, monkeypatch):
    """skorch maps the net to the CPU; the teacher tensors are rebuilt there, not unpickled."""
    model = pickle.loads(pickle.dumps(fitted))
    model.set_params(device="cuda")
    model.net_.device = "cuda"  # as skorch records a net trained on a GPU
    assert "_tensors" not in model.net_.criterion_.__getstate__()
    data = pickle.dumps(model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="cpu"):
        loaded = pickle.loads(data)
    assert torch.device(loaded.net_.device).type == "cpu"
    _assert_same_predictions(fitted, loaded, unpaired["X_test"])
    # refitting there draws the teacher batches on the CPU
    X, y = np.zeros((4, loaded.n_features_in_)), np.array([0, 1, -1, -1])
    loaded.set_params(device="cpu", max_epochs=1).fit(X, y)
    assert loaded.net_.criterion_._tensors["bank"].device.type == "cpu"


def test_saved_on_a_gpu_loads_on_a_cpu_only_machine(fitted, unpaired, tmp_path, monkeypatch):
    model = pickle.loads(pickle.dumps(fitted))
    model.set_params(device="cuda")
    save_model(model, tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = load_model(tmp_path)
    assert loaded.device == "cuda" and loaded.net_.device == "cpu"
    _assert_same_predictions(fitted, loaded, unpaired["X_test"])


# -- interruption --------------------------------------------------------------------


class InterruptOnce(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C does) at the end of one epoch, once."""

    def __init__(self, at_epoch):
        self.at_epoch = at_epoch
        self.fired = False

    def on_epoch_end(self, net, **kwargs):
        if not self.fired and len(net.history) == self.at_epoch:
            self.fired = True
            raise KeyboardInterrupt


def test_ctrl_c_during_fit_leaves_a_usable_model_and_a_second_fit_starts_clean(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student"]
    params = dict(FAST, max_epochs=4)
    model = CrossModalDistiller(callbacks=[InterruptOnce(at_epoch=2)], **params)
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST).fit(X, y)
    assert len(model.history_) == 2  # skorch stops at the interrupted epoch and keeps the model
    assert np.all(np.isfinite(model.predict_proba(unpaired["X_test"])))

    model.fit(X, y)  # the callback has fired: this fit runs to the end
    assert len(model.history_) == 4
    fresh = CrossModalDistiller(
        callbacks=[InterruptOnce(at_epoch=99)], teacher=model.teacher, **params
    )
    fresh.fit(X, y)
    _assert_same_predictions(model, fresh, unpaired["X_test"])


def test_ctrl_c_before_training_keeps_the_previous_model(fitted, unpaired, monkeypatch):
    model = clone(fitted).fit(unpaired["X_student"], unpaired["y_student"])
    before = model.predict_proba(unpaired["X_test"])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skcmkd._distiller, "input_scaler", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(unpaired["X_student"], unpaired["y_student"])
    assert np.array_equal(model.predict_proba(unpaired["X_test"]), before)


def test_a_parameter_that_is_not_plain_data_is_named_and_the_save_completes(unpaired, tmp_path):
    from skorch.callbacks import LRScheduler

    model = CrossModalDistiller(callbacks=[LRScheduler()], **FAST)
    model.fit(unpaired["X_student"], unpaired["y_student_true"])
    with pytest.warns(UserWarning, match=r"\['callbacks'\] are not plain data"):
        save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.callbacks is None
    _assert_same_predictions(model, loaded, unpaired["X_test"])


def test_a_failing_save_writes_nothing(fitted, tmp_path, monkeypatch):
    import skcmkd.persistence

    def broken(*args, **kwargs):
        raise TypeError("cannot serialise")

    monkeypatch.setattr(skcmkd.persistence, "_plain_params", broken)
    with pytest.raises(TypeError):
        save_model(fitted, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_the_checks_of_the_fit_are_saved(fitted, tmp_path):
    save_model(fitted, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.unlabelled_trust_ == fitted.unlabelled_trust_
    assert loaded.teacher_relations_ == fitted.teacher_relations_
    assert loaded.checks_ == fitted.checks_
    assert loaded.teacher.settings["max_epochs"] == fitted.teacher.settings["max_epochs"]
