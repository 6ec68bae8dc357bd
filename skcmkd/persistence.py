"""Save a fitted skcmkd model as weights and plain data, safe to share.

A pickle (``joblib.dump``, ``pickle.dump``) runs code when it is loaded:
load one only if you trust whoever wrote it. :func:`save_model` writes a
directory that loads without running any code from it. It saves every
public estimator of skcmkd, meta-estimators and what they wrap included:

``estimator.json``
    the model as a tree: each estimator's class, constructor parameters and
    fitted attributes (decision records among them) as JSON, and the size and
    SHA-256 of each of the other files;
``arrays.npz``
    every array of the tree (standardisations, classes, the teacher's bank,
    head and ``"mlp"`` encoder, a linear fall-back), read with
    ``allow_pickle=False``;
``student.safetensors`` (``student.pt`` without safetensors) and ``history.json``
    each student net's weights and training history, through skorch's
    ``save_params`` (weights read back with ``weights_only=True``); a net
    inside a meta-estimator's ``estimator_`` has its path as a prefix
    (``estimator_.estimator_.student.safetensors``).

The tree is written by one walk over the estimators' parameters and fitted
attributes (those ending in ``_``): arrays, plain data, frozen records
(dataclasses of skcmkd) and nested estimators are written as they are,
without a list of what each estimator holds; an attribute of any other kind
stops the save with an error that names it. Only classes of skcmkd (the
estimators and their records), torch modules and torch optimizers (the
student ``module`` and ``optimizer`` parameters) are named by import path,
and loading imports each only if it is of that kind.

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
is refused rather than deleted. Saves of skcmkd 0.2 (formats 2 to 4, one
distiller whose fit made its own checks) are refused with a message: load
them with skcmkd 0.2, or fit the model again.
"""

import dataclasses
import hashlib
import importlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import warnings
from contextlib import suppress
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from skorch import NeuralNet
from skorch.history import History
from torch import nn

from ._inputs import cuda_missing, input_scaler
from ._net import student_net
from ._pickling import version
from ._teacher import TEACHER_KINDS, MLPEncoding, Teacher, UserEncoding
from .exceptions import InconsistentVersionWarning
from .modules import MLPEncoder

__all__ = ["save_model", "load_model"]

#: 5: the model is a tree of estimators (skcmkd 0.3: the distiller trains one
#: net; its checks became meta-estimators). 2 to 4 (skcmkd 0.2, a distiller
#: with its checks inside) are not read: their parameters no longer exist.
FORMAT = 5
_OLDER = (2, 3, 4)

#: The files of a save: estimator.json, arrays.npz, and a student's weights and
#: history per net, prefixed by its path of ``estimator_`` attributes.
_SAVE_FILE = re.compile(
    r"^(estimator\.json|arrays\.npz|(estimator_\.)*(student\.safetensors|student\.pt|history\.json))$"
)
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


def _import_class(spec, base, *, ours=False):
    """The class ``spec`` names, a subclass of ``base``; with ``ours``, only a class of skcmkd.

    With ``ours`` the module is checked before it is imported: a save cannot
    make ``load_model`` import a module of its choosing.
    """
    module_name, _, qualname = spec["class"].partition(":")
    if ours and module_name.split(".")[0] != "skcmkd":
        raise ValueError(f"{spec['class']} is not a class of skcmkd; refusing to load.")
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
    arrays["teacher.relation_means"] = teacher.relation_means_
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
        relation_means=arrays.get("teacher.relation_means"),
    )


# -- the tree: estimators, records and arrays as JSON nodes ----------------------------


def _is_ours(cls):
    return cls.__module__.split(".")[0] == "skcmkd"


def _is_estimator(value):
    """A public estimator of skcmkd (a distiller or a meta-estimator; not a skorch net)."""
    return (
        isinstance(value, BaseEstimator)
        and not isinstance(value, NeuralNet)
        and _is_ours(type(value))
    )


