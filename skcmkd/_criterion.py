"""The distillation loss as one torch criterion: the cross-entropy plus a list of terms."""

import warnings

import numpy as np
import torch
from torch import nn

from .alignment import masked_cross_entropy
from .terms import Step, TeacherBatch

__all__ = ["DistillationLoss", "check_terms"]

#: History keys the net uses itself; no term may take them.
RESERVED_NAMES = ("ce", "total", "train_loss", "valid_loss", "epoch", "batches", "dur")


class DistillationLoss(nn.Module):
    """Cross-entropy on the labelled rows plus the weighted terms.

    The student module returns ``(logits, z)``, or ``(logits, z, z_neighbors)``
    when each row comes with one of its input-space neighbours. The loss is

        ce + factor * sum(term.weight * term(step) for term in terms)

    where ``factor`` is the warm-up's (set by
    :class:`~skcmkd._net.WarmUp`; 1 without one). A term whose weight is zero,
    or that needs a teacher or neighbours the step does not have, is not
    computed. The terms computed in the last call are in ``terms_``
    (detached), for the history.

    Parameters
    ----------
    terms : sequence of LossTerm, default=()
        The terms (:mod:`skcmkd.terms`), with their weights for this fit.
    target : TeacherTarget or None
        What the student aligns to (:meth:`skcmkd.Teacher.alignment_target`);
        ``None``: no teacher, so no term that needs one.
    prior_ratio : sequence of float or None
        :math:`\\pi_S / \\pi_T` per class (``prior_correction=True``):
        corrects the teacher head and weights the teacher batch; ``None``: no
        correction.
    teacher_batch_size : int or None
        Teacher embeddings drawn per step; ``None``: as many as student rows.
    seed : int
        Seeds the teacher draws and any random draw of a term.

    Attributes
    ----------
    epoch : int or None
        The epoch of the fit in progress, from 1 (set by
        :class:`~skcmkd._net.DistillerNet`); ``None`` outside a fit.
    terms_ : dict
        The values of the last call, detached.

    Calls take ``(y_pred, y_true, rows=None)``: ``rows`` are the batch rows'
    indices in the training set, which terms that keep something per row
    read (:attr:`skcmkd.terms.Step.rows`).
    """

    def __init__(self, *, terms=(), target=None, prior_ratio=None, teacher_batch_size=256, seed=0):
        super().__init__()
        self.terms = nn.ModuleList(check_terms(terms))
        self.target = target
        self.prior_ratio = prior_ratio
        self.teacher_batch_size = teacher_batch_size
        self.seed = seed
        self.factor = 1.0  # the warm-up's
        self.epoch = None  # the net's, from 1 in each fit (DistillerNet)
        self.terms_ = {}
        self._sampler = _TeacherSampler(target, prior_ratio, teacher_batch_size, seed)

    def active_terms(self):
        """The terms this fit computes: nonzero weight, and a teacher where one is needed."""
        return [
            term
            for term in self.terms
            if term.weight > 0 and (self.target is not None or not term.needs_teacher)
        ]

    def reset(self):
        """Forget what the terms kept from earlier steps, and the epoch (a fit starts or ends)."""
        self.epoch = None
        for term in self.terms:
            term.reset()

    def forward(self, y_pred, y_true, rows=None, weights=None):
        """The loss of one batch.

        ``rows``: the batch rows' indices in the training set; ``weights``:
        their sample weights (``None``: unweighted), which weigh the
        cross-entropy of the labelled rows.
        """
        logits = y_pred[0]
        y = torch.as_tensor(y_true, device=logits.device).long()
        ce = masked_cross_entropy(logits, y, weights)
        added, terms = self.terms_loss(y_pred, y, rows)
        self.terms_ = {"ce": ce.detach(), **terms}
        return ce + added

    def terms_loss(self, y_pred, y, rows=None):
        """The weighted sum of the terms (no cross-entropy), and each term's value (detached)."""
        logits, z, *rest = y_pred
        neighbors = rest[0] if rest else None
        rows = None if rows is None else torch.as_tensor(rows, device=logits.device)
        step = Step(logits, z, y, neighbors, self.target, self._sampler, rows, self.epoch)
        terms, loss = {}, 0.0
        for term in self.active_terms():
            if term.needs_neighbors and step.z_neighbors is None:
                continue
            value = term(step)
            terms[term.name] = value.detach()
            loss = loss + (self.factor * term.weight) * value
        return loss, terms


def check_terms(terms):
    """The terms as a list, each a LossTerm with a name no other term or the net takes."""
    from .terms import LossTerm

    terms = list(terms)
    names = []
    for term in terms:
        if not isinstance(term, LossTerm):
            raise TypeError(
                f"Loss terms must be skcmkd.terms.LossTerm instances; got {term!r}. Subclass "
                "LossTerm (docs/design.md, 'How to add a loss term')."
            )
        if not isinstance(term.name, str) or not term.name or term.name in RESERVED_NAMES:
            raise ValueError(
                f"The loss term {type(term).__name__} has name {term.name!r}; give it a "
                f"non-empty string name other than {list(RESERVED_NAMES)} (its history key)."
            )
        names.append(term.name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"Two loss terms share the name(s) {repeated}; each term's name is its history "
            "key and must be unique. Rename the class attribute `name` of your term."
        )
    return terms


class _TeacherSampler:
    """The teacher bank on the embeddings' device, and the seeded draws from it.

    Tensors and the generator are built on first use, on the embeddings'
    device, and never pickled: the target already holds the bank as NumPy
    (a pickle would hold it twice), and a GPU tensor or generator could not
    be loaded on a machine without one.
    """

    def __init__(self, target, prior_ratio, batch_size, seed):
        self.target = target
        self.prior_ratio = prior_ratio
        self.batch_size = batch_size
        self.seed = seed
        self._tensors = None
        self._generator = None

    def __getstate__(self):
        return {**self.__dict__, "_tensors": None, "_generator": None}

    def generator(self, device):
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(int(self.seed))
        return self._generator

    def tensors(self, device):
        if self._tensors is None or self._tensors["bank"].device != device:
            target = self.target
            with warnings.catch_warnings():  # a read-only memory map: nothing writes to it
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                bank = torch.from_numpy(target.bank).to(device)
            n_classes = len(target.head_bias)
            ratio = np.ones(n_classes) if self.prior_ratio is None else self.prior_ratio
            self._tensors = {
                "bank": bank,
                "labels": torch.from_numpy(target.labels).to(device),
                "weight": target.head_weight.to(device),
                "bias": target.head_bias.to(device),
                "ratio": torch.as_tensor(ratio, dtype=torch.float32, device=device),
                "shift": None
                if target.shift is None
                else torch.from_numpy(target.shift).to(device),
            }
            self.generator(device)  # a new device: draws start afresh from the seed
        return self._tensors

    def draw(self, z):
        """A teacher batch for the student embeddings ``z``."""
        tensors = self.tensors(z.device)
        size = self.batch_size or len(z)
        idx = torch.randint(
            len(tensors["bank"]), (size,), generator=self.generator(z.device), device=z.device
        )
        labels = tensors["labels"][idx]
        z_t = tensors["bank"][idx].to(z.dtype)
        if tensors["shift"] is not None:
            z_t = z_t + tensors["shift"][labels]
        weights = tensors["ratio"][labels]
        return TeacherBatch(z_t, labels, weights / weights.sum())
