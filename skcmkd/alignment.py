r"""The terms of the distillation loss, as plain functions of torch tensors.

The bound behind skcmkd (see ``docs/theory.md``) reads

.. math::

    \varepsilon_S \le \varepsilon_T + \tau\, W_\delta(D_S(z), D_T(z)) + LA,

so the student minimises, on minibatches, a cross-entropy on its labelled
rows, a *feature alignment* term (a Wasserstein distance between a batch of
student embeddings and a batch of teacher embeddings, computed with POT) and a
*label alignment* term (how far the student's prediction is from the teacher
head's prediction at the same embedding). Nothing here knows about
scikit-learn or skorch: each function takes tensors and returns a tensor.
"""

import math

import numpy as np
import ot
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state

__all__ = [
    "SOLVERS",
    "masked_cross_entropy",
    "joint_embedding",
    "feature_alignment",
    "label_alignment",
    "neighbor_consistency",
    "class_priors",
    "class_means",
    "prior_shift_correction",
    "round_to_coupling",
    "measured_feature_alignment",
    "transport_targets",
    "matched_cost",
]

#: The optimal-transport solvers :func:`feature_alignment` accepts.
SOLVERS = ("emd", "sinkhorn", "sliced")


def masked_cross_entropy(logits, y, weight=None):
    """Mean cross-entropy over the labelled rows (``y >= 0``), weighted if ``weight`` is given.

    Rows with ``y == -1`` are unlabelled and ignored. A batch with no labelled
    row gives a zero that still carries a graph, never a NaN. With ``weight``
    (one non-negative number per row), each labelled row's cross-entropy is
    multiplied by its weight before the mean: weights that average 1 over the
    labelled rows (:class:`~skcmkd.CrossModalDistiller` scales them so) act
    as repetitions of the rows, on average over the batches.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> float(masked_cross_entropy(logits, torch.tensor([0, -1]))) > 0
    True
    >>> float(masked_cross_entropy(logits, torch.tensor([-1, -1])))
    0.0
    """
    if weight is None:
        n_labelled = int((y >= 0).sum())
        total = F.cross_entropy(logits, y, ignore_index=-1, reduction="sum")
        return total / max(n_labelled, 1)
    n_labelled = int((y >= 0).sum())
    weight = torch.as_tensor(weight, dtype=logits.dtype, device=logits.device)
    each = F.cross_entropy(logits, y, ignore_index=-1, reduction="none")  # 0 where unlabelled
    return (each * weight).sum() / max(n_labelled, 1)


def joint_embedding(z, label_probs=None, *, label_cost=0.0, scale=1.0):
    r"""Stack an embedding and its label so that one cost serves both.

    The squared Euclidean distance between two joint embeddings is

    .. math::

        \|z - z'\|^2 / s + \beta\,\|q - q'\|^2 / 2,

    which for one-hot labels is the label-aware cost of joint distribution
    optimal transport, :math:`\|z - z'\|^2 / s + \beta\,[y \ne y']`. Soft
    label vectors (a prediction standing in for a missing label) give a cost
    between the two. Writing the cost as a plain squared distance lets the
    exact, entropic and sliced solvers share one definition.

    Parameters
    ----------
    z : Tensor of shape (n, d)
        Embeddings.
    label_probs : Tensor of shape (n, n_classes), default=None
        One-hot labels or class probabilities; ``None`` or ``label_cost=0``
        leaves the labels out.
    label_cost : float, default=0.0
        :math:`\beta`, the price of moving mass between two different classes.
    scale : float, default=1.0
        :math:`s`, divides the squared distances of the embeddings so that
        the cost does not depend on the units of the latent space.
    """
    out = z / math.sqrt(scale)
    if label_probs is None or label_cost == 0:
        return out
    return torch.cat([out, math.sqrt(label_cost / 2) * label_probs.to(out.dtype)], dim=1)


