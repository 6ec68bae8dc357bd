"""Save a fitted distiller as weights and plain data, safe to share.

A pickle (``joblib.dump``, ``pickle.dump``) runs code when it is loaded:
load one only if you trust whoever wrote it. :func:`save_model` writes a
directory that loads without running any code from it:

``estimator.json``
    the constructor parameters and fitted metadata, as JSON, and the size
    and SHA-256 of each of the other files;
``arrays.npz``
    the standardisation, the classes and the teacher (bank of embeddings,
    head, and the ``"mlp"`` teacher's encoder), read with
    ``allow_pickle=False``;
``student.safetensors`` (``student.pt`` without safetensors)
    the student net's weights, through skorch's ``save_params`` (read back
    with ``weights_only=True``);
``history.json``
    skorch's training history.

Only torch modules and optimizers are named by import path (the student
``module`` and ``optimizer`` classes); loading imports them only if they are
subclasses of :class:`torch.nn.Module` and :class:`torch.optim.Optimizer`.

A save happens whole or not at all. :func:`save_model` writes the files into
a new hidden directory beside the target, ``.<name>.tmp-<random>`` (same
parent, so the same file system), puts them on disk (``fsync``) and renames
that directory into place. An earlier save at the target is first renamed
aside, to ``.<name>.old-<random>``; once the new directory has its name,
the earlier one is deleted. What a reader of the target sees:

- until the new directory is renamed in: the earlier save, whole;
- from then on: the new save, whole;
- between the two renames (an instant; or for good, should the process be
  killed there, or putting the earlier save back fail): no target.
  :func:`load_model` then loads the earlier save from its ``.old-`` sibling,
  with a warning, and the next save removes that sibling.

A save that raises (an error, a full disk, Ctrl-C) before its directory is
in place deletes it and leaves the earlier save where it was. The files of
a directory in place are never rewritten; :func:`load_model` reads them
into memory and checks each against the size and SHA-256 that
``estimator.json`` records before using it, so a file truncated or copied
from another save later is named in an error, never half-used. A read that
overlaps a save is retried on the new directory.

The target may be missing, an empty directory or the directory of an
earlier save, which is replaced whole: a directory that holds anything else
is refused rather than deleted. Directories of format 2 (skcmkd 0.2, written
file by file, without sizes or digests) still load, unchecked.
"""

import hashlib
import importlib
import io
import json
import os
import secrets
import shutil
import stat
import warnings
from contextlib import suppress
from pathlib import Path

import numpy as np
import torch
from skorch.history import History
from torch import nn

from ._distiller import CrossModalDistiller, _version
from ._inputs import cuda_missing, input_scaler
from ._net import student_net
from ._teacher import TEACHER_KINDS, MLPEncoding, Teacher, UserEncoding
from .exceptions import InconsistentVersionWarning
from .fallback import LinearFallback
from .modules import MLPEncoder

__all__ = ["save_model", "load_model"]

#: 4: a save may hold the linear fall-back (``fallback_``; an older skcmkd
#: would drop it and predict differently, so it refuses the format).
#: 3: estimator.json records the size and SHA-256 of every other file; a save
#: replaces its directory in one rename. 2: skcmkd 0.2 (the teacher's settings
#: left the estimator; the student MLP gained a layer norm), still loaded,
#: unchecked. Format 1 files load with skcmkd 0.1.
FORMAT = 4
_READABLE = (2, 3, 4)

#: Every file a save may hold: a directory holding anything else is not replaced.
_SAVE_FILES = ("estimator.json", "arrays.npz", "history.json", "student.safetensors", "student.pt")
_FALLBACK_ARRAYS = ("divisor", "offset", "scale", "coef", "intercept")
_FIX = "save the model again, or restore the directory from a backup"


def _has_safetensors():
    try:
        import safetensors  # noqa: F401
    except ImportError:
        return False
    return True


# -- plain data ---------------------------------------------------------------------


