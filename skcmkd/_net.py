"""The skorch net that trains the student, and the rows it trains on.

The loss lives in :class:`~skcmkd._criterion.DistillationLoss`; this net only
tells it the epoch (for the warm-up), stops on a non-finite loss, and records
the terms in the history. Per-row extras travel in an ``X`` dict: each
training item is ``{"X": row, "neighbor": one of its neighbours}`` when the
neighbour term is on (:class:`StudentRows`), and the module embeds both.
"""

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring

from ._criterion import LOSS_TERMS, DistillationLoss
from .exceptions import NonFiniteLossError
from .modules import EncoderClassifier, MLPEncoder

__all__ = ["DistillerNet", "StudentRows", "build_student", "make_net"]


class StudentRows(torch.utils.data.Dataset):
    """Training rows, each with one of its nearest neighbours drawn afresh.

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
    """

    def __init__(self, X, y, neighbors=None, seed=0):
        self.X = torch.as_tensor(X)
        self.y = torch.as_tensor(y)
        self.neighbors = None if neighbors is None else torch.as_tensor(neighbors)
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        if self.neighbors is None:
            return {"X": self.X[i]}, self.y[i]
        pick = torch.randint(self.neighbors.shape[1], (), generator=self.generator)
        return {"X": self.X[i], "neighbor": self.X[self.neighbors[i, pick]]}, self.y[i]


class DistillerNet(NeuralNet):
    """skorch net whose criterion is the distillation loss.

    Each term the criterion computed in a training batch is recorded under
    its name (``"ce"``, ``"fa"``, ``"la"``, ``"nc"``) and averaged per epoch
    in the history; a term that was not computed (its weight is zero) is not
    recorded.
    """

    def get_default_callbacks(self):
        terms = [(name, PassthroughScoring(name=name, on_train=True)) for name in LOSS_TERMS]
        return [*super().get_default_callbacks(), *terms]

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.criterion_.epoch = len(self.history)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, y_true)
        terms = self.criterion_.terms_
        if not torch.isfinite(loss):
            bad = [name for name, value in terms.items() if not torch.isfinite(value)]
            raise NonFiniteLossError(_non_finite_message(bad or ["total"]))
        if training:
            for name, value in terms.items():
                self.history.record_batch(name, value.item())
        return loss


def build_student(module, n_features, latent_dim, n_classes, head_init=None, **module_params):
    """The student: an encoder (``module``, default MLPEncoder) and a linear head."""
    encoder = (module or MLPEncoder)(n_features=n_features, latent_dim=latent_dim, **module_params)
    _check_encoder_width(encoder, n_features, latent_dim)
    return EncoderClassifier(encoder, latent_dim, n_classes, head_init=head_init)


def make_net(module, *, loss=None, seed=0, callbacks=(), optimizer_params=None, **params):
    """The skorch net around a student module.

    ``loss`` holds the criterion's parameters (:class:`DistillationLoss`),
    ``params`` skorch's (``optimizer``, ``lr``, ``max_epochs``,
    ``batch_size``, ``device``, ``verbose``); ``seed`` seeds the shuffling.
    """
    return DistillerNet(
        module,
        criterion=DistillationLoss,
        train_split=None,
        callbacks=list(callbacks),
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(int(seed)),
        **{f"criterion__{k}": v for k, v in (loss or {}).items()},
        **{f"optimizer__{k}": v for k, v in (optimizer_params or {}).items()},
        **params,
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


_FIXES = {
    "ce": "the student inputs may hold huge values or the learning rate `lr` is too large",
    "fa": "lower `feature_weight` or `lr`; with solver='sinkhorn' raise `reg`",
    "la": "lower `label_weight` or `lr`",
    "nc": "lower `neighbor_weight` or `lr`",
    "total": "lower `lr`",
}


def _non_finite_message(names):
    fixes = "; ".join(f"{name}: {_FIXES[name]}" for name in names)
    return (
        f"The loss term(s) {names} became NaN or infinite during training "
        "(ce: cross-entropy, fa: feature alignment, la: label alignment, "
        "nc: neighbour consistency). "
        f"Likely fix: {fixes}. The estimator was left as it was before this fit."
    )