def feature_alignment(
    z_student,
    z_teacher,
    *,
    solver="emd",
    a=None,
    b=None,
    reg=0.05,
    n_projections=50,
    generator=None,
):
    r"""Squared 2-Wasserstein distance between two point clouds, with POT.

    .. math::

        W(\hat\mu_S, \hat\mu_T) = \min_{P \in \Pi(a, b)} \sum_{ij} P_{ij}
        \|z^S_i - z^T_j\|^2

    The exact and entropic solvers find the plan :math:`P` without autograd
    and the loss differentiates :math:`\langle P, M(z)\rangle` with the plan
    held fixed, written as each row's distance to its barycentric target
    (:func:`transport_targets`, :func:`matched_cost`). By the envelope theorem
    this is the gradient of the optimal value, at the price of one solve and
    no unrolled iterations.

    Parameters
    ----------
    z_student : Tensor of shape (n, d)
        Student embeddings (the side that receives gradients).
    z_teacher : Tensor of shape (m, d)
        Teacher embeddings (a fixed sample of the target distribution).
    solver : {"emd", "sinkhorn", "sliced"}, default="emd"
        ``"emd"``: exact transport, ``ot.emd`` (network simplex, on the CPU
        in float64). ``"sinkhorn"``: entropic transport, ``ot.sinkhorn`` in
        the log domain, stable for small ``reg``. ``"sliced"``: the sliced
        Wasserstein distance (squared, as in
        ``ot.sliced_wasserstein_distance`` before its square root): an average
        of 1-D transports (``ot.wasserstein_1d``) along random directions.
    a, b : Tensor of shape (n,) and (m,), default=None
        Weights of the two clouds, each summing to one; uniform if ``None``.
    reg : float, default=0.05
        Entropic regularisation of ``"sinkhorn"``, in the units of the cost.
    n_projections : int, default=50
        Number of directions of ``"sliced"``.
    generator : torch.Generator, default=None
        Draws the directions of ``"sliced"``.

    Returns
    -------
    loss : Tensor of shape ()
        Non-negative; zero when the two weighted clouds coincide.

    Examples
    --------
    >>> import torch
    >>> z = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    >>> float(feature_alignment(z, z))
    0.0
    >>> float(feature_alignment(z, z + 1.0))  # a shift by 1 in 3 dimensions
    3.0
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    n, m = len(z_student), len(z_teacher)
    if a is None:
        a = torch.full((n,), 1.0 / n, dtype=z_student.dtype, device=z_student.device)
    if b is None:
        b = torch.full((m,), 1.0 / m, dtype=z_student.dtype, device=z_student.device)
    if solver == "sliced":
        device = z_student.device if generator is None else generator.device
        directions = torch.randn(
            z_student.shape[1],
            n_projections,
            generator=generator,
            dtype=z_student.dtype,
            device=device,
        ).to(z_student.device)
        directions = directions / directions.norm(dim=0, keepdim=True)
        # Mean of the 1-D squared W2 along each direction: what
        # ot.sliced_wasserstein_distance returns before its square root, whose
        # gradient is infinite at zero.
        projected = ot.wasserstein_1d(z_student @ directions, z_teacher @ directions, a, b, p=2)
        return projected.mean()
    targets, spread = transport_targets(z_student.detach(), z_teacher, a, b, solver=solver, reg=reg)
    return matched_cost(z_student, targets, spread, a)


def transport_targets(z_student, z_teacher, a, b, *, solver="emd", reg=0.05):
    r"""Each student row's share of a transport plan: where it goes, and how spread out.

    For the plan :math:`P` of :func:`feature_alignment` (``"emd"`` or
    ``"sinkhorn"``), row :math:`i` of the student sends mass
    :math:`m_i = \sum_j P_{ij}` to the barycentre

    .. math::

        t_i = \frac{1}{m_i} \sum_j P_{ij} z^T_j, \qquad
        v_i = \frac{1}{m_i} \sum_j P_{ij} \|z^T_j - t_i\|^2,

    and :math:`\sum_j P_{ij} \|z - z^T_j\|^2 = m_i (\|z - t_i\|^2 + v_i)`
    for any :math:`z`. So :func:`matched_cost` on ``(t, v)`` has the plan's
    cost as its value and its gradient: a plan solved once can be kept for
    later steps (:class:`skcmkd.terms.FeatureAlignment`'s ``transport_every``).

    The identity needs the row weights of :func:`matched_cost` to be the
    plan's row masses, ``a`` (a row of mass zero gets a target of zero).
    The exact plan runs on the CPU in float64 (POT's network simplex) and has
    at most ``n + m - 1`` non-zero entries; only those pairs are gathered (no
    ``n x m`` array), so a float32 row matched to a single teacher point gets
    exactly that point and a spread of zero (in float64, up to about 1e-31).
    Sinkhorn's plan is dense: its targets are two matrix products.

    Parameters
    ----------
    z_student : Tensor of shape (n, d)
        Detached student embeddings.
    z_teacher : Tensor of shape (m, d)
    a, b : Tensor of shape (n,) and (m,), or None
        Weights of the two clouds, each summing to one; uniform if ``None``.
    solver : {"emd", "sinkhorn"}, default="emd"
    reg : float, default=0.05

    Returns
    -------
    targets : Tensor of shape (n, d)
        The barycentres :math:`t_i`, in the student's dtype and device.
    spread : Tensor of shape (n,)
        :math:`v_i`, non-negative.
    """
    n, m = len(z_student), len(z_teacher)
    dtype, device = z_student.dtype, z_student.device
    a = torch.full((n,), 1.0 / n, dtype=dtype, device=device) if a is None else a
    b = torch.full((m,), 1.0 / m, dtype=dtype, device=device) if b is None else b
    with torch.no_grad():
        if solver == "emd":
            # The cost in torch, not NumPy: NumPy's BLAS threads would spin
            # against torch's on the same cores (docs/design.md).
            cost = ot.dist(z_student.double(), z_teacher.double()).cpu().numpy()
            plan = ot.emd(a.double().cpu().numpy(), b.double().cpu().numpy(), cost)
            rows, cols = np.nonzero(plan)
            mass = torch.as_tensor(plan[rows, cols], device=device)
            rows = torch.as_tensor(rows, device=device)
            cols = torch.as_tensor(cols, device=device)
        elif solver == "sinkhorn":
            cost = ot.dist(z_student, z_teacher)
            # A plan from fewer iterations than convergence needs is still a
            # usable training signal: no warning at every step.
            plan = ot.sinkhorn(
                a, b, cost, reg, method="sinkhorn_log", numItermax=1000, stopThr=1e-6, warn=False
            )
            # Unconverged (tiny reg), the plan misses its marginals and its
            # cost can land anywhere; rounded, it is a coupling again.
            plan = round_to_coupling(plan, a, b).double()
            # A dense plan: matrix products, no n x m x d gather.
            teacher = z_teacher.to(device=device, dtype=torch.float64)
            row_mass = plan.sum(dim=1).clamp_min(torch.finfo(torch.float64).tiny)
            targets = plan @ teacher / row_mass[:, None]
            second_moment = plan @ teacher.pow(2).sum(dim=1) / row_mass
            spread = (second_moment - targets.pow(2).sum(dim=1)).clamp_min(0.0)
            return targets.to(dtype), spread.to(dtype)
        else:
            raise ValueError(f"transport_targets solves 'emd' or 'sinkhorn', got {solver!r}.")
        # The exact plan's support: at most n + m - 1 pairs, gathered.
        teacher = z_teacher.to(device=device, dtype=torch.float64)
        row_mass = torch.zeros(n, dtype=torch.float64, device=device).index_add_(0, rows, mass)
        row_mass = row_mass.clamp_min(torch.finfo(torch.float64).tiny)
        targets = torch.zeros(n, teacher.shape[1], dtype=torch.float64, device=device)
        targets.index_add_(0, rows, mass[:, None] * teacher[cols])
        targets /= row_mass[:, None]
        gaps = (teacher[cols] - targets[rows]).pow(2).sum(dim=1)
        spread = torch.zeros(n, dtype=torch.float64, device=device).index_add_(0, rows, mass * gaps)
        spread /= row_mass
    return targets.to(dtype), spread.to(dtype)


def matched_cost(z_student, targets, spread, a=None):
    r"""The cost of a transport plan given by its per-row targets: differentiable in ``z``.

    .. math::

        \sum_i a_i \big(\|z_i - t_i\|^2 + v_i\big)

    with ``(t, v)`` from :func:`transport_targets`; at the embeddings the
    plan was solved for, this is its transport cost, with the same gradient.

    Parameters
    ----------
    z_student : Tensor of shape (n, d)
    targets : Tensor of shape (n, d)
    spread : Tensor of shape (n,)
    a : Tensor of shape (n,), default=None
        Row weights summing to one; uniform if ``None``.

    Examples
    --------
    >>> import torch
    >>> z = torch.zeros(2, 1)
    >>> float(matched_cost(z, torch.ones(2, 1), torch.tensor([0.5, 0.5])))
    1.5
    """
    per_row = (z_student - targets).pow(2).sum(dim=1) + spread
    if a is None:
        return per_row.mean()
    return (a.to(per_row) * per_row).sum()


def measured_feature_alignment(z_student, z_teacher, scale=1.0, *, max_rows=2000, random_state=0):
    """Exact squared 2-Wasserstein distance between two embedding clouds, for measuring.

    The numbers :func:`skcmkd.diagnostics.diagnose` and
    :func:`skcmkd.model_selection.bound_score` report: NumPy in, a float out,
    no gradient. Uniform weights on the rows of each side.

    Parameters
    ----------
    z_student, z_teacher : array-like of shape (n, d) and (m, d)
    scale : float, default=1.0
        The result is divided by it (the teacher bank's mean squared distance
        gives ``feature_weight``'s units).
    max_rows : int, default=2000
        At most this many rows per side (a random subset beyond that): the
        exact solve grows with the product of the two sides.
    random_state : int, RandomState instance or None, default=0
        Draws the subsets.

    Returns
    -------
    distance : float
    """
    rng = check_random_state(random_state)
    sides = []
    for z in (z_student, z_teacher):
        z = np.asarray(z, dtype=np.float64)
        if len(z) > max_rows:
            z = z[np.sort(rng.choice(len(z), max_rows, replace=False))]
        sides.append(z)
    a, b = (np.full(len(z), 1 / len(z)) for z in sides)
    return float(ot.emd2(a, b, ot.dist(*sides))) / scale


def round_to_coupling(plan, a, b):
    r"""The nearest coupling of ``a`` and ``b`` to an approximate transport plan.

    Algorithm 2 of Altschuler, Weed and Rigollet (2017): scale rows, then
    columns, down to their marginals, and spread the missing mass as a rank-one
    term. The result has marginals ``a`` and ``b`` exactly (up to rounding) and
    differs from ``plan`` by at most twice its marginal error in :math:`\ell_1`.

    Examples
    --------
    >>> import torch
    >>> a = b = torch.tensor([0.5, 0.5])
    >>> plan = round_to_coupling(torch.tensor([[0.4, 0.0], [0.0, 0.2]]), a, b)
    >>> plan.sum(dim=1), plan.sum(dim=0)
    (tensor([0.5000, 0.5000]), tensor([0.5000, 0.5000]))
    """
    tiny = torch.finfo(plan.dtype).tiny
    plan = plan * (a / plan.sum(dim=1).clamp_min(tiny)).clamp(max=1.0)[:, None]
    plan = plan * (b / plan.sum(dim=0).clamp_min(tiny)).clamp(max=1.0)[None, :]
    # Non-negative in exact arithmetic after the two scalings; clamp rounding.
    missing_a = (a - plan.sum(dim=1)).clamp_min(0.0)
    missing_b = (b - plan.sum(dim=0)).clamp_min(0.0)
    return plan + torch.outer(missing_a, missing_b) / missing_a.sum().clamp_min(tiny)


def label_alignment(student_logits, teacher_probs):
    r"""Mean KL divergence from the teacher's prediction to the student's.

    .. math::

        LA = \frac{1}{n} \sum_i \mathrm{KL}\big(q(\cdot \mid z_i) \,\|\,
        p_S(\cdot \mid z_i)\big)

    where :math:`q` is the (optionally prior-corrected) teacher head at the
    student's own embedding :math:`z_i`. The teacher side is a target: it is
    detached, so no gradient pushes embeddings to where the teacher is less
    sure (the literal bound term would). Needs no label, so unlabelled rows
    take part.

    Parameters
    ----------
    student_logits : Tensor of shape (n, n_classes)
    teacher_probs : Tensor of shape (n, n_classes)
        Rows sum to one.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[1.0, -1.0]])
    >>> float(label_alignment(logits, torch.softmax(logits, dim=1))) < 1e-6
    True
    """
    target = teacher_probs.detach()
    log_p = F.log_softmax(student_logits, dim=1)
    kl = (torch.special.xlogy(target, target) - target * log_p).sum(dim=1)
    return kl.mean().clamp_min(0.0)


def neighbor_consistency(z, z_neighbors, *, scale=1.0):
    r"""Mean squared distance from each embedding to a neighbour's.

    .. math::

        NC = \frac{1}{n} \sum_i \|z_i - z_{j(i)}\|^2 / s

    where :math:`j(i)` is one of row :math:`i`'s nearest neighbours in the
    student's *input* space and :math:`s` a fixed scale (the teacher bank's
    mean squared distance, as in the feature-alignment cost). Rows that look
    alike to the student then land near each other in the shared space,
    which lets feature alignment carry the labelled rows' classes (and the
    teacher's clusters) to their unlabelled neighbours. The scale must be
    fixed: dividing by the batch's own spread rewards collapsing it.

    Parameters
    ----------
    z, z_neighbors : Tensor of shape (n, d)
        Embeddings of the batch rows and of one neighbour of each.
    scale : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    >>> float(neighbor_consistency(z, z))
    0.0
    >>> float(neighbor_consistency(z, z.flip(0), scale=2.0))
    2.0
    """
    return (z - z_neighbors).pow(2).sum(dim=1).mean() / scale


def class_priors(y, n_classes, *, smoothing=1.0):
    """Class frequencies of the labelled entries of ``y`` (codes ``0..n_classes-1``).

    Unlabelled entries (``-1``) are ignored; ``smoothing`` is added to every
    count so that a class with no labelled row keeps a positive prior.

    Examples
    --------
    >>> class_priors([0, 0, 1, -1], 2, smoothing=0)
    array([0.66666667, 0.33333333])
    """
    y = np.asarray(y)
    counts = np.bincount(y[y >= 0], minlength=n_classes).astype(float) + smoothing
    return counts / counts.sum()


def class_means(Z, codes, n_classes, *, chunk=65536):
    """Mean row of each class (codes ``0..n_classes-1``), in float64, chunk by chunk.

    Rows coded ``-1`` are ignored; a class without rows gets a zero mean. A
    bank of 10^6 float32 rows costs no float64 copy of itself.

    Examples
    --------
    >>> class_means(np.array([[0.0], [2.0], [5.0], [9.0]]), np.array([0, 0, 1, -1]), 2)
    array([[1.],
           [5.]])
    """
    codes = np.asarray(codes)
    sums = np.zeros((n_classes, Z.shape[1]))
    for start in range(0, len(Z), chunk):
        part = slice(start, start + chunk)
        kept = codes[part] >= 0
        one_hot = np.eye(n_classes)[codes[part][kept]]
        sums += one_hot.T @ np.asarray(Z[part], dtype=np.float64)[kept]
    counts = np.bincount(codes[codes >= 0], minlength=n_classes)
    return sums / np.maximum(counts, 1)[:, None]


def prior_shift_correction(teacher_probs, prior_ratio):
    r"""Correct a posterior for a change of class priors (label shift).

    .. math::

        q(y \mid z) = \frac{p_T(y \mid z)\, \pi_S(y) / \pi_T(y)}
        {\sum_{y'} p_T(y' \mid z)\, \pi_S(y') / \pi_T(y')}

    This is the :math:`\kappa` of the label-alignment term under pure label
    shift (Saerens et al., 2002). A ratio of ones returns the input.

    Parameters
    ----------
    teacher_probs : Tensor of shape (n, n_classes)
    prior_ratio : Tensor of shape (n_classes,)
        :math:`\pi_S(y) / \pi_T(y)`.
    """
    weighted = teacher_probs * prior_ratio
    return weighted / weighted.sum(dim=1, keepdim=True)


def relation_mismatch(z, probs, class_means, *, min_mass=1.0):
    """How differently the batch's class prototypes and the teacher's class means are arranged.

    The prototype of class *k* is the mean of ``z`` weighted by ``probs[:, k]``
    (the student's own class probabilities, one-hot on labelled rows); over
    the classes holding at least ``min_mass`` rows' worth of the batch, the
    mean squared difference between the off-diagonal cosine similarities of
    the prototypes and those of ``class_means``. Zero where the prototypes
    are arranged as the teacher's classes are, whatever their scale; zero
    with fewer than two such classes.

    Examples
    --------
    >>> means = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> z = 3 * means + 1e-3
    >>> float(relation_mismatch(z, torch.eye(3), means)) < 1e-5
    True
    """
    mass = probs.sum(dim=0)
    present = (mass >= min_mass) & (mass > 0)
    if int(present.sum()) < 2:
        return z.sum() * 0.0
    prototypes = (probs[:, present].T @ z) / mass[present, None]
    student = F.normalize(prototypes, dim=1)
    teacher = F.normalize(class_means[present].to(z.dtype), dim=1)
    off = ~torch.eye(int(present.sum()), dtype=torch.bool, device=z.device)
    gap = (student @ student.T - teacher @ teacher.T)[off]
    return gap.pow(2).mean()
