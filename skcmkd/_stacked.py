"""Several students of one distiller trained together, as one net with a leading "student" axis.

:class:`~skcmkd.SafeAlignment`'s held-out check trains six small students
on the same rows: per fold, one with the alignment and one without, each
with that fold's labels hidden. Trained one by one, each pays torch's and
skorch's per-step overhead, which is most of a small MLP's step. Here their
weights are stacked (:func:`torch.func.stack_module_state`) and one
:func:`torch.func.vmap`-ed forward, backward and optimizer step serve them
all: the same batches (every student has the same rows and seed), each
student with its own labels, loss terms, head and dropout draws.

Each student is the one :meth:`CrossModalDistiller._fit
<skcmkd.CrossModalDistiller.fit>` would train with its labels and
``unlabeled_trust``, up to dropout masks and float rounding: the same start
(the module is built from the same seed), the same batches, neighbours and
teacher draws, and an optimizer that is elementwise (Adam, SGD) treats each
student's slice of a stacked weight as it would the student's own.
"""

import copy

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ._criterion import DistillationLoss
from ._inputs import input_scaler, relative_weights
from ._labels import encode_labels
from ._net import StudentRows, student_module, student_net
from ._teacher import torch_seed
from .exceptions import NonFiniteLossError
from .modules import EncoderClassifier, MLPEncoder
from .neighbors import choose_algorithm, neighbor_table

__all__ = ["StackedLoss", "StackedStudents", "fit_predict_stacked", "train_stacked"]


class StackedStudents(nn.Module):
    """Students of one architecture as one module: outputs gain a leading student axis.

    The default student (:class:`~skcmkd.modules.MLPEncoder` under an
    :class:`~skcmkd.modules.EncoderClassifier`) runs as batched matrix
    products over the stacked weights; any other module through
    :func:`torch.func.vmap` of :func:`torch.func.functional_call`. Dropout
    draws one mask per row and unit for all the students of a step (common
    random numbers: students compared with each other differ in their labels
    and terms, not in their noise).

    Parameters
    ----------
    students : sequence of torch.nn.Module
        Modules of the same structure, each with its own weights.
    """

    def __init__(self, students):
        super().__init__()
        students = list(students)
        params, buffers = stack_module_state(students)
        self._param_names = list(params)
        self._param_index = {name: i for i, name in enumerate(params)}
        self._buffer_names = list(buffers)
        self.weights = nn.ParameterList(nn.Parameter(params[name].detach()) for name in params)
        for i, name in enumerate(buffers):
            self.register_buffer(f"buffer_{i}", buffers[name])
        # the structure only, on the meta device; kept out of the parameters
        self._structure = [copy.deepcopy(students[0]).to("meta")]
        self._layers = _mlp_layers(students[0])
        self.n_students = len(students)

    def forward(self, X, neighbor=None):
        inputs = X if neighbor is None else torch.cat([X, neighbor])
        if self._layers is not None:
            z = self._stacked_mlp(inputs)
            logits = torch.baddbmm(
                self._param("head.bias")[:, None], z[:, : len(X)], self._param("head.weight").mT
            )
        else:
            logits, z = self._vmapped(inputs)
            logits = logits[:, : len(X)]
        if neighbor is None:
            return logits, z
        return logits, z[:, : len(X)], z[:, len(X) :]

    def _param(self, name):
        return self.weights[self._param_index[name]]

    def _stacked_mlp(self, inputs):
        h = inputs.expand(self.n_students, *inputs.shape)
        for kind, name, layer in self._layers:
            if kind == "linear":
                weight, bias = self._param(f"{name}.weight"), self._param(f"{name}.bias")
                h = torch.baddbmm(bias[:, None], h, weight.mT)
            elif kind == "layer_norm":
                h = F.layer_norm(h, layer.normalized_shape, eps=layer.eps)
                if layer.elementwise_affine:
                    h = (
                        h * self._param(f"{name}.weight")[:, None]
                        + self._param(f"{name}.bias")[:, None]
                    )
            elif kind == "relu":
                h = F.relu(h)
            elif self.training:  # dropout: one mask for every student
                keep = torch.rand(h.shape[1:], device=h.device) >= layer.p
                h = h * keep / (1.0 - layer.p)
        return h

    def _vmapped(self, inputs):
        structure = self._structure[0]
        structure.train(self.training)  # dropout follows the stack's mode
        params = dict(zip(self._param_names, self.weights, strict=True))
        buffers = {name: getattr(self, f"buffer_{i}") for i, name in enumerate(self._buffer_names)}

        def one(p, b, x):
            logits, z = functional_call(structure, (p, b), (x,))
            return logits, z

        try:
            return vmap(one, in_dims=(0, 0, None), randomness="same")(params, buffers, inputs)
        except RuntimeError as error:
            raise RuntimeError(
                f"The held-out check trains its students together through torch.func.vmap, "
                f"and the student module {type(structure.encoder).__name__} does not run "
                f"under vmap ({error}). Give SafeAlignment stack_students=False to train them "
                "one by one, or make the module's forward free of in-place updates of "
                "buffers and of .item() calls."
            ) from error


def _mlp_layers(student):
    """The default student's layers as (kind, parameter prefix, layer); ``None`` for any other."""
    if not (isinstance(student, EncoderClassifier) and type(student.encoder) is MLPEncoder):
        return None
    kinds = {
        nn.Linear: "linear",
        nn.LayerNorm: "layer_norm",
        nn.ReLU: "relu",
        nn.Dropout: "dropout",
    }
    layers = []
    for i, layer in enumerate(student.encoder.layers):
        if type(layer) not in kinds or (type(layer) is nn.LayerNorm and layer.bias is None):
            return None
        layers.append((kinds[type(layer)], f"encoder.layers.{i}", layer))
    return layers


