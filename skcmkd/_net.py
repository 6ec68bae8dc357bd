"""The skorch net that trains the student with the alignment-aware loss."""

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring

from .alignment import (
    feature_alignment,
    joint_embedding,
    label_alignment,
    masked_cross_entropy,
    neighbor_consistency,
    prior_shift_correction,
)
from .exceptions import NonFiniteLossError

#: Names under which the three loss terms are recorded in the history.
LOSS_TERMS = ("ce", "fa", "la", "nc")

# Rebuilt on load rather than pickled: the teacher already holds these as
# numpy arrays (a pickle would hold the bank twice), and tensors or a
# generator saved on a GPU could not be loaded on a machine without one.
_REBUILT_ON_LOAD = (
    "bank_",
    "bank_labels_",
    "teacher_weight_",
    "teacher_bias_",
    "prior_ratio_",
    "generator_",
)
# Dropped from pickles and after training: the scaled training rows and
# their neighbour table, which only the neighbour-consistency term reads.
_TRAINING_ONLY = ("neighbors_",)


class DistillerNet(NeuralNet):
    """skorch net whose loss adds feature and label alignment to a teacher.

    The module returns ``(logits, z)``. ``get_loss`` adds to the masked
    cross-entropy of the labelled rows (``y == -1`` marks unlabelled ones)
    ``feature_weight`` times the Wasserstein distance between the batch of
    student embeddings and a batch drawn from the teacher's bank, and
    ``label_weight`` times the KL divergence from the teacher head at the
    student embeddings to the student's prediction, and
    ``neighbor_weight`` times the neighbour consistency of the embeddings
    (a row's embedding against one of its nearest neighbours' in the input
    space). Each term is recorded per batch under ``"ce"``, ``"fa"``,
    ``"la"`` and ``"nc"`` and averaged per epoch.

    ``y`` may carry the row's index in a second column; the neighbour term
    needs it to look up the row's neighbours in ``neighbors_``, a pair
    ``(X, table)`` of the training inputs and their ``(n_samples, k)``
    neighbour indices set before :meth:`fit` and dropped after it.

    Parameters
    ----------
    teacher : skcmkd.Teacher or None
        The fitted teacher; ``None`` trains the student alone.
    alignment : dict
        ``feature_weight``, ``label_weight``, ``solver``, ``reg``,
        ``n_projections``, ``label_cost``, ``prior_ratio`` (array of
        :math:`\\pi_S / \\pi_T`), ``teacher_batch_size``, ``warmup_epochs``,
        ``neighbor_weight``, ``unlabelled_share`` (share of the student rows
        labelled ``-1``, which scales ``feature_weight`` and
        ``neighbor_weight``) and ``seed``.
    """

    def __init__(self, module, *args, teacher=None, alignment=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.teacher = teacher
        self.alignment = alignment

    def get_default_callbacks(self):
        terms = [(f"{name}", PassthroughScoring(name=name, on_train=True)) for name in LOSS_TERMS]
        return [*super().get_default_callbacks(), *terms]

    def initialize(self):
        super().initialize()
        self._init_generator()
        self._init_teacher_tensors()
        return self

    def __getstate__(self):
        state = super().__getstate__()
        for name in (*_REBUILT_ON_LOAD, *_TRAINING_ONLY):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        # skorch maps the module to this machine's device (CPU if the model
        # was saved on a GPU this machine lacks); the teacher tensors follow.
        super().__setstate__(state)
        if self.initialized_:
            self._init_generator()
            self._init_teacher_tensors()

    def _init_generator(self):
        settings = self.alignment or {}
        # On the net's device, so that drawing teacher rows and slicing
        # directions moves nothing between host and GPU.
        self.generator_ = torch.Generator(device=self.device)
        self.generator_.manual_seed(int(settings.get("seed", 0)))

    def _init_teacher_tensors(self):
        settings = self.alignment or {}
        if self.teacher is None:
            self.bank_ = None
            return
        teacher = self.teacher
        # from_numpy shares memory with the bank (a read-only memory map
        # included: nothing writes to it): no copy on the CPU.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            self.bank_ = torch.from_numpy(teacher.bank_).to(self.device)
        self.bank_labels_ = torch.from_numpy(teacher.bank_labels_).to(self.device)
        weight, bias = teacher.head_params()
        self.teacher_weight_ = weight.to(self.device)
        self.teacher_bias_ = bias.to(self.device)
        ratio = settings.get("prior_ratio")
        n_classes = len(teacher.classes_)
        ratio = np.ones(n_classes) if ratio is None else np.asarray(ratio)
        self.prior_ratio_ = torch.as_tensor(ratio, dtype=torch.float32, device=self.device)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # The model keeps no copy of its training rows.
        for name in _TRAINING_ONLY:
            vars(self).pop(name, None)

    def _neighbor_term(self, z, rows):
        """Neighbour consistency of the batch rows ``rows`` (training-set indices)."""
        X_train, table = self.neighbors_
        pick = torch.randint(
            table.shape[1], (len(rows),), generator=self.generator_, device=self.generator_.device
        )
        neighbors = table[rows.to(table.device), pick.to(table.device)]
        _, z_neighbors = self.module_(X_train[neighbors].to(z.device))
        # the feature-alignment cost's scale; without a teacher, that of two
        # independent standard normal embeddings
        scale = self.teacher.cost_scale_ if self.teacher is not None else 2.0 * z.shape[1]
        return neighbor_consistency(z, z_neighbors, scale=scale)

    def _warmup_factor(self):
        warmup = self.alignment.get("warmup_epochs", 0)
        if warmup <= 0:
            return 1.0
        return min(1.0, len(self.history) / warmup)

    def _teacher_probs(self, z):
        """Prior-corrected teacher head at the embeddings ``z``, detached."""
        with torch.no_grad():
            probs = torch.softmax(F.linear(z, self.teacher_weight_, self.teacher_bias_), dim=1)
            return prior_shift_correction(probs, self.prior_ratio_)

    def alignment_terms(self, logits, z, y):
        """The feature and label alignment terms for one student batch."""
        settings = self.alignment
        n_classes = logits.shape[1]
        q = self._teacher_probs(z)
        label_alignment_term = label_alignment(logits, q)

        size = settings.get("teacher_batch_size") or len(z)
        idx = torch.randint(
            len(self.bank_), (size,), generator=self.generator_, device=self.generator_.device
        )
        z_t, y_t = self.bank_[idx].to(z.dtype), self.bank_labels_[idx]
        b = self.prior_ratio_[y_t]
        b = b / b.sum()
        # Labelled rows bring their one-hot label into the cost; unlabelled
        # ones the teacher head's prediction at their embedding.
        labelled = y >= 0
        label_s = torch.where(
            labelled[:, None], F.one_hot(y.clamp_min(0), n_classes).to(q.dtype), q
        )
        label_t = F.one_hot(y_t, n_classes).to(q.dtype)
        options = dict(label_cost=settings["label_cost"], scale=self.teacher.cost_scale_)
        feature_alignment_term = feature_alignment(
            joint_embedding(z, label_s, **options),
            joint_embedding(z_t, label_t, **options),
            solver=settings["solver"],
            b=b,
            reg=settings["reg"],
            n_projections=settings["n_projections"],
            generator=self.generator_,
        )
        return feature_alignment_term, label_alignment_term

    def get_loss(self, y_pred, y_true, X=None, training=False):
        logits, z = y_pred
        y = torch.as_tensor(y_true, device=logits.device).long()
        rows = None
        if y.ndim == 2:  # class code, row index
            y, rows = y[:, 0], y[:, 1]
        ce = masked_cross_entropy(logits, y)
        zero = torch.zeros((), device=logits.device)
        settings = self.alignment or {}
        # Spent in proportion to the rows without a label: with every row
        # labelled the labels say more than the teacher's geometry or the
        # neighbours, and aligning cost accuracy (docs/design.md).
        share = settings.get("unlabelled_share", 0.0)
        neighbor_weight = settings.get("neighbor_weight", 0.0) * share
        # Every term but the cross-entropy warms up: aligning or pulling
        # together the embeddings of an untrained encoder is noise (and a
        # strong neighbour term alone would collapse them before the labels
        # have spread them out).
        factor = self._warmup_factor() if settings else 1.0
        nc = zero
        if training and neighbor_weight > 0 and rows is not None and hasattr(self, "neighbors_"):
            nc = self._neighbor_term(z, rows)
        total = ce + factor * neighbor_weight * nc
        fa = la = zero
        if self.teacher is not None:
            fa, la = self.alignment_terms(logits, z, y)
            feature_weight = settings["feature_weight"] * share
            total = total + factor * feature_weight * fa + factor * settings["label_weight"] * la
        terms = {"ce": ce, "fa": fa, "la": la, "nc": nc}
        if not torch.isfinite(total):
            bad = [name for name, value in terms.items() if not torch.isfinite(value)]
            raise NonFiniteLossError(_non_finite_message(bad or ["total"]))
        if training:
            for name, value in terms.items():
                self.history.record_batch(name, value.item())
        return total


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
