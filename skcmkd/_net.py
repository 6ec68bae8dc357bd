"""The skorch net that trains the student, and the rows it trains on.

The loss lives in :class:`~skcmkd._criterion.DistillationLoss`; this net
stops on a non-finite loss and records the terms in the history, and the
:class:`WarmUp` callback tells the loss how far the warm-up has gone.
Per-row extras travel in an ``X`` dict: each
training item is ``{"X": row, "row": its index, "neighbor": one of its
neighbours}`` (the neighbour when the neighbour term is on,
:class:`StudentRows`); the module embeds ``"X"`` and ``"neighbor"``, the
loss receives ``"row"``. The net counts the epochs of each fit for the loss.
"""

from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring

from ._criterion import DistillationLoss
from .exceptions import NonFiniteLossError
from .modules import EncoderClassifier, MLPEncoder

__all__ = [
    "ArrayBatches",
    "DistillerNet",
    "StudentRows",
    "WarmUp",
    "build_student",
    "make_net",
    "student_module",
    "student_net",
    "whole_batch",
]


class StudentRows(torch.utils.data.Dataset):
    """Training rows, each with its index and one of its nearest neighbours drawn afresh.

    Items are ``({"X": row, "row": index, "neighbor": ..., "weight": ...}, y)``;
    the net hands ``"row"`` (terms that keep something per row, such as
    feature alignment's targets, :class:`~skcmkd.terms.FeatureAlignment`) and
    ``"weight"`` (the sample weight of the row's cross-entropy) to the loss,
    not to the module.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        Standardised student rows.
    y : ndarray of shape (n_samples,)
        Class codes, ``-1`` for unlabelled rows.
    neighbors : ndarray of shape (n_samples, k) or None
        Indices of each row's nearest neighbours; ``None``: items carry no
        neighbour.
    seed : int, default=0
        Seeds the draws of neighbours.
    weights : ndarray of shape (n_samples,) or None, default=None
        Sample weights; ``None``: items carry none (an unweighted fit).
    """

    def __init__(self, X, y, neighbors=None, seed=0, weights=None):
        self.X = torch.as_tensor(X)
        self.y = torch.as_tensor(y)
        self.neighbors = None if neighbors is None else torch.as_tensor(neighbors)
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        item = {"X": self.X[i], "row": torch.as_tensor(i)}
        if self.weights is not None:
            item["weight"] = self.weights[i]
        if self.neighbors is not None:
            pick = torch.randint(self.neighbors.shape[1], (), generator=self.generator)
            item["neighbor"] = self.X[self.neighbors[i, pick]]
        return item, self.y[i]

    def __getitems__(self, indices):
        """A whole batch in one indexing, already collated (pair it with :func:`whole_batch`).

        torch's ``DataLoader`` asks for batches this way when a dataset has
        the method. Fetching and collating row by row cost more than the
        student's own step; the neighbours drawn are the same as row by row.
        A loader over these rows therefore needs :func:`whole_batch` as its
        ``collate_fn`` (the net sets it); a ``collate_fn`` of your own
        (``iterator_train__collate_fn``) receives the collated batch.
        """
        rows = torch.as_tensor(indices)
        batch = {"X": self.X[rows], "row": rows}
        if self.weights is not None:
            batch["weight"] = self.weights[rows]
        if self.neighbors is not None:
            picks = torch.randint(self.neighbors.shape[1], (len(rows),), generator=self.generator)
            batch["neighbor"] = self.X[self.neighbors[rows, picks]]
        return batch, self.y[rows]


def whole_batch(batch):
    """The ``collate_fn`` for :meth:`StudentRows.__getitems__`: the batch is collated already."""
    return batch