class _Writer:
    """Turns a model into a JSON tree, gathering its arrays and nets on the way.

    Attributes
    ----------
    arrays : dict
        Name -> array, for arrays.npz.
    nets : dict
        File prefix -> skorch net, each written with ``save_params``.
    dropped : list of str
        Parameters that are not plain data, left out with a warning.
    """

    def __init__(self):
        self.arrays, self.nets, self.dropped, self._teachers = {}, {}, [], {}

    def estimator(self, model, path, *, fitted=True):
        """The node of one skcmkd estimator: its class, parameters and fitted attributes.

        An estimator given as a parameter is a template (``clone`` drops what
        it was fitted on): only its parameters are written.
        """
        node = {"class": _class_path(type(model))["class"], "params": {}, "fitted": {}}
        for name, value in model.get_params(deep=False).items():
            encoded = self.param(value, f"{path}{name}", name)
            if encoded is not _DROPPED:
                node["params"][name] = encoded
        for name, value in sorted(vars(model).items()) if fitted else ():
            if name.endswith("_") and not name.startswith("_"):
                node["fitted"][name] = self.fitted(value, f"{path}{name}", name)
        return node

    def param(self, value, key, name):
        if _is_estimator(value):
            return {"__estimator__": self.estimator(value, f"{key}.", fitted=False)}
        if isinstance(value, Teacher):
            return {"__teacher__": self.teacher(value)}
        if name in ("module", "optimizer") and isinstance(value, type):
            return _class_path(value)
        if isinstance(value, torch.device):
            return str(value)
        if isinstance(value, tuple) and _is_plain(list(value)):
            return {"__tuple__": list(value)}
        if _is_plain(value):  # None, str, bool, numbers, and lists or dicts of them
            return value
        self.dropped.append(key)  # callbacks, a RandomState, a joblib.Memory...
        return _DROPPED

    def teacher(self, teacher):
        """The key of the teacher's arrays (one copy of a teacher shared by several estimators)."""
        if id(teacher) not in self._teachers:
            key = f"teacher{len(self._teachers)}"
            meta = {"key": key}
            arrays = {}
            _teacher_to_arrays(teacher, arrays, meta)
            self.arrays.update({f"{key}.{name}": value for name, value in arrays.items()})
            self._teachers[id(teacher)] = meta
        return self._teachers[id(teacher)]

    def fitted(self, value, key, name):
        if isinstance(value, NeuralNet):
            self.nets[key[: -len(name)]] = value  # the file prefix: the estimator's path
            return {"__net__": True}
        if _is_estimator(value):  # estimator_
            return {"__estimator__": self.estimator(value, f"{key}.")}
        if isinstance(value, History):
            return {"__history__": True}
        if isinstance(value, Pipeline):  # the input scaler
            _scaler_to_arrays(value, key, self.arrays)
            return {"__scaler__": key}
        return self.value(value, key, name)

    def value(self, value, key, name):
        """A fitted value: teacher, record, array, number, plain data."""
        if isinstance(value, Teacher):
            return {"__teacher__": self.teacher(value)}
        if dataclasses.is_dataclass(value) and _is_ours(type(value)):
            fields = {
                field.name: self.value(getattr(value, field.name), f"{key}.{field.name}", name)
                for field in dataclasses.fields(value)
            }
            return {"__record__": _class_path(type(value))["class"], "fields": fields}
        if isinstance(value, np.ndarray):
            meta = {}
            _labels_to_arrays(value, key, self.arrays, meta)
            return {"__array__": key, "dtype": meta[f"{key}_dtype"]}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{key}.{i}", name) for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.value(v, f"{key}.{i}", name) for i, v in enumerate(value)]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.value(v, f"{key}.{k}", name) for k, v in value.items()}}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(
            f"save_model cannot write the fitted attribute {name!r} ({type(value).__name__}); "
            "pickle the model instead (joblib.dump), or report this as a bug of skcmkd."
        )


_DROPPED = object()


