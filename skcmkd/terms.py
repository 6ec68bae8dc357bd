"""The terms of the distillation loss as objects: what each needs, its weight, its fix.

The loss of a training step is the cross-entropy on the labelled rows plus,
for every term, ``weight * warm-up factor * term(step)``. A term is a small
:class:`torch.nn.Module` that says what it is and what it needs:

``name``
    its key in the training history (``"fa"``); unique within a loss;
``title``
    what the history column means, for logs, errors and plot legends;
``fix``
    what to change when the term turns NaN or infinite;
``needs_teacher``
    computed only when the distiller has a teacher;
``needs_neighbors``
    each row comes with one of its input-space neighbours
    (:attr:`Step.z_neighbors`), found once per fit;
``per_unlabeled_row``
    the weight is multiplied by the share of unlabelled rows: the term
    teaches through those rows, so a fully labelled fit trains as the
    student alone.

Every term's weight is also multiplied by the distiller's
``unlabeled_trust``. Its ``forward`` takes the :class:`Step` and returns a
scalar tensor; the numerical work lives in plain torch functions
(:mod:`skcmkd.alignment`), so a term stays a few lines. To add a term,
subclass :class:`LossTerm` and pass an instance in the distiller's
``terms`` parameter (``docs/design.md``, "How to add a loss term").
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .alignment import (
    class_means,
    feature_alignment,
    joint_embedding,
    label_alignment,
    matched_cost,
    neighbor_consistency,
    prior_shift_correction,
    relation_mismatch,
    transport_targets,
)

__all__ = [
    "LossTerm",
    "Step",
    "TeacherBatch",
    "FeatureAlignment",
    "LabelAlignment",
    "NeighborConsistency",
    "ClassRelations",
]


class LossTerm(nn.Module):
    """One weighted term of the distillation loss.

    Subclasses set the class attributes and implement :meth:`forward`.

    Parameters
    ----------
    weight : float, default=1.0
        The term's full weight, before the warm-up, the unlabelled share and
        the trust in the unlabelled rows.
    """

    name = None
    title = None
    fix = "lower its weight or `lr`"
    needs_teacher = False
    needs_neighbors = False
    per_unlabeled_row = True

    def __init__(self, weight=1.0):
        super().__init__()
        self.weight = weight

    def forward(self, step):
        """The term's value on one training step (a scalar tensor)."""
        raise NotImplementedError

    def reset(self):
        """Forget what earlier steps left (called when a fit starts and ends); nothing here."""

    def extra_repr(self):
        return f"weight={self.weight!r}"


class TeacherBatch:
    """Teacher embeddings drawn from the bank for one step (shared by every term).

    Attributes
    ----------
    z : Tensor of shape (m, latent_dim)
        The drawn embeddings, moved by their class's shift when the teacher's
        class arrangement is evened out.
    labels : Tensor of shape (m,)
        Their class codes.
    weights : Tensor of shape (m,)
        Their masses, summing to one (uniform, or corrected for the student's
        class priors).
    """

    def __init__(self, z, labels, weights):
        self.z = z
        self.labels = labels
        self.weights = weights


class Step:
    """What a term sees of one training step.

    Attributes
    ----------
    logits : Tensor of shape (n, n_classes)
        The student's logits.
    z : Tensor of shape (n, latent_dim)
        The student's embeddings.
    y : Tensor of shape (n,)
        Class codes, ``-1`` for unlabelled rows.
    z_neighbors : Tensor of shape (n, latent_dim) or None
        The embedding of one input-space neighbour of each row, when a term
        ``needs_neighbors``.
    teacher : skcmkd.TeacherTarget or None
        The teacher as the loss sees it; ``None`` without a teacher.
    generator : torch.Generator
        The seeded generator of this fit, for any random draw of a term.
    rows : Tensor of shape (n,) or None
        Each row's index in the training set (:class:`skcmkd._net.StudentRows`);
        ``None`` where the batch does not say.
    epoch : int or None
        The training epoch, from 1 in each fit; ``None`` outside a fit.
    """

    def __init__(self, logits, z, y, z_neighbors, teacher, sampler, rows=None, epoch=None):
        self.logits = logits
        self.z = z
        self.y = y
        self.z_neighbors = z_neighbors
        self.teacher = teacher
        self.rows = rows
        self.epoch = epoch
        self._sampler = sampler
        self._teacher_probs = None
        self._teacher_batch = None

    @property
    def generator(self):
        return self._sampler.generator(self.z.device)

    @property
    def n_classes(self):
        return self.logits.shape[1]

    def teacher_probs(self):
        """The teacher head at the student's embeddings (prior-corrected, detached)."""
        if self._teacher_probs is None:
            tensors = self._sampler.tensors(self.z.device)
            with torch.no_grad():
                logits = F.linear(self.z, tensors["weight"], tensors["bias"])
                probs = torch.softmax(logits, dim=1)
                self._teacher_probs = prior_shift_correction(probs, tensors["ratio"])
        return self._teacher_probs

    def teacher_batch(self):
        """Teacher embeddings drawn from the bank, once per step (:class:`TeacherBatch`)."""
        if self._teacher_batch is None:
            self._teacher_batch = self._sampler.draw(self.z)
        return self._teacher_batch

    def label_probs(self):
        """One-hot labels on labelled rows, the teacher head's prediction elsewhere."""
        labelled = self.y >= 0
        q = self.teacher_probs()
        one_hot = F.one_hot(self.y.clamp_min(0), self.n_classes).to(q.dtype)
        return torch.where(labelled[:, None], one_hot, q)