class ArrayBatches:
    """skorch's ``iterator_valid`` for inference: slices of the rows, not one row at a time.

    skorch's default ``DataLoader`` fetches and collates each row apart,
    which costs more than the student's forward pass. Prediction data is one
    in-memory array (skorch wraps it in its ``Dataset``), so batches are
    plain slices of it; any other dataset goes through a ``DataLoader``.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch Dataset
    batch_size : int, default=65536
    **kwargs
        Passed to the ``DataLoader`` fallback.
    """

    def __init__(self, dataset, batch_size=65536, **kwargs):
        self.dataset = dataset
        self.batch_size = batch_size
        self.kwargs = kwargs

    def __iter__(self):
        X = getattr(self.dataset, "X", None)
        if not isinstance(X, (np.ndarray, torch.Tensor)):
            yield from torch.utils.data.DataLoader(
                self.dataset, batch_size=self.batch_size, **self.kwargs
            )
            return
        for start in range(0, len(X), self.batch_size):
            yield torch.as_tensor(X[start : start + self.batch_size]), None

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)


class WarmUp(Callback):
    """Grow every term's weight linearly over the first ``epochs`` epochs.

    In epoch ``e`` (from 1) the criterion's ``factor`` is
    ``min(1, e / epochs)``: ``1 / epochs`` of the full weights in the first
    epoch, all of them from epoch ``epochs`` on.

    Parameters
    ----------
    epochs : int
        Length of the warm-up; ``0``: full weights from the start.
    """

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # the net opened this epoch's row already
        net.criterion_.factor = min(1.0, epoch / self.epochs) if self.epochs > 0 else 1.0


class DistillerNet(NeuralNet):
    """skorch net whose criterion is the distillation loss.

    Each term the criterion computed in a training batch is recorded under
    its name (``"ce"`` for the cross-entropy, the term's ``name`` for the
    others) and averaged per epoch in the history; a term that was not
    computed (its weight is zero) is not recorded.
    """

    def get_default_callbacks(self):
        names = ["ce", *(term.name for term in self.get_params_for("criterion").get("terms", ()))]
        terms = [(name, PassthroughScoring(name=name, on_train=True)) for name in names]
        return [*super().get_default_callbacks(), *terms]

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.criterion_.reset()
        self.criterion_.epoch = 0

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid)
        self.criterion_.epoch = (self.criterion_.epoch or 0) + 1

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.criterion_.reset()  # what the terms kept per row is not part of the model

    def infer(self, x, **fit_params):
        """The module's output; a batch's row indices and weights go to the loss, not the module."""
        if isinstance(x, Mapping) and ("row" in x or "weight" in x):
            x = {key: value for key, value in x.items() if key not in ("row", "weight")}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        rows = X.get("row") if isinstance(X, Mapping) else None
        weights = X.get("weight") if isinstance(X, Mapping) else None
        loss = self.criterion_(y_pred, y_true, rows=rows, weights=weights)
        terms = self.criterion_.terms_
        if not torch.isfinite(loss):
            bad = [name for name, value in terms.items() if not torch.isfinite(value)]
            raise NonFiniteLossError(_non_finite_message(bad, self.criterion_.terms))
        if training:
            for name, value in terms.items():
                self.history.record_batch(name, value.item())
        return loss


def build_student(module, n_features, latent_dim, n_classes, head_init=None, **module_params):
    """The student: an encoder (``module``, default MLPEncoder) and a linear head."""
    encoder = (module or MLPEncoder)(n_features=n_features, latent_dim=latent_dim, **module_params)
    _check_encoder_width(encoder, n_features, latent_dim)
    return EncoderClassifier(encoder, latent_dim, n_classes, head_init=head_init)


def student_module(estimator, n_features, n_classes, *, head_init=None):
    """A :class:`~skcmkd.CrossModalDistiller`'s student module, from its parameters.

    :func:`build_student` in the teacher's latent space when the estimator
    has a teacher, with its ``module__*`` parameters.
    """
    params = estimator.get_params(deep=False)
    teacher = params["teacher"]
    module_params = {
        key[len("module__") :]: value for key, value in params.items() if key.startswith("module__")
    }
    return build_student(
        params["module"],
        n_features,
        params["latent_dim"] if teacher is None else teacher.latent_dim_,
        n_classes,
        head_init=head_init,
        **module_params,
    )


