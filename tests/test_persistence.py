"""Saved models: pickles, the safe format, other machines, other versions, Ctrl-C, faults."""

import errno
import itertools
import json
import os
import pickle
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning

import skcmkd
import skcmkd._distiller
import skcmkd._pickling
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
        assert arrays["teacher0.teacher.bank"].dtype == np.float32
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
    with pytest.raises(TypeError, match="saves an estimator of skcmkd, got PCA"):
        save_model(PCA(), tmp_path)


def test_load_refuses_a_class_that_is_not_a_torch_module(fitted, tmp_path):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    document["model"]["params"]["module"] = {"class": "subprocess:Popen"}
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
    monkeypatch.setattr(skcmkd._pickling, "version", lambda: "9.9.9")
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
    assert model.net_.criterion_._sampler.__getstate__()["_tensors"] is None
    data = pickle.dumps(model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="cpu"):
        loaded = pickle.loads(data)
    assert torch.device(loaded.net_.device).type == "cpu"
    _assert_same_predictions(fitted, loaded, unpaired["X_test"])
    # refitting there draws the teacher batches on the CPU
    X, y = np.zeros((4, loaded.n_features_in_)), np.array([0, 1, -1, -1])
    loaded.set_params(device="cpu", max_epochs=1).fit(X, y)
    assert loaded.net_.criterion_._sampler._tensors["bank"].device.type == "cpu"


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

    monkeypatch.setattr(skcmkd.persistence._Writer, "estimator", broken)
    with pytest.raises(TypeError):
        save_model(fitted, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_the_fitted_attributes_are_saved(fitted, tmp_path):
    save_model(fitted, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.teacher_relations_ == fitted.teacher_relations_
    assert loaded.relation_agreement_ == fitted.relation_agreement_
    assert loaded.n_trainings_ == fitted.n_trainings_ == 1
    assert loaded.teacher.settings["max_epochs"] == fitted.teacher.settings["max_epochs"]


# -- a save happens whole or not at all ----------------------------------------------


@pytest.fixture(scope="module")
def other(fitted, unpaired):
    """Another fitted distiller (same teacher, other seed): it predicts differently."""
    model = clone(fitted).set_params(random_state=1)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    X = unpaired["X_test"]
    assert not np.array_equal(model.predict_proba(X), fitted.predict_proba(X))
    return model


def _fault(name):
    return {
        "disk full": OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
        "ctrl-c": KeyboardInterrupt(),
    }[name]


#: Each file a save writes: the function that writes it, and where its file is among its arguments.
WRITES = {
    "student.safetensors": ("safetensors.torch.save_file", lambda state, file, *rest: file),
    "student.pt": ("torch.save", lambda state, file, *rest: file),
    "history.json": ("json.dump", lambda data, file, *rest: file),
    "arrays.npz": ("numpy.savez", lambda file, *rest: file),
    "estimator.json": ("pathlib.Path.write_text", lambda path, *rest: path),
}


def _fails_mid_write(fault, file_of):
    """A stand-in for a write function: it writes the start of its file, then fails."""

    def write(*args, **kwargs):
        file = file_of(*args)
        if hasattr(file, "write"):  # an open text file (json.dump)
            file.write('[{"epoch": 1')
        else:
            Path(file).write_bytes(b"PK\x03\x04\x14\x00")
        raise _fault(fault)

    return write


def _replace_failing(fault, calls, *, after_renaming=False):
    """A stand-in for os.replace whose ``calls``-th calls fail (after renaming, if asked)."""
    real, count = os.replace, itertools.count(1)

    def replace(source, destination):
        if next(count) not in calls:
            return real(source, destination)
        if after_renaming:
            real(source, destination)
        raise _fault(fault)

    return replace


def _assert_earlier_save_stays(earlier, later, target, X):
    """``target`` holds ``earlier`` (or nothing), nothing else is left, a new save works."""
    assert [p.name for p in target.parent.iterdir()] == ([target.name] if earlier else [])
    if earlier is None:
        with pytest.raises(FileNotFoundError, match="does not exist: no model was saved"):
            load_model(target)
    else:
        assert np.array_equal(load_model(target).predict_proba(X), earlier.predict_proba(X))
    save_model(later, target)
    assert np.array_equal(load_model(target).predict_proba(X), later.predict_proba(X))
    assert [p.name for p in target.parent.iterdir()] == [target.name]


@pytest.mark.parametrize("earlier", [True, False], ids=["over an earlier save", "first save"])
@pytest.mark.parametrize("fault", ["disk full", "ctrl-c"])
@pytest.mark.parametrize("written", list(WRITES))
def test_a_fault_while_writing_a_file_leaves_the_earlier_save(
    fitted, other, unpaired, tmp_path, monkeypatch, written, fault, earlier
):
    if written == "student.pt":
        monkeypatch.setattr(skcmkd.persistence, "_has_safetensors", lambda: False)
    target = tmp_path / "model"
    if earlier:
        save_model(fitted, target)
    with monkeypatch.context() as patch:
        function, file_of = WRITES[written]
        patch.setattr(function, _fails_mid_write(fault, file_of))
        with pytest.raises(type(_fault(fault))):
            save_model(other, target)
    _assert_earlier_save_stays(fitted if earlier else None, other, target, unpaired["X_test"])


@pytest.mark.parametrize("fault", ["disk full", "ctrl-c"])
def test_a_fault_while_flushing_to_disk_leaves_the_earlier_save(
    fitted, other, unpaired, tmp_path, monkeypatch, fault
):
    target = tmp_path / "model"
    save_model(fitted, target)

    def fsync(fd):
        raise _fault(fault)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        with pytest.raises(type(_fault(fault))):
            save_model(other, target)
    _assert_earlier_save_stays(fitted, other, target, unpaired["X_test"])


@pytest.mark.parametrize("fault", ["disk full", "ctrl-c"])
@pytest.mark.parametrize(
    "rename, after_renaming, earlier",
    [
        (1, False, True),  # the earlier save to its place aside
        (2, False, True),  # the new save into place
        (2, True, True),  # ... interrupted just after it is done
        (1, False, False),  # the new save into place, no earlier one
        (1, True, False),  # ... interrupted just after it is done
    ],
)
def test_a_fault_while_renaming_leaves_the_earlier_save(
    fitted, other, unpaired, tmp_path, monkeypatch, fault, rename, after_renaming, earlier
):
    target = tmp_path / "model"
    if earlier:
        save_model(fitted, target)
    with monkeypatch.context() as patch:
        patch.setattr(
            os, "replace", _replace_failing(fault, {rename}, after_renaming=after_renaming)
        )
        with pytest.raises(type(_fault(fault))):
            save_model(other, target)
    _assert_earlier_save_stays(fitted if earlier else None, other, target, unpaired["X_test"])


def test_an_earlier_save_that_cannot_be_put_back_still_loads(
    fitted, other, unpaired, tmp_path, monkeypatch
):
    target = tmp_path / "model"
    save_model(fitted, target)
    with monkeypatch.context() as patch:  # every rename after the first fails
        patch.setattr(os, "replace", _replace_failing("disk full", range(2, 99)))
        with (
            pytest.raises(OSError, match="No space"),
            pytest.warns(UserWarning, match="could not put the earlier save back"),
        ):
            save_model(other, target)
    assert not target.exists()
    with pytest.warns(UserWarning, match="Loading the earlier save from .*model.old-"):
        _assert_same_predictions(fitted, load_model(target), unpaired["X_test"])
    save_model(other, target)  # and the next save tidies the earlier one away
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    _assert_same_predictions(other, load_model(target), unpaired["X_test"])


def test_litter_of_a_killed_save_does_not_stop_the_next(fitted, other, unpaired, tmp_path):
    target = tmp_path / "model"
    save_model(fitted, target)
    (tmp_path / ".model.tmp-killed").mkdir()
    (tmp_path / ".model.tmp-killed" / "arrays.npz").write_bytes(b"PK")
    target.rename(tmp_path / ".model.old-killed")  # killed between its two renames
    with pytest.warns(UserWarning, match="interrupted"):
        _assert_same_predictions(fitted, load_model(target), unpaired["X_test"])
    save_model(other, target)
    assert not (tmp_path / ".model.old-killed").exists()
    _assert_same_predictions(other, load_model(target), unpaired["X_test"])


def test_a_load_that_overlaps_a_save_reads_one_save(fitted, other, unpaired, tmp_path, monkeypatch):
    target = tmp_path / "model"
    save_model(fitted, target)
    read_bytes, saved = Path.read_bytes, []

    def read_during_a_save(path):
        if path.name == "history.json" and not saved:
            saved.append(True)
            save_model(other, target)  # replaces the directory between two reads
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_during_a_save)
    _assert_same_predictions(other, load_model(target), unpaired["X_test"])
    assert saved


# -- what a save replaces --------------------------------------------------------


def test_save_refuses_a_directory_that_holds_other_files(fitted, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not part of a skcmkd save \(notes.txt\)"):
        save_model(fitted, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(FileExistsError, match="is not a directory"):
        save_model(fitted, tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_save_refuses_the_working_directory(fitted, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="is the working directory or holds it"):
        save_model(fitted, ".")
    with pytest.raises(ValueError, match="is the working directory or holds it"):
        save_model(fitted, "..")
    assert list(tmp_path.iterdir()) == []


def test_a_save_keeps_the_permissions_and_the_link_to_its_directory(fitted, unpaired, tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir(mode=0o750)
    real.chmod(0o750)
    link.symlink_to(real)
    save_model(fitted, link)
    save_model(fitted, link)
    assert link.is_symlink() and (real / "estimator.json").exists()
    assert stat.S_IMODE(real.stat().st_mode) == 0o750
    _assert_same_predictions(fitted, load_model(link), unpaired["X_test"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


# -- damaged saves: named, with what to do ---------------------------------------


@pytest.mark.parametrize("name", ["arrays.npz", "history.json", "student.safetensors"])
def test_a_truncated_file_is_named(fitted, tmp_path, name):
    save_model(fitted, tmp_path)
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    message = rf"{name} has \d+ bytes where estimator.json records \d+: it is truncated"
    with pytest.raises(ValueError, match=message + ".*save the model again, or restore"):
        load_model(tmp_path)


@pytest.mark.parametrize("name", ["history.json", "student.safetensors"])
def test_a_file_from_another_save_is_named(fitted, other, tmp_path, name):
    save_model(fitted, tmp_path / "first")
    save_model(other, tmp_path / "second")
    (tmp_path / "first" / name).write_bytes((tmp_path / "second" / name).read_bytes())
    with pytest.raises(ValueError, match=rf"{name} .* comes from another save.*damaged or mixes"):
        load_model(tmp_path / "first")


def test_a_missing_file_is_named(fitted, tmp_path):
    save_model(fitted, tmp_path)
    (tmp_path / "student.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="student.safetensors is missing.*save the model"):
        load_model(tmp_path)
    (tmp_path / "estimator.json").unlink()
    with pytest.raises(FileNotFoundError, match="estimator.json is missing"):
        load_model(tmp_path)


def test_a_damaged_or_missing_description_is_named(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="holds no skcmkd save .*check the path"):
        load_model(tmp_path)
    save_model(fitted, tmp_path)
    text = (tmp_path / "estimator.json").read_text()
    (tmp_path / "estimator.json").write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="estimator.json is not valid JSON.*restore the directory"):
        load_model(tmp_path)
    (tmp_path / "estimator.json").write_text("[]")
    with pytest.raises(ValueError, match="estimator.json does not describe a skcmkd save"):
        load_model(tmp_path)


@pytest.mark.parametrize("written", [1, 6])
def test_a_format_this_version_does_not_read_is_named(fitted, tmp_path, written):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    (tmp_path / "estimator.json").write_text(json.dumps(dict(document, format=written)))
    with pytest.raises(ValueError, match=f"holds format {written}; this skcmkd reads format 5"):
        load_model(tmp_path)


@pytest.mark.parametrize("written", [2, 3, 4])
def test_a_save_of_skcmkd_0_2_is_refused_with_what_to_do(fitted, tmp_path, written):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    document = dict(document, format=written, skcmkd_version="0.2.0")
    (tmp_path / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(
        ValueError, match="skcmkd 0.2.0, whose distiller made its checks inside fit"
    ):
        load_model(tmp_path)


def test_a_save_whose_files_do_not_fit_is_named(fitted, tmp_path):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    del document["model"]["params"]["latent_dim"]
    document["model"]["fitted"]["classes_"] = {"__array__": "nowhere", "dtype": "<i8"}
    (tmp_path / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"files do not fit together \(KeyError: 'nowhere'\)"):
        load_model(tmp_path)


def test_a_save_cannot_name_a_class_outside_skcmkd(fitted, tmp_path):
    save_model(fitted, tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    document["model"]["class"] = "sklearn.linear_model:LogisticRegression"
    (tmp_path / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="is not a class of skcmkd; refusing to load"):
        load_model(tmp_path)


# -- meta-estimators: the whole tree ----------------------------------------------------


@pytest.fixture(scope="module")
def safe_model(unpaired):
    """make_safe_distiller fitted where the held-out check turns the alignment off."""
    model = skcmkd.make_safe_distiller(**FAST)
    model.set_params(margin=np.inf)  # the fall-back is used: its arrays are saved too
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    return model.fit(unpaired["X_student"], unpaired["y_student"])


def test_a_safe_model_round_trips_with_its_decisions(safe_model, unpaired, tmp_path):
    save_model(safe_model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "arrays.npz",
        "estimator.json",
        "estimator_.estimator_.history.json",
        "estimator_.estimator_.student.safetensors",
    ]
    loaded = load_model(tmp_path)
    assert type(loaded) is skcmkd.SafeAlignment
    assert type(loaded.estimator_) is skcmkd.UnseenClassNamer
    _assert_same_predictions(safe_model, loaded, unpaired["X_test"])
    assert loaded.fallback_ is not None
    np.testing.assert_array_equal(loaded.fallback_.coef, safe_model.fallback_.coef)
    # the decision records come back as the records they were (NaN where not measured)
    assert json.dumps(loaded.decision_.to_dict()) == json.dumps(safe_model.decision_.to_dict())
    assert loaded.estimator_.decision_ == safe_model.estimator_.decision_
    assert loaded.n_trainings_ == safe_model.n_trainings_
    # one teacher, shared by the template and the fitted distiller, as before saving
    template = loaded.estimator.estimator
    assert template.teacher is loaded.estimator_.estimator_.teacher
    assert loaded.get_params()["margin"] == np.inf


def test_a_loaded_safe_model_fits_again_as_a_clone_would(safe_model, unpaired, tmp_path):
    save_model(safe_model, tmp_path)
    loaded = load_model(tmp_path)
    X, y = unpaired["X_student"], unpaired["y_student"]
    refit = clone(safe_model).fit(X, y)
    loaded.fit(X, y)
    _assert_same_predictions(refit, loaded, unpaired["X_test"])


def test_a_memory_parameter_is_named_and_left_out(unpaired, tmp_path):
    import joblib

    model = skcmkd.SafeAlignment(CrossModalDistiller(**FAST), memory=joblib.Memory(None))
    model.fit(unpaired["X_student"], unpaired["y_student_true"])
    with pytest.warns(UserWarning, match=r"\['memory'\] are not plain data"):
        save_model(model, tmp_path / "m")
    assert load_model(tmp_path / "m").memory is None
    model.set_params(memory=str(tmp_path / "cache"))  # a path is plain data: saved
    save_model(model, tmp_path / "p")
    assert load_model(tmp_path / "p").memory == str(tmp_path / "cache")


def test_save_refuses_what_is_not_a_skcmkd_estimator(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="saves an estimator of skcmkd"):
        save_model(LogisticRegression(), tmp_path)


def test_a_safe_model_pickles_with_the_version_it_was_saved_with(safe_model, unpaired, monkeypatch):
    data = pickle.dumps(safe_model)
    _assert_same_predictions(safe_model, pickle.loads(data), unpaired["X_test"])
    monkeypatch.setattr(skcmkd._pickling, "version", lambda: "9.9.9")
    with pytest.warns(InconsistentVersionWarning, match="This SafeAlignment was saved with"):
        pickle.loads(data)
