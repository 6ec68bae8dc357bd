"""The distillation loss as one torch criterion: the terms, their weights, their schedule."""

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .alignment import (
    feature_alignment,
    joint_embedding,
    label_alignment,
    masked_cross_entropy,
    neighbor_consistency,
    prior_shift_correction,
)

__all__ = ["DistillationLoss", "LOSS_TERMS"]

#: The history keys of the four terms: cross-entropy, feature alignment,
#: label alignment, neighbour consistency.
LOSS_TERMS = ("ce", "fa", "la", "nc")


class DistillationLoss(nn.Module):
    """Cross-entropy on the labelled rows plus the weighted alignment terms.

    The student module returns ``(logits, z)``, or ``(logits, z, z_neighbors)``
    when each row comes with one of its input-space neighbours. The loss is

        ce + w_fa * fa + w_la * la + w_nc * nc

    (:mod:`skcmkd.alignment` computes each term). Every weight but the
    cross-entropy's grows linearly over the first ``warmup_epochs`` epochs,
    from ``1 / warmup_epochs`` at the first to its full value; a term whose
    weight is zero is not computed (no transport solve is paid for it). The
    terms computed in the last call are in ``terms_`` (detached), for the
    history.

    Parameters
    ----------
    target : TeacherTarget or None
        What the student aligns to (:meth:`skcmkd.Teacher.target`); ``None``:
        no teacher, so no feature or label alignment.
    feature_weight, label_weight, neighbor_weight : float
        Full weights of the three terms.
    solver, reg, n_projections, label_cost
        Feature alignment: see :func:`skcmkd.alignment.feature_alignment`
        and :func:`skcmkd.alignment.joint_embedding`.
    prior_ratio : sequence of float or None
        :math:`\\pi_S / \\pi_T` per class (``kappa="prior"``): corrects the
        teacher head and weights the teacher batch; ``None``: no correction.
    teacher_batch_size : int or None
        Teacher embeddings drawn per step; ``None``: as many as student rows.
    warmup_epochs : int
        Length of the linear warm-up; ``0``: full weights from the start.
    seed : int
        Seeds the teacher draws and the sliced directions.
    """

    def __init__(
        self,
        *,
        target=None,
        feature_weight=0.0,
        label_weight=0.0,
        neighbor_weight=0.0,
        solver="emd",
        reg=0.05,
        n_projections=50,
        label_cost=1.0,
        prior_ratio=None,
        teacher_batch_size=256,
        warmup_epochs=0,
        seed=0,
    ):
        super().__init__()
        self.target = target
        self.feature_weight = feature_weight
        self.label_weight = label_weight
        self.neighbor_weight = neighbor_weight
        self.solver = solver
        self.reg = reg
        self.n_projections = n_projections
        self.label_cost = label_cost
        self.prior_ratio = prior_ratio
        self.teacher_batch_size = teacher_batch_size
        self.warmup_epochs = warmup_epochs
        self.seed = seed
        self.epoch = 1  # set by the net at the start of every epoch
        self.terms_ = {}

    # Tensors and the generator are built on first use, on the embeddings'
    # device, and never pickled: the target already holds the bank as NumPy
    # (a pickle would hold it twice), and a GPU tensor or generator could not
    # be loaded on a machine without one.
    _ON_DEVICE = ("_tensors", "_generator")

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in self._ON_DEVICE:
            state.pop(name, None)
        return state

    def weights(self):
        """The weights of this epoch, after the warm-up."""
        factor = 1.0
        if self.warmup_epochs > 0:
            factor = min(1.0, self.epoch / self.warmup_epochs)
        return {
            "fa": factor * self.feature_weight if self.target is not None else 0.0,
            "la": factor * self.label_weight if self.target is not None else 0.0,
            "nc": factor * self.neighbor_weight,
        }

    def forward(self, y_pred, y_true):
        logits, z, *rest = y_pred
        z_neighbors = rest[0] if rest else None
        y = torch.as_tensor(y_true, device=logits.device).long()
        weights = self.weights()
        terms = {"ce": masked_cross_entropy(logits, y)}
        if weights["nc"] > 0 and z_neighbors is not None:
            terms["nc"] = neighbor_consistency(z, z_neighbors, scale=self._scale(z))
        if weights["fa"] > 0 or weights["la"] > 0:
            q = self._teacher_probs(z)
            if weights["la"] > 0:
                terms["la"] = label_alignment(logits, q)
            if weights["fa"] > 0:
                terms["fa"] = self._feature_alignment(z, y, q)
        self.terms_ = {name: value.detach() for name, value in terms.items()}
        return sum(
            value if name == "ce" else weights[name] * value for name, value in terms.items()
        )

    # -- pieces ---------------------------------------------------------------

    def _scale(self, z):
        # the feature-alignment cost's scale; without a teacher, that of two
        # independent standard normal embeddings
        return self.target.cost_scale if self.target is not None else 2.0 * z.shape[1]

    def _device_state(self, device):
        tensors = getattr(self, "_tensors", None)
        if tensors is None or tensors["bank"].device != device:
            target = self.target
            with warnings.catch_warnings():  # a read-only memory map: nothing writes to it
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                bank = torch.from_numpy(target.bank).to(device)
            n_classes = len(target.head_bias)
            ratio = np.ones(n_classes) if self.prior_ratio is None else self.prior_ratio
            tensors = {
                "bank": bank,
                "labels": torch.from_numpy(target.labels).to(device),
                "weight": target.head_weight.to(device),
                "bias": target.head_bias.to(device),
                "ratio": torch.as_tensor(ratio, dtype=torch.float32, device=device),
                "shift": None
                if target.shift is None
                else torch.from_numpy(target.shift).to(device),
            }
            self._tensors = tensors
            self._generator = torch.Generator(device=device).manual_seed(int(self.seed))
        return self._tensors

    def _teacher_probs(self, z):
        """Prior-corrected teacher head at the embeddings ``z``, detached."""
        tensors = self._device_state(z.device)
        with torch.no_grad():
            probs = torch.softmax(F.linear(z, tensors["weight"], tensors["bias"]), dim=1)
            return prior_shift_correction(probs, tensors["ratio"])

    def _feature_alignment(self, z, y, q):
        tensors = self._device_state(z.device)
        n_classes = q.shape[1]
        size = self.teacher_batch_size or len(z)
        idx = torch.randint(
            len(tensors["bank"]), (size,), generator=self._generator, device=z.device
        )
        y_t = tensors["labels"][idx]
        z_t = tensors["bank"][idx].to(z.dtype)
        if tensors["shift"] is not None:
            z_t = z_t + tensors["shift"][y_t]
        b = tensors["ratio"][y_t]
        b = b / b.sum()
        # Labelled rows bring their one-hot label into the cost; unlabelled
        # ones the teacher head's prediction at their embedding.
        labelled = y >= 0
        label_s = torch.where(
            labelled[:, None], F.one_hot(y.clamp_min(0), n_classes).to(q.dtype), q
        )
        label_t = F.one_hot(y_t, n_classes).to(q.dtype)
        options = dict(label_cost=self.label_cost, scale=self.target.cost_scale)
        return feature_alignment(
            joint_embedding(z, label_s, **options),
            joint_embedding(z_t, label_t, **options),
            solver=self.solver,
            b=b,
            reg=self.reg,
            n_projections=self.n_projections,
            generator=self._generator,
        )