def student_net(
    estimator,
    n_features,
    n_classes,
    *,
    head_init=None,
    loss=None,
    seed=0,
    callbacks=(),
    module=None,
    criterion=DistillationLoss,
):
    """The skorch net of a :class:`~skcmkd.CrossModalDistiller`'s student, untrained.

    Built from the estimator's parameters (its prefixed ``**kwargs``
    included): the student module (:func:`student_module`, unless ``module``
    is given) and the net around it (:func:`make_net`) with the estimator's
    callbacks and warm-up.
    """
    params = estimator.get_params(deep=False)
    net_params = {
        key: value
        for key, value in params.items()
        if "__" in key and not key.startswith("module__")
    }
    if module is None:
        module = student_module(estimator, n_features, n_classes, head_init=head_init)
    return make_net(
        module,
        loss=loss,
        seed=seed,
        warmup_epochs=params["warmup_epochs"],
        callbacks=[*(params["callbacks"] or []), *callbacks],
        criterion=criterion,
        optimizer=params["optimizer"],
        lr=params["lr"],
        max_epochs=params["max_epochs"],
        batch_size=params["batch_size"],
        device=params["device"],
        verbose=params["verbose"],
        **net_params,
    )


def make_net(
    module,
    *,
    loss=None,
    seed=0,
    warmup_epochs=0,
    callbacks=(),
    criterion=DistillationLoss,
    **params,
):
    """The skorch net around a student module.

    ``loss`` holds the criterion's parameters (:class:`DistillationLoss`),
    ``params`` skorch's, prefixed ones included (``optimizer``, ``lr``,
    ``max_epochs``, ``batch_size``, ``device``, ``verbose``,
    ``optimizer__*``, ``criterion__*``, ``iterator_train__*``...), routed by
    skorch and taking precedence over ours; ``seed`` seeds the shuffling.
    """
    defaults = {
        "iterator_train__shuffle": True,
        "iterator_train__generator": torch.Generator().manual_seed(int(seed)),
        "iterator_train__collate_fn": whole_batch,  # StudentRows gives whole batches
        "iterator_valid": ArrayBatches,
        "iterator_valid__batch_size": 65536,  # inference: rows are cheap, calls are not
        **{f"criterion__{k}": v for k, v in (loss or {}).items()},
    }
    return DistillerNet(
        module,
        criterion=criterion,
        train_split=None,
        callbacks=[*([("warm_up", WarmUp(warmup_epochs))] if warmup_epochs else []), *callbacks],
        **{**defaults, **params},
    )


def _check_encoder_width(encoder, n_features, latent_dim):
    """Fail early, and clearly, when a custom encoder's output does not fit the head."""
    training = encoder.training
    encoder.eval()  # no dropout: the check draws nothing from the seeded generator
    with torch.no_grad():
        shape = tuple(encoder(torch.zeros(2, n_features)).shape)
    encoder.train(training)
    if shape != (2, latent_dim):
        raise ValueError(
            f"The student module maps (2, {n_features}) inputs to shape {shape}, but the "
            f"latent space has width {latent_dim} (the teacher's, or `latent_dim`). Make the "
            "module's output width its `latent_dim` constructor argument."
        )


def _non_finite_message(names, terms):
    titles = {"ce": "cross-entropy", **{term.name: term.title for term in terms}}
    fixes = {
        "ce": "the student inputs may hold huge values or the learning rate `lr` is too large",
        **{term.name: term.fix for term in terms},
    }
    names = names or ["total"]
    what = ", ".join(f"{name}: {titles[name]}" for name in names if name in titles)
    advice = "; ".join(f"{name}: {fixes.get(name, 'lower `lr`')}" for name in names)
    return (
        f"The loss term(s) {names} became NaN or infinite during training"
        + (f" ({what})" if what else "")
        + f". Likely fix: {advice}. The estimator was left as it was before this fit."
    )