class FeatureAlignment(LossTerm):
    """Optimal transport between the student's and the teacher's embeddings, with labels.

    The exact (or entropic, or sliced) transport cost between the student
    batch and a teacher batch, on the label-aware cost
    :math:`\\|z - z'\\|^2 / s + \\beta\\,[y \\ne y']`
    (:func:`skcmkd.alignment.joint_embedding`,
    :func:`skcmkd.alignment.feature_alignment`).

    The transport is solved in one epoch of every ``transport_every``. In
    that epoch each batch is matched to a fresh teacher batch and every row
    keeps its share of the plan: a barycentric target and a spread
    (:func:`skcmkd.alignment.transport_targets`). In the epochs between, a
    row's term is its distance to that target
    (:func:`skcmkd.alignment.matched_cost`): the cost of its last plan at its
    current embedding (with the labels of unlabelled rows as they were at
    the solve), with that cost's gradient, and no solve. The teacher
    bank is fixed and the embeddings move slowly, so the plan goes stale
    slowly; ``transport_every=1`` solves at every step.

    Parameters
    ----------
    weight : float, default=1.0
    solver : {"emd", "sinkhorn", "sliced"}, default="emd"
    reg : float, default=0.05
        Entropic regularisation of ``"sinkhorn"``.
    n_projections : int, default=50
        Directions of ``"sliced"``.
    label_cost : float, default=1.0
        :math:`\\beta`; ``0`` aligns the marginals only.
    transport_every : int, default=1
        Solve the transport in epochs ``1, 1 + k, 1 + 2k, ...`` for ``k =
        transport_every``; ``1`` (this class's default) solves at every step,
        :class:`~skcmkd.CrossModalDistiller` builds the term with its own
        ``transport_every`` (10). The sliced distance has no plan to keep and
        is computed at every step. Steps that do not say which rows they hold
        (:attr:`Step.rows`) solve every time. Between solves the history's
        ``"fa"`` is the kept plans' cost at the current embeddings: at least
        the cost a fresh solve would find, so it drops back at each solve.
    """

    name = "fa"
    title = "feature alignment"
    fix = "lower `feature_weight` or `lr`; with solver='sinkhorn' raise `reg`"
    needs_teacher = True

    def __init__(
        self,
        weight=1.0,
        *,
        solver="emd",
        reg=0.05,
        n_projections=50,
        label_cost=1.0,
        transport_every=1,
    ):
        super().__init__(weight)
        self.solver = solver
        self.reg = reg
        self.n_projections = n_projections
        self.label_cost = label_cost
        self.transport_every = transport_every
        self.reset()

    def reset(self):
        """Forget the kept targets (a new fit, or its end: the model does not pickle them)."""
        self._targets = self._spread = self._solved_in = None

    def __getstate__(self):
        # A pickle taken mid-fit (a checkpoint, a copy after an error) holds no kept targets.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        return {**state, "_targets": None, "_spread": None, "_solved_in": None}

    def transport_inputs(self, step):
        """What the solver receives: both joint embeddings and the teacher masses."""
        batch = step.teacher_batch()
        label_t = F.one_hot(batch.labels, step.n_classes).to(step.z.dtype)
        options = dict(label_cost=self.label_cost, scale=step.teacher.cost_scale)
        return (
            joint_embedding(step.z, step.label_probs(), **options),
            joint_embedding(batch.z, label_t, **options),
            batch.weights,
        )

    def forward(self, step):
        if self.solver == "sliced":
            z_student, z_teacher, b = self.transport_inputs(step)
            return feature_alignment(
                z_student,
                z_teacher,
                solver="sliced",
                b=b,
                n_projections=self.n_projections,
                generator=step.generator,
            )
        solve_epoch = self._solve_epoch(step)
        if solve_epoch is not None and solve_epoch != step.epoch and self._all_kept(step):
            z_student = joint_embedding(step.z, scale=step.teacher.cost_scale)
            rows = step.rows
            return matched_cost(z_student, self._targets[rows], self._spread[rows])
        z_student, z_teacher, b = self.transport_inputs(step)
        targets, spread = transport_targets(
            z_student.detach(), z_teacher, None, b, solver=self.solver, reg=self.reg
        )
        if solve_epoch is not None:
            # joint_embedding puts z first, then the label part. The label part
            # carries no gradient (labels of unlabelled rows are the teacher
            # head's, detached): it is kept as it is now, folded into the
            # spread, and only z is compared with the kept targets later.
            width = step.z.shape[1]
            label_gap = (z_student[:, width:].detach() - targets[:, width:]).pow(2).sum(dim=1)
            self._keep(step.rows, solve_epoch, targets[:, :width], spread + label_gap)
        return matched_cost(z_student, targets, spread)

    def _solve_epoch(self, step):
        """The epoch of this cycle's solve (1, 1 + k, ...); ``None``: no targets are kept."""
        if self.transport_every <= 1 or step.rows is None or step.epoch is None:
            return None
        return step.epoch - (step.epoch - 1) % self.transport_every

    def _all_kept(self, step):
        """Whether every row of the step has targets from this cycle's solve."""
        if self._solved_in is None:
            return False
        rows, cycle = step.rows, self._solve_epoch(step)
        return bool(rows.max() < len(self._solved_in)) and bool(
            (self._solved_in[rows] == cycle).all()
        )

    def _keep(self, rows, cycle, targets, spread):
        """Store these rows' targets for the cycle that starts at epoch ``cycle``.

        The store grows to the largest row index seen. A row missed by its
        cycle's solve (``drop_last``, a sampler that repeats rows) is solved
        with the first batch that holds it.
        """
        size = int(rows.max()) + 1
        if self._solved_in is None or size > len(self._solved_in):
            old = 0 if self._solved_in is None else len(self._solved_in)
            size = max(size, 2 * old)
            kept = (self._targets, self._spread, self._solved_in)
            self._targets = targets.new_zeros(size, targets.shape[1])
            self._spread = spread.new_zeros(size)
            self._solved_in = torch.full((size,), -1, dtype=torch.long, device=targets.device)
            if old:
                self._targets[:old], self._spread[:old], self._solved_in[:old] = kept
        self._targets[rows] = targets
        self._spread[rows] = spread
        self._solved_in[rows] = cycle