def _class_path(cls):
    return {"class": f"{cls.__module__}:{cls.__qualname__}"}


def _import_class(spec, base):
    module_name, _, qualname = spec["class"].partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise ValueError(f"{spec['class']} is not a subclass of {base.__name__}; refusing to load.")
    return obj


def _is_plain(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _plain_params(model):
    """Constructor parameters as JSON-able data; what cannot be is named and dropped."""
    params, dropped = {}, []
    for name, value in model.get_params(deep=False).items():
        if name == "teacher":
            continue
        if name in ("module", "optimizer") and isinstance(value, type):
            params[name] = _class_path(value)
        elif isinstance(value, torch.device):
            params[name] = str(value)
        elif isinstance(value, tuple) and _is_plain(list(value)):
            params[name] = list(value)
        elif _is_plain(value):  # None, str, bool, numbers, and lists or dicts of them
            params[name] = value
        else:  # callbacks, a RandomState, a user's encoder object
            dropped.append(name)
    if dropped:
        warnings.warn(
            f"The parameter(s) {dropped} are not plain data and are not saved; the loaded "
            "model has their defaults. Set them again after load_model if you fit again.",
            UserWarning,
            stacklevel=3,
        )
    return params


#: Parameters and fitted attributes renamed since skcmkd 0.2 (format 2), with
#: how an old value maps to the new one.
_RENAMED = {
    "unlabelled_trust": ("unlabeled_trust", lambda value: value),
    "kappa": ("prior_correction", lambda value: value == "prior"),
    "unlabelled_trust_": ("unlabeled_trust_", lambda value: value),
}


def _renamed(values):
    """``values`` with the names of skcmkd 0.2 saves mapped to today's."""
    out = {}
    for name, value in values.items():
        new, convert = _RENAMED.get(name, (name, None))
        out[new] = value if convert is None else convert(value)
    return out


def _restore_params(params):
    params = _renamed(params)
    if isinstance(params.get("module"), dict):
        params["module"] = _import_class(params["module"], nn.Module)
    if isinstance(params.get("optimizer"), dict):
        params["optimizer"] = _import_class(params["optimizer"], torch.optim.Optimizer)
    return params


def _labels_to_arrays(labels, prefix, arrays, meta):
    labels = np.asarray(labels)
    meta[f"{prefix}_dtype"] = "object" if labels.dtype.kind == "O" else labels.dtype.str
    arrays[prefix] = labels.astype(str) if labels.dtype.kind == "O" else labels


def _labels_from_arrays(arrays, prefix, meta):
    labels = arrays[prefix]
    if meta[f"{prefix}_dtype"] == "object":
        return labels.astype(object)
    return labels.astype(meta[f"{prefix}_dtype"])


def _scaler_to_arrays(scaler, prefix, arrays):
    divider, standard = scaler[0], scaler[1]
    arrays[f"{prefix}.max_abs"] = divider.scale_
    for name in ("mean_", "var_", "scale_"):
        arrays[f"{prefix}.{name}"] = getattr(standard, name)
    arrays[f"{prefix}.n_samples_seen_"] = np.asarray(standard.n_samples_seen_)


def _scaler_from_arrays(arrays, prefix):
    scaler = input_scaler()
    divider, standard = scaler[0], scaler[1]
    divider.scale_ = arrays[f"{prefix}.max_abs"]
    for name in ("mean_", "var_", "scale_"):
        setattr(standard, name, arrays[f"{prefix}.{name}"])
    standard.n_samples_seen_ = arrays[f"{prefix}.n_samples_seen_"]
    divider.n_features_in_ = standard.n_features_in_ = len(standard.mean_)
    return scaler


def _teacher_to_arrays(teacher, arrays, meta):
    meta["kind"] = teacher.kind
    meta["n_features_in"] = teacher.n_features_in_
    meta["settings"] = {k: v for k, v in teacher.settings.items() if _is_plain(v)}
    _labels_to_arrays(teacher.classes_, "teacher.classes", arrays, meta)
    arrays["teacher.bank"] = teacher.bank_
    arrays["teacher.bank_labels"] = teacher.bank_labels_
    weight, bias = teacher.head_params()
    arrays["teacher.head.weight"], arrays["teacher.head.bias"] = weight.numpy(), bias.numpy()
    encoding = teacher.encoding
    _ENCODING_SAVERS.get(type(encoding), _save_nothing)(encoding, arrays, meta)


# -- what each kind of teacher encoding keeps (skcmkd._teacher.TEACHER_KINDS) ----------


def _save_nothing(encoding, arrays, meta):
    """A precomputed teacher has no encoder to save."""


def _load_nothing(arrays, meta, latent_dim):
    return None, None


def _save_mlp(encoding, arrays, meta):
    linears = [m for m in encoding.encoder.modules() if isinstance(m, nn.Linear)]
    meta["hidden_units"] = [layer.out_features for layer in linears[:-1]]
    meta["layer_norm"] = any(isinstance(m, nn.LayerNorm) for m in encoding.encoder.modules())
    for key, value in encoding.encoder.state_dict().items():
        arrays[f"teacher.encoder.{key}"] = value.numpy()
    _scaler_to_arrays(encoding.scaler, "teacher.scaler", arrays)


def _load_mlp(arrays, meta, latent_dim):
    encoder = MLPEncoder(
        n_features=meta["n_features_in"],
        latent_dim=latent_dim,
        hidden_units=tuple(meta["hidden_units"]),
        layer_norm=meta["layer_norm"],
    )
    prefix = "teacher.encoder."
    state = {
        k[len(prefix) :]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(prefix)
    }
    encoder.load_state_dict(state)
    return encoder.eval(), _scaler_from_arrays(arrays, "teacher.scaler")


def _warn_user_encoder(encoding, arrays, meta):
    warnings.warn(
        "The teacher's own encoder (a user object) is not saved. The loaded teacher keeps "
        "its bank and head, which is all fitting the student needs; embedding new "
        "teacher data (Teacher.transform) needs set_teacher again.",
        UserWarning,
        stacklevel=4,
    )


_ENCODING_SAVERS = {MLPEncoding: _save_mlp, UserEncoding: _warn_user_encoder}
_ENCODING_LOADERS = {MLPEncoding: _load_mlp}


def _teacher_from_arrays(arrays, meta):
    classes = _labels_from_arrays(arrays, "teacher.classes", meta)
    bank = arrays["teacher.bank"]
    head = nn.Linear(bank.shape[1], len(classes))
    head.load_state_dict(
        {
            "weight": torch.from_numpy(arrays["teacher.head.weight"]),
            "bias": torch.from_numpy(arrays["teacher.head.bias"]),
        }
    )
    load = _ENCODING_LOADERS.get(TEACHER_KINDS[meta["kind"]], _load_nothing)
    encoder, scaler = load(arrays, meta, latent_dim=bank.shape[1])
    return Teacher(
        kind=meta["kind"],
        encoder=encoder,
        scaler=scaler,
        head=head.eval(),
        classes=classes,
        bank=bank,
        bank_labels=arrays["teacher.bank_labels"],
        n_features=meta["n_features_in"],
        settings=meta.get("settings"),
    )


#: Fitted attributes that are plain data (numbers, dicts of numbers).
_FITTED_PLAIN = ("unlabeled_trust_", "teacher_relations_", "checks_", "prior_ratio_")


# -- writing a save in one step -------------------------------------------------------


def _sibling(path, tag):
    """A free hidden name beside ``path``: ``.<name>.<tag>-<random>``."""
    while True:
        candidate = path.with_name(f".{path.name}.{tag}-{secrets.token_hex(6)}")
        if not os.path.lexists(candidate):
            return candidate


def _siblings(path, tag):
    """The directories beside ``path`` that :func:`_sibling` named with ``tag``."""
    prefix = f".{path.name}.{tag}-"
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def _check_target(path):
    """Refuse a target whose replacement would delete something that is not a save."""
    if not os.path.lexists(path):
        return
    if Path.cwd() == path or path in Path.cwd().parents:
        raise ValueError(
            f"{path} is the working directory or holds it; save_model replaces the directory "
            "it saves to, so save to another path."
        )
    if not path.is_dir():
        raise FileExistsError(
            f"{path} exists and is not a directory; save_model writes a directory. "
            "Choose another path, or remove that file first."
        )
    others = sorted(p.name for p in path.iterdir() if p.name not in _SAVE_FILES)
    if others:
        raise FileExistsError(
            f"{path} holds files that are not part of a skcmkd save ({', '.join(others[:5])}); "
            "save_model replaces the whole directory and would delete them. Save into a new "
            "or empty directory, or move those files out first."
        )


def _make_directory(new, path):
    """Create ``new`` beside ``path``, with the permissions ``path`` has."""
    try:
        new.mkdir()  # as a plain mkdir of path would: the umask sets its permissions
    except PermissionError as exc:
        raise PermissionError(
            f"Cannot create {new}: save_model writes beside {path} and renames the result "
            f"into place, so it needs write permission on {path.parent}."
        ) from exc
    if path.is_dir():
        os.chmod(new, stat.S_IMODE(path.stat().st_mode))


def _file_record(file):
    data = file.read_bytes()
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _write_files(directory, model, arrays, document):
    """Write a save into ``directory``: the data files, then estimator.json with their digests."""
    weights = document["student_weights"]
    model.net_.save_params(
        f_params=directory / weights,
        f_history=directory / "history.json",
        use_safetensors=weights.endswith(".safetensors"),
    )
    np.savez(directory / "arrays.npz", **arrays)
    names = (weights, "history.json", "arrays.npz")
    document = dict(document, files={name: _file_record(directory / name) for name in names})
    (directory / "estimator.json").write_text(json.dumps(document, indent=2), encoding="utf-8")


def _flush(directory):
    """Put ``directory`` and its files on disk, so that a power cut after the rename keeps them."""
    for file in directory.iterdir():
        with open(file, "rb+") as handle:
            os.fsync(handle.fileno())
    if os.name == "posix":  # elsewhere a directory cannot be opened to flush it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(directory):
    """Delete a directory of ours; should that fail, it stays as litter that nothing reads."""
    with suppress(OSError):
        shutil.rmtree(directory)


def _put_back(new, path, aside):
    """Undo an interrupted :func:`_move_into_place`: the earlier save back at ``path``."""
    try:
        if not os.path.lexists(new) and os.path.lexists(path):  # the new save got in: out again
            os.replace(path, new)
        if aside is not None and os.path.lexists(aside):
            os.replace(aside, path)
    except OSError as exc:
        kept = ""
        if aside is not None and os.path.lexists(aside):
            kept = (
                f"The earlier save is kept in {aside}; while {path} is missing, "
                f"load_model({str(path)!r}) loads it from there. "
            )
        warnings.warn(
            f"save_model was interrupted and could not put the earlier save back in {path} "
            f"({exc}). {kept}Save again to finish.",
            UserWarning,
            stacklevel=4,
        )


def _move_into_place(new, path):
    """Rename the directory ``new`` to ``path``; an earlier save there waits aside until then."""
    aside = _sibling(path, "old") if os.path.lexists(path) else None
    try:
        if aside is not None:
            os.replace(path, aside)
        os.replace(new, path)  # the save is done: what follows only tidies up
    except BaseException:
        _put_back(new, path, aside)
        raise
    for old in _siblings(path, "old"):  # this save's, and any an interrupted save left
        _remove(old)


# -- reading a save, checked ------------------------------------------------------------


def _damaged(directory, problem, error=ValueError):
    return error(
        f"{directory} is not a whole skcmkd save: {problem}. The save is damaged or mixes "
        f"files of two saves; {_FIX}."
    )


def _find_save(path):
    """The directory to read: ``path``, or while it is missing, the earlier save put aside."""
    if path.is_dir():
        return path
    if os.path.lexists(path):
        raise NotADirectoryError(
            f"{path} is not a directory: load_model reads the directory save_model wrote."
        )
    asides = _siblings(path, "old")
    if len(asides) == 1:
        warnings.warn(
            f"{path} is missing: a save_model into it was interrupted (or is under way) "
            f"between its two renames. Loading the earlier save from {asides[0]}; save the "
            f"model again to {path}.",
            UserWarning,
            stacklevel=4,
        )
        return asides[0]
    if asides:
        raise FileNotFoundError(
            f"{path} is missing; interrupted saves left earlier ones beside it "
            f"({', '.join(p.name for p in asides)}). Load one of them by its path and save it "
            f"again to {path}."
        )
    raise FileNotFoundError(f"{path} does not exist: no model was saved there.")


def _read_document(directory):
    """estimator.json, parsed, of a format this version reads."""
    try:
        data = (directory / "estimator.json").read_bytes()
    except FileNotFoundError:
        if not any((directory / name).exists() for name in _SAVE_FILES):
            raise FileNotFoundError(
                f"{directory} holds no skcmkd save (no estimator.json): check the path."
            ) from None
        raise _damaged(directory, "estimator.json is missing", FileNotFoundError) from None
    try:
        document = json.loads(data)
    except ValueError as exc:  # truncated, or not text
        raise _damaged(directory, f"estimator.json is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or "format" not in document:
        raise _damaged(directory, "estimator.json does not describe a skcmkd save")
    if document["format"] not in _READABLE:
        raise ValueError(
            f"{directory} holds format {document['format']!r}; this skcmkd reads formats "
            f"{_READABLE[0]} to {FORMAT}. Load it with the skcmkd version that saved it "
            f"({document.get('skcmkd_version')})."
        )
    return document


def _check_file(directory, name, data, record):
    """Raise unless ``data`` is the file that estimator.json recorded."""
    if not isinstance(record, dict):
        raise _damaged(directory, f"estimator.json records no size and SHA-256 of {name}")
    if len(data) != record.get("size"):
        raise _damaged(
            directory,
            f"{name} has {len(data)} bytes where estimator.json records {record.get('size')}: "
            "it is truncated or comes from another save",
        )
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise _damaged(
            directory,
            f"{name} does not match the SHA-256 that estimator.json records: it was "
            "altered or comes from another save",
        )


def _read_files(directory):
    """``directory``, its estimator.json, and the bytes of the files it names, checked."""
    document = _read_document(directory)
    records = document.get("files") if document["format"] >= 3 else None
    if document["format"] >= 3 and not isinstance(records, dict):
        raise _damaged(directory, "estimator.json records no sizes and SHA-256 of the files")
    weights = document.get("student_weights")
    if weights not in ("student.safetensors", "student.pt"):  # also keeps reads in the directory
        raise _damaged(directory, f"estimator.json names {weights!r} as the student's weights")
    blobs = {}
    for name in ("arrays.npz", "history.json", weights):
        try:
            blobs[name] = (directory / name).read_bytes()
        except FileNotFoundError:
            raise _damaged(directory, f"{name} is missing", FileNotFoundError) from None
        if records is not None:
            _check_file(directory, name, blobs[name], records.get(name))
    return directory, document, blobs


def _identity(directory):
    try:
        status = os.stat(directory)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _read_save(path):
    """The directory, estimator.json and file contents of the save at ``path``.

    The files are read into memory and checked there, so what is checked is
    what is used. A read that fails while a save replaces the directory is
    done again, on the new one.
    """
    for attempt in range(3):
        directory = _find_save(path)
        before = _identity(directory)
        try:
            return _read_files(directory)
        except (OSError, ValueError):
            if attempt == 2 or _identity(directory) == before:
                raise


def _decode(directory, name, read, data):
    """``read(data)``; a file that does not parse is damaged."""
    try:
        return read(data)
    except ImportError:
        raise
    except Exception as exc:  # each library has its own errors for a malformed file
        raise _damaged(directory, f"{name} cannot be read ({type(exc).__name__}: {exc})") from exc


def _read_arrays(data):
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return dict(npz)


def _read_safetensors(data):
    from safetensors.torch import load

    return load(data)


def _read_torch_file(data):
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _read_history(data):
    return History(json.loads(data))


# -- the two entry points -------------------------------------------------------------


def save_model(model, path):
    """Save a fitted :class:`~skcmkd.CrossModalDistiller` as weights and plain data.

    Unlike a pickle, the result loads without running code from the files,
    so it can be shared (see the module docstring for the layout). The
    student's weights go through skorch's ``save_params``, as safetensors when
    the ``safetensors`` package is installed. The save is written beside
    ``path`` and renamed into place: it replaces an earlier save whole, or,
    should it fail or be interrupted, leaves that save as it was.

    Parameters
    ----------
    model : CrossModalDistiller
        A fitted distiller.
    path : str or path-like
        A directory: missing (it is created), empty, or the directory of an
        earlier save, which is replaced.

    Raises
    ------
    FileExistsError
        When ``path`` is a file, or a directory that holds files other than
        a save's (replacing it would delete them).
    ValueError
        When ``path`` is the working directory, or holds it.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skcmkd import CrossModalDistiller, load_model, save_model
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(30, 3), np.arange(30) % 2
    >>> model = CrossModalDistiller(max_epochs=2, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     save_model(model, directory)
    ...     loaded = load_model(directory)
    >>> bool(np.array_equal(loaded.predict_proba(X), model.predict_proba(X)))
    True
    """
    if not isinstance(model, CrossModalDistiller):
        raise TypeError(f"save_model saves a CrossModalDistiller, got {type(model).__name__}.")
    if not model.__sklearn_is_fitted__():
        raise ValueError("The model is not fitted: fit it before save_model.")
    # Everything is gathered, and checked to be plain data, before the first
    # file is written: a failure leaves no half-written directory behind.
    arrays, fitted, teacher_meta = {}, {}, None
    _labels_to_arrays(model.classes_, "classes", arrays, fitted)
    _labels_to_arrays(model.unseen_classes_, "unseen_classes", arrays, fitted)
    _scaler_to_arrays(model.scaler_, "scaler", arrays)
    fitted["fallback_scaling"] = None
    if model.fallback_ is not None:
        fitted["fallback_scaling"] = model.fallback_.scaling
        for name, values in model.fallback_.to_arrays().items():
            arrays[f"fallback.{name}"] = values
    fitted["n_features_in"] = model.n_features_in_
    if hasattr(model, "feature_names_in_"):
        fitted["feature_names_in"] = [str(name) for name in model.feature_names_in_]
    for name in _FITTED_PLAIN:
        fitted[name] = getattr(model, name)
    if model.teacher is not None:
        teacher_meta = {}
        _teacher_to_arrays(model.teacher, arrays, teacher_meta)
    document = {
        "format": FORMAT,
        "skcmkd_version": _version(),
        "params": _plain_params(model),
        "fitted": fitted,
        "teacher": teacher_meta,
        "student_weights": "student.safetensors" if _has_safetensors() else "student.pt",
    }
    json.dumps(document)  # raises here, before any write, if something is not plain data
    path = Path(os.path.realpath(path))  # through a symbolic link: replace what it points to
    _check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = _sibling(path, "tmp")
    try:
        _make_directory(new, path)
        _write_files(new, model, arrays, document)
        _flush(new)
        _move_into_place(new, path)
    except BaseException:  # Ctrl-C included: the earlier save stays, and no litter
        _remove(new)
        raise


def _estimator_from(document, arrays):
    """The fitted distiller that estimator.json and arrays.npz describe, without its net."""
    model = CrossModalDistiller(**_restore_params(document["params"]))
    if document["teacher"]:
        model.teacher = _teacher_from_arrays(arrays, document["teacher"])
    fitted = _renamed(document["fitted"])
    model.classes_ = _labels_from_arrays(arrays, "classes", fitted)
    if "unseen_classes" in arrays:
        model.unseen_classes_ = _labels_from_arrays(arrays, "unseen_classes", fitted)
    else:  # format 2 and 3 saves: made before unseen classes were named
        model.unseen_classes_ = model.classes_[:0]
        fitted["checks_"].setdefault("unseen", None)
    fitted["checks_"].setdefault("holdout", None)  # saves made before the held-out check
    fitted["checks_"].setdefault("fallback", None)  # and before the linear fall-back
    model.fallback_ = None
    if fitted.get("fallback_scaling") is not None:
        fields = {name: arrays[f"fallback.{name}"] for name in _FALLBACK_ARRAYS}
        model.fallback_ = LinearFallback(fitted["fallback_scaling"], **fields)
    model.scaler_ = _scaler_from_arrays(arrays, "scaler")
    model.n_features_in_ = fitted["n_features_in"]
    for name in _FITTED_PLAIN:
        setattr(model, name, fitted[name])
    if "feature_names_in" in fitted:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in"], dtype=object)
    return model


def _student_net(model):
    """The model's student net, initialised on this machine's device, weights to be loaded."""
    # A model saved on a GPU, loaded on a machine without one, runs on the CPU.
    device = "cpu" if cuda_missing(model.device) else model.device
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten by the caller
        net = student_net(model, model.n_features_in_, len(model.classes_))
    net.set_params(device=device)
    return net.initialize()


def load_model(path):
    """Load a distiller written by :func:`save_model`, on this machine's device.

    Runs no code from the files: JSON, ``numpy.load(allow_pickle=False)``
    and safetensors (or ``torch.load`` with ``weights_only=True``). Every
    file is first checked against the size and SHA-256 that
    ``estimator.json`` records. A model saved on a GPU loads on a CPU-only
    machine; its ``device`` parameter keeps the saved value, so set
    ``device="cpu"`` before fitting it again there.

    Parameters
    ----------
    path : str or path-like
        The directory :func:`save_model` wrote.

    Returns
    -------
    model : CrossModalDistiller
        Fitted: predicts, transforms and scores as the saved model did. It
        can be fitted again (the teacher is restored with its bank and head).

    Raises
    ------
    FileNotFoundError
        When ``path``, or a file of the save, is missing.
    ValueError
        When a file is truncated, altered or from another save, or the
        format is one this version does not read. The message names the
        file and what to do.

    Warns
    -----
    InconsistentVersionWarning
        When the model was saved with another skcmkd version.
    """
    path = Path(os.path.realpath(path))
    directory, document, blobs = _read_save(path)
    saved_with = document.get("skcmkd_version")
    if saved_with != _version():
        warnings.warn(
            f"{directory} was saved with skcmkd {saved_with} and is loaded with "
            f"skcmkd {_version()}; it may predict differently. Refit it, or load it with the "
            "version that saved it.",
            InconsistentVersionWarning,
            stacklevel=2,
        )
    weights = document["student_weights"]
    read_weights = _read_safetensors if weights.endswith(".safetensors") else _read_torch_file
    arrays = _decode(directory, "arrays.npz", _read_arrays, blobs["arrays.npz"])
    history = _decode(directory, "history.json", _read_history, blobs["history.json"])
    state = _decode(directory, weights, read_weights, blobs[weights])
    try:
        model = _estimator_from(document, arrays)
        net = _student_net(model)
        net.module_.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as exc:  # a format 2 save, mixed or edited
        raise _damaged(
            directory, f"its files do not fit together ({type(exc).__name__}: {exc})"
        ) from exc
    net.history = history
    model.net_, model.history_ = net, net.history
    return model