class _Reader:
    """Rebuilds a model from the tree :class:`_Writer` made, its arrays and its nets' files."""

    def __init__(self, arrays, weights):
        self.arrays, self.weights, self._teachers = arrays, weights, {}

    def estimator(self, node, path):
        """The estimator of ``node``; ``path`` is its file prefix (``None`` for a template)."""
        cls = _import_class({"class": node["class"]}, BaseEstimator, ours=True)
        if _public_estimators().get(cls.__name__) is not cls:
            raise ValueError(f"{node['class']} is not an estimator of skcmkd; refusing to load.")
        model = cls(**{name: self.param(value, name) for name, value in node["params"].items()})
        fitted = node["fitted"]
        for name, value in fitted.items():
            keys = _keys(value)
            if "__estimator__" in keys:
                setattr(model, name, self.estimator(value["__estimator__"], f"{path}{name}."))
            elif not keys & {"__net__", "__history__"}:
                setattr(model, name, self.value(value))
        if "net_" in fitted:
            net = _student_net(model)
            net.module_.load_state_dict(self.weights[path]["state"])
            net.history = self.weights[path]["history"]
            model.net_ = net
            if "history_" in fitted:
                model.history_ = net.history
        return model

    def param(self, value, name):
        keys = _keys(value)
        if "__estimator__" in keys:
            return self.estimator(value["__estimator__"], None)
        if "__teacher__" in keys:
            return self.teacher(value["__teacher__"])
        if "__tuple__" in keys:
            return tuple(value["__tuple__"])
        if name in ("module", "optimizer") and keys == {"class"}:
            return _import_class(value, torch.optim.Optimizer if name == "optimizer" else nn.Module)
        return value

    def teacher(self, meta):
        key = meta["key"]
        if key not in self._teachers:
            prefix = f"{key}."
            arrays = {k[len(prefix) :]: v for k, v in self.arrays.items() if k.startswith(prefix)}
            self._teachers[key] = _teacher_from_arrays(arrays, meta)
        return self._teachers[key]

    def value(self, value):
        keys = _keys(value)
        if "__teacher__" in keys:
            return self.teacher(value["__teacher__"])
        if "__scaler__" in keys:
            return _scaler_from_arrays(self.arrays, value["__scaler__"])
        if "__record__" in keys:
            cls = _import_class({"class": value["__record__"]}, object, ours=True)
            if not (_is_ours(cls) and dataclasses.is_dataclass(cls)):
                raise ValueError(
                    f"{value['__record__']} is not a record of skcmkd; refusing to load."
                )
            return cls(**{name: self.value(v) for name, v in value["fields"].items()})
        if "__array__" in keys:
            key = value["__array__"]
            return _labels_from_arrays(self.arrays, key, {f"{key}_dtype": value["dtype"]})
        if "__tuple__" in keys:
            return tuple(self.value(v) for v in value["__tuple__"])
        if "__dict__" in keys:
            return {k: self.value(v) for k, v in value["__dict__"].items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _public_estimators():
    """The estimators skcmkd exports, by name: the only classes a save may name as nodes."""
    import skcmkd

    return {
        name: obj
        for name, obj in vars(skcmkd).items()
        if isinstance(obj, type) and issubclass(obj, BaseEstimator)
    }


def _keys(value):
    return set(value) if isinstance(value, dict) else set()


def _nets_of(node, path=""):
    """Every estimator node that holds a net, with its file prefix, in the tree."""
    if "__net__" in _keys(node["fitted"].get("net_")):
        yield path, node
    for name, value in node["fitted"].items():
        if "__estimator__" in _keys(value):
            yield from _nets_of(value["__estimator__"], f"{path}{name}.")


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
    others = sorted(p.name for p in path.iterdir() if not _SAVE_FILE.match(p.name))
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


def _write_files(directory, writer, document):
    """Write a save into ``directory``: the nets and arrays, then estimator.json with their digests."""
    extension = document["student_weights"]
    names = ["arrays.npz"]
    for prefix, net in writer.nets.items():
        weights, history = f"{prefix}student.{extension}", f"{prefix}history.json"
        net.save_params(
            f_params=directory / weights,
            f_history=directory / history,
            use_safetensors=extension == "safetensors",
        )
        names += [weights, history]
    np.savez(directory / "arrays.npz", **writer.arrays)
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
        if not any(_SAVE_FILE.match(p.name) for p in directory.iterdir()):
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
    if document["format"] in _OLDER:
        raise ValueError(
            f"{directory} holds format {document['format']!r}, written by skcmkd "
            f"{document.get('skcmkd_version')}, whose distiller made its checks inside fit; this "
            f"skcmkd reads format {FORMAT}. Load it with skcmkd 0.2, or fit the model again "
            "(make_safe_distiller gives what that distiller did)."
        )
    if document["format"] != FORMAT:
        raise ValueError(
            f"{directory} holds format {document['format']!r}; this skcmkd reads format "
            f"{FORMAT}. Load it with the skcmkd version that saved it "
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
    records = document.get("files")
    if not isinstance(records, dict) or "arrays.npz" not in records:
        raise _damaged(directory, "estimator.json records no sizes and SHA-256 of the files")
    blobs = {}
    for name, record in records.items():
        if not isinstance(name, str) or not _SAVE_FILE.match(name):  # keeps reads in the directory
            raise _damaged(directory, f"estimator.json names {name!r} as one of its files")
        try:
            blobs[name] = (directory / name).read_bytes()
        except FileNotFoundError:
            raise _damaged(directory, f"{name} is missing", FileNotFoundError) from None
        _check_file(directory, name, blobs[name], record)
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
    """Save a fitted skcmkd model as weights and plain data.

    Unlike a pickle, the result loads without running code from the files,
    so it can be shared (see the module docstring for the layout). Any
    public estimator of skcmkd is saved whole: a
    :class:`~skcmkd.CrossModalDistiller`, a :class:`~skcmkd.SafeAlignment`
    or :class:`~skcmkd.UnseenClassNamer` with what they wrap (the model of
    :func:`~skcmkd.make_safe_distiller`, say). The students' weights go
    through skorch's ``save_params``, as safetensors when the
    ``safetensors`` package is installed. The save is written beside
    ``path`` and renamed into place: it replaces an earlier save whole, or,
    should it fail or be interrupted, leaves that save as it was.

    Parameters
    ----------
    model : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted.
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

    Warns
    -----
    UserWarning
        Naming the parameters that are not plain data (callbacks, a
        ``joblib.Memory``...): they are left out, and the loaded model has
        their defaults.

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
    if not _is_estimator(model):
        raise TypeError(
            f"save_model saves an estimator of skcmkd, got {type(model).__name__}; pickle "
            "other objects (joblib.dump), or save the skcmkd model inside them."
        )
    if not model.__sklearn_is_fitted__():
        raise ValueError("The model is not fitted: fit it before save_model.")
    # Everything is gathered, and checked to be plain data, before the first
    # file is written: a failure leaves no half-written directory behind.
    writer = _Writer()
    tree = writer.estimator(model, "")
    if writer.dropped:
        warnings.warn(
            f"The parameter(s) {writer.dropped} are not plain data and are not saved; the loaded "
            "model has their defaults. Set them again after load_model if you fit again.",
            UserWarning,
            stacklevel=2,
        )
    document = {
        "format": FORMAT,
        "skcmkd_version": version(),
        "model": tree,
        "student_weights": "safetensors" if _has_safetensors() else "pt",
    }
    json.dumps(document)  # raises here, before any write, if something is not plain data
    path = Path(os.path.realpath(path))  # through a symbolic link: replace what it points to
    _check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = _sibling(path, "tmp")
    try:
        _make_directory(new, path)
        _write_files(new, writer, document)
        _flush(new)
        _move_into_place(new, path)
    except BaseException:  # Ctrl-C included: the earlier save stays, and no litter
        _remove(new)
        raise


def _student_net(model):
    """The distiller's student net, initialised on this machine's device, weights to be loaded."""
    # A model saved on a GPU, loaded on a machine without one, runs on the CPU.
    device = "cpu" if cuda_missing(model.device) else model.device
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten by the caller
        net = student_net(model, model.n_features_in_, len(model.classes_))
    net.set_params(device=device)
    return net.initialize()


def load_model(path):
    """Load a model written by :func:`save_model`, on this machine's device.

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
    model : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted, of the class that was saved: predicts, transforms and scores
        as the saved model did, and its decisions (``decision_``) are those
        of the saved one. It can be fitted again (the teacher is restored
        with its bank and head).

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
    if saved_with != version():
        warnings.warn(
            f"{directory} was saved with skcmkd {saved_with} and is loaded with "
            f"skcmkd {version()}; it may predict differently. Refit it, or load it with the "
            "version that saved it.",
            InconsistentVersionWarning,
            stacklevel=2,
        )
    extension = document.get("student_weights")
    read_weights = _read_safetensors if extension == "safetensors" else _read_torch_file
    arrays = _decode(directory, "arrays.npz", _read_arrays, blobs["arrays.npz"])
    try:
        tree = document["model"]
        weights = {}
        for prefix, _ in _nets_of(tree):
            name, history = f"{prefix}student.{extension}", f"{prefix}history.json"
            if name not in blobs or history not in blobs:
                raise KeyError(f"{name} or {history} is not among the files")
            weights[prefix] = {
                "state": _decode(directory, name, read_weights, blobs[name]),
                "history": _decode(directory, history, _read_history, blobs[history]),
            }
        return _Reader(arrays, weights).estimator(tree, "")
    except (KeyError, TypeError, RuntimeError, AttributeError) as exc:  # mixed or edited files
        raise _damaged(
            directory, f"its files do not fit together ({type(exc).__name__}: {exc})"
        ) from exc