class LabelAlignment(LossTerm):
    """KL from the teacher head at the student's embedding to the student's prediction.

    :func:`skcmkd.alignment.label_alignment`, on every row.
    """

    name = "la"
    title = "label alignment"
    fix = "lower `label_weight` or `lr`"
    needs_teacher = True
    per_unlabeled_row = False

    def forward(self, step):
        return label_alignment(step.logits, step.teacher_probs())


class NeighborConsistency(LossTerm):
    """Each row's embedding pulled toward that of one of its input-space neighbours.

    :func:`skcmkd.alignment.neighbor_consistency`, in units of the teacher
    bank's mean squared distance (without a teacher, that of two independent
    standard normal embeddings). It needs no teacher.
    """

    name = "nc"
    title = "neighbour consistency"
    fix = "lower `neighbor_weight` or `lr`"
    needs_neighbors = True

    def forward(self, step):
        scale = step.teacher.cost_scale if step.teacher is not None else 2.0 * step.z.shape[1]
        return neighbor_consistency(step.z, step.z_neighbors, scale=scale)


class ClassRelations(LossTerm):
    """The student's class prototypes arranged as the teacher's classes are.

    :func:`skcmkd.alignment.relation_mismatch`: per batch, each class's
    prototype is the mean student embedding weighted by the student's own
    class probabilities (one-hot on labelled rows); the cosine similarities
    between prototypes are pulled toward those between the teacher's class
    means in the shared space (the bank's class means, moved as the alignment
    target moves them). Where the modalities agree on which classes lie
    close, this gives the student's unseen and sparsely labelled classes the
    teacher's place for them. Not part of the default loss: pass it in the
    distiller's ``terms`` (``docs/design.md`` measures it).

    Parameters
    ----------
    weight : float, default=1.0
    min_mass : float > 0, default=1.0
        A class enters a batch's comparison with at least this many rows'
        worth of probability.
    """

    name = "cr"
    title = "class relations (prototypes against the teacher's class means)"
    fix = "lower the ClassRelations weight or `lr`"
    needs_teacher = True
    per_unlabeled_row = False

    def __init__(self, weight=1.0, min_mass=1.0):
        super().__init__(weight)
        if not min_mass > 0:
            raise ValueError(f"min_mass must be positive, got {min_mass}.")
        self.min_mass = min_mass
        self._means = None

    def reset(self):
        self._means = None

    def _class_means(self, step):
        if self._means is None or self._means.device != step.z.device:
            target = step.teacher
            means = class_means(target.bank, target.labels, step.n_classes)
            if target.shift is not None:
                means = means + target.shift
            known = np.bincount(target.labels, minlength=step.n_classes) > 0
            self._means = torch.as_tensor(means, dtype=step.z.dtype, device=step.z.device)
            self._known = torch.as_tensor(known, device=step.z.device)
        return self._means

    def forward(self, step):
        probs = torch.softmax(step.logits, dim=1)
        labelled = step.y >= 0
        one_hot = F.one_hot(step.y.clamp_min(0), step.n_classes).to(probs.dtype)
        probs = torch.where(labelled[:, None], one_hot, probs)
        means = self._class_means(step)
        # a class the teacher lacks has no place to be pulled to
        probs = probs * self._known.to(probs.dtype)
        return relation_mismatch(step.z, probs, means, min_mass=self.min_mass)

    def extra_repr(self):
        return f"weight={self.weight!r}, min_mass={self.min_mass!r}"