def _every_loss(name):
    """An attribute of :class:`StackedLoss` read from its first loss and set on every loss."""

    def get(self):
        return getattr(self.losses[0], name)

    def set_all(self, value):
        for loss in self.losses:
            setattr(loss, name, value)

    return property(get, set_all)


class StackedLoss(nn.Module):
    """The students' distillation losses, summed; each sees its own slice of the outputs.

    Labels and weights arrive with one column per student. The
    cross-entropies of all students are one call; each student's terms are
    its own loss's. The net's warm-up factor and epoch reach every
    student's loss.

    Parameters
    ----------
    losses : sequence of DistillationLoss
    """

    def __init__(self, losses):
        super().__init__()
        self.losses = nn.ModuleList(losses)
        self.terms_ = {}

    @property
    def terms(self):
        return [term for loss in self.losses for term in loss.terms]

    factor = _every_loss("factor")  # the warm-up's (skcmkd._net.WarmUp)
    epoch = _every_loss("epoch")  # the net's (skcmkd._net.DistillerNet)

    def reset(self):
        for loss in self.losses:
            loss.reset()

    def forward(self, y_pred, y_true, rows=None, weights=None):
        logits = y_pred[0]
        y = torch.as_tensor(y_true, device=logits.device).long().T  # (students, batch)
        each = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1, reduction="none"
        ).reshape(y.shape)
        if weights is not None:
            each = each * torch.as_tensor(weights, dtype=each.dtype, device=each.device).T
        ce = (each.sum(dim=1) / (y >= 0).sum(dim=1).clamp_min(1)).sum()
        total, terms = ce, {"ce": ce.detach()}
        for k, loss in enumerate(self.losses):
            if loss.active_terms():
                added, values = loss.terms_loss(tuple(out[k] for out in y_pred), y[k], rows)
                total = total + added
                for name, value in values.items():
                    terms[name] = terms.get(name, 0.0) + value
        self.terms_ = terms
        return total


def train_stacked(distiller, X, columns, trusts, *, classes, unlabeled_share, weights=None):
    """Train one student per label column together: the fitted stacked net and the scaled ``X``.

    Parameters
    ----------
    distiller : CrossModalDistiller
        Its parameters and teacher make every student; its ``random_state``
        seeds them all alike.
    X : ndarray of shape (n_samples, n_features)
        Validated student rows (as the distiller's ``fit`` receives them).
    columns : sequence of ndarray of shape (n_samples,)
        Each student's labels (``-1``: unlabelled).
    trusts : sequence of float
        Each student's ``unlabeled_trust`` (``0``: trained without alignment terms).
    classes : ndarray
        The classes every student predicts.
    unlabeled_share : float
        The share of unlabelled rows the terms are weighed by
        (:meth:`CrossModalDistiller._weighted_terms`).
    weights : ndarray of shape (n_samples,) or None
        Sample weights, scaled per student over its labelled rows.

    Returns
    -------
    net : DistillerNet
        Its ``module_`` is a :class:`StackedStudents`, student ``k`` trained
        on ``columns[k]``.
    X_scaled : ndarray of shape (n_samples, n_features), float32
        ``X`` as the students see it.
    """
    scaler = input_scaler().fit(X)
    X_scaled = scaler.transform(X).astype(np.float32)
    codes = [encode_labels(distiller.teacher, column, classes)[1] for column in columns]
    students = [clone(distiller).set_params(unlabeled_trust=trust) for trust in trusts]
    with torch_seed(distiller.random_state) as seed:
        modules, losses, neighbors = [], [], None
        for student, student_codes in zip(students, codes, strict=True):
            terms = student._weighted_terms(student_codes, unlabeled_share)
            relations, _ = student._relations(X_scaled, student_codes, classes, terms)
            head, loss, _ = student._student_setup(student_codes, classes, terms, relations, seed)
            if neighbors is None and any(term.needs_neighbors for term in terms):
                algorithm = choose_algorithm(len(X_scaled), student.neighbor_algorithm)
                neighbors = neighbor_table(
                    X_scaled, student.n_neighbors, algorithm=algorithm, warn=False
                )
            torch.manual_seed(seed)  # every student starts where its own fit would
            modules.append(student_module(student, X_scaled.shape[1], len(classes), head_init=head))
            losses.append(DistillationLoss(**loss))
        stacked = student_net(
            students[0],
            X_scaled.shape[1],
            len(classes),
            loss={"losses": losses},
            seed=seed,
            module=StackedStudents(modules),
            criterion=StackedLoss,
        )
        student_weights = None
        if weights is not None:
            scaled = [relative_weights(weights, c) for c in codes]  # None: all equal
            student_weights = np.stack(
                [np.ones(len(X)) if w is None else w for w in scaled], axis=1
            ).astype(np.float32)
        rows = StudentRows(X_scaled, np.stack(codes, axis=1), neighbors, seed, student_weights)
        stacked.fit(rows, None)
    if not all(torch.isfinite(weight).all() for weight in stacked.module_.parameters()):
        # the last optimizer step can break the weights after the last finite loss
        raise NonFiniteLossError(
            "The held-out check's students' weights became NaN or infinite in training. "
            "Lower `lr`, `feature_weight` or `label_weight`. The estimator was left as it "
            "was before this fit."
        )
    return stacked, X_scaled


def fit_predict_stacked(distiller, X, columns, trusts, **kwargs):
    """:func:`train_stacked`, then each student's predicted class codes of ``X`` (a list)."""
    net, X_scaled = train_stacked(distiller, X, columns, trusts, **kwargs)
    module = net.module_.eval()
    with torch.no_grad():
        logits, _ = module(torch.as_tensor(X_scaled, device=net.device))
    return list(logits.argmax(dim=2).cpu().numpy())
