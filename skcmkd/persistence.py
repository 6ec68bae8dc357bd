"""Save a fitted distiller as weights and plain data, safe to share.

A pickle (``joblib.dump``, ``pickle.dump``) runs code when it is loaded:
load one only if you trust whoever wrote it. :func:`save_model` writes a
directory that loads without running any code from it:

``estimator.json``
    the constructor parameters and fitted metadata, as JSON;
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
"""

import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._distiller import CrossModalDistiller, _version
from ._inputs import cuda_missing, input_scaler
from ._teacher import Teacher
from .exceptions import InconsistentVersionWarning
from .modules import MLPEncoder

__all__ = ["save_model", "load_model"]

#: 2: skcmkd 0.2 (the teacher's settings left the estimator; the student MLP
#: gained a layer norm). Format 1 files load with skcmkd 0.1.
FORMAT = 2


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


def _restore_params(params):
    params = dict(params)
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
    if teacher.kind == "mlp":
        linears = [m for m in teacher.encoder.modules() if isinstance(m, nn.Linear)]
        meta["hidden_units"] = [layer.out_features for layer in linears[:-1]]
        meta["layer_norm"] = any(isinstance(m, nn.LayerNorm) for m in teacher.encoder.modules())
        for key, value in teacher.encoder.state_dict().items():
            arrays[f"teacher.encoder.{key}"] = value.numpy()
        _scaler_to_arrays(teacher.scaler, "teacher.scaler", arrays)
    elif teacher.kind == "encoder":
        warnings.warn(
            "The teacher's own encoder (a user object) is not saved. The loaded teacher keeps "
            "its bank and head, which is all fitting the student needs; embedding new "
            "teacher data (Teacher.transform) needs set_teacher again.",
            UserWarning,
            stacklevel=3,
        )


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
    encoder = scaler = None
    if meta["kind"] == "mlp":
        encoder = MLPEncoder(
            n_features=meta["n_features_in"],
            latent_dim=bank.shape[1],
            hidden_units=tuple(meta["hidden_units"]),
            layer_norm=meta["layer_norm"],
        )
        prefix = "teacher.encoder."
        state = {
            k[len(prefix) :]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(prefix)
        }
        encoder.load_state_dict(state)
        encoder.eval()
        scaler = _scaler_from_arrays(arrays, "teacher.scaler")
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
_FITTED_PLAIN = ("unlabelled_trust_", "teacher_relations_", "checks_", "prior_ratio_")


# -- the two entry points -------------------------------------------------------------


def save_model(model, path):
    """Save a fitted :class:`~skcmkd.CrossModalDistiller` as weights and plain data.

    Unlike a pickle, the result loads without running code from the files,
    so it can be shared (see the module docstring for the layout). The
    student's weights go through skorch's ``save_params``, as safetensors when
    the ``safetensors`` package is installed.

    Parameters
    ----------
    model : CrossModalDistiller
        A fitted distiller.
    path : str or path-like
        A directory, created if needed; files of an earlier save are replaced.

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
    _scaler_to_arrays(model.scaler_, "scaler", arrays)
    fitted["n_features_in"] = model.n_features_in_
    if hasattr(model, "feature_names_in_"):
        fitted["feature_names_in"] = [str(name) for name in model.feature_names_in_]
    for name in _FITTED_PLAIN:
        fitted[name] = getattr(model, name)
    if model.teacher is not None:
        teacher_meta = {}
        _teacher_to_arrays(model.teacher, arrays, teacher_meta)
    safe = _has_safetensors()
    student_name = "student.safetensors" if safe else "student.pt"
    document = json.dumps(
        {
            "format": FORMAT,
            "skcmkd_version": _version(),
            "params": _plain_params(model),
            "fitted": fitted,
            "teacher": teacher_meta,
            "student_weights": student_name,
        },
        indent=2,
    )
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in ("student.safetensors", "student.pt"):
        (path / stale).unlink(missing_ok=True)
    model.net_.save_params(
        f_params=path / student_name, f_history=path / "history.json", use_safetensors=safe
    )
    np.savez(path / "arrays.npz", **arrays)
    (path / "estimator.json").write_text(document)


def load_model(path):
    """Load a distiller written by :func:`save_model`, on this machine's device.

    Runs no code from the files: JSON, ``numpy.load(allow_pickle=False)``
    and skorch's ``load_params`` with ``weights_only=True`` (or safetensors).
    A model saved on a GPU loads on a CPU-only machine; its ``device``
    parameter keeps the saved value, so set ``device="cpu"`` before fitting
    it again there.

    Parameters
    ----------
    path : str or path-like
        The directory :func:`save_model` wrote.

    Returns
    -------
    model : CrossModalDistiller
        Fitted: predicts, transforms and scores as the saved model did. It
        can be fitted again (the teacher is restored with its bank and head).

    Warns
    -----
    InconsistentVersionWarning
        When the model was saved with another skcmkd version.
    """
    path = Path(path)
    document = json.loads((path / "estimator.json").read_text())
    if document.get("format") != FORMAT:
        raise ValueError(
            f"{path} holds format {document.get('format')!r}; this skcmkd reads format "
            f"{FORMAT}. Load it with the skcmkd version that saved it ({document.get('skcmkd_version')})."
        )
    if document["skcmkd_version"] != _version():
        warnings.warn(
            f"{path} was saved with skcmkd {document['skcmkd_version']} and is loaded with "
            f"skcmkd {_version()}; it may predict differently. Refit it, or load it with the "
            "version that saved it.",
            InconsistentVersionWarning,
            stacklevel=2,
        )
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        arrays = dict(npz)
    model = CrossModalDistiller(**_restore_params(document["params"]))
    if document["teacher"]:
        model.teacher = _teacher_from_arrays(arrays, document["teacher"])
    fitted = document["fitted"]
    model.classes_ = _labels_from_arrays(arrays, "classes", fitted)
    model.scaler_ = _scaler_from_arrays(arrays, "scaler")
    model.n_features_in_ = fitted["n_features_in"]
    for name in _FITTED_PLAIN:
        setattr(model, name, fitted[name])
    if "feature_names_in" in fitted:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in"], dtype=object)

    # A model saved on a GPU, loaded on a machine without one, runs on the CPU.
    device = "cpu" if cuda_missing(model.device) else model.device
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten just below
        module = model._student(model.n_features_in_, len(model.classes_))
    net = model._net(module)
    net.set_params(device=device)
    net.initialize()
    net.load_params(
        f_params=path / document["student_weights"],
        f_history=path / "history.json",
        use_safetensors=document["student_weights"].endswith(".safetensors"),
    )
    model.net_, model.history_ = net, net.history
    return model
