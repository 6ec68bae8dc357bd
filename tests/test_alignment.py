import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skcmkd.alignment import (
    SOLVERS,
    class_priors,
    feature_alignment,
    joint_embedding,
    label_alignment,
    masked_cross_entropy,
    neighbor_consistency,
    prior_shift_correction,
    round_to_coupling,
)


def _clouds(seed=0, n=12, m=9, d=3):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(
        m, d, generator=gen, dtype=torch.float64
    )


def test_emd_matches_pot_on_numpy():
    zs, zt = _clouds()
    expected = ot.emd2(np.full(12, 1 / 12), np.full(9, 1 / 9), ot.dist(zs.numpy(), zt.numpy()))
    assert float(feature_alignment(zs, zt, solver="emd")) == pytest.approx(expected, rel=1e-10)


def test_sinkhorn_matches_pot_on_numpy():
    zs, zt = _clouds()
    a, b, cost = np.full(12, 1 / 12), np.full(9, 1 / 9), ot.dist(zs.numpy(), zt.numpy())
    expected = ot.sinkhorn2(a, b, cost, 0.5, method="sinkhorn_log", stopThr=1e-10)
    got = feature_alignment(zs, zt, solver="sinkhorn", reg=0.5)
    assert float(got) == pytest.approx(float(expected), rel=1e-4)


def test_sliced_matches_pot_with_the_same_directions():
    zs, zt = _clouds()
    got = feature_alignment(zs, zt, solver="sliced", generator=torch.Generator().manual_seed(3))
    directions = torch.randn(3, 50, generator=torch.Generator().manual_seed(3), dtype=zs.dtype)
    directions = (directions / directions.norm(dim=0, keepdim=True)).numpy()
    expected = ot.sliced_wasserstein_distance(zs.numpy(), zt.numpy(), projections=directions) ** 2
    assert float(got) == pytest.approx(expected, rel=1e-8)


def test_emd_gradient_equals_autograd_through_pot():
    """The plan-then-cost gradient is the gradient of POT's differentiable emd2."""
    zs, zt = _clouds()
    zs_ours = zs.clone().requires_grad_(True)
    feature_alignment(zs_ours, zt, solver="emd").backward()
    zs_pot = zs.clone().requires_grad_(True)
    a, b = torch.full((12,), 1 / 12, dtype=zs.dtype), torch.full((9,), 1 / 9, dtype=zs.dtype)
    ot.emd2(a, b, ot.dist(zs_pot, zt)).backward()
    assert torch.allclose(zs_ours.grad, zs_pot.grad, atol=1e-10)


def test_sinkhorn_gradient_is_the_envelope_gradient():
    """d/dz_i sum_ij P_ij |z_i - z_j|^2 = 2 sum_j P_ij (z_i - z_j), P from POT."""
    zs, zt = _clouds()
    z = zs.clone().requires_grad_(True)
    feature_alignment(z, zt, solver="sinkhorn", reg=0.5).backward()
    a, b, cost = np.full(12, 1 / 12), np.full(9, 1 / 9), ot.dist(zs.numpy(), zt.numpy())
    plan = ot.sinkhorn(a, b, cost, 0.5, method="sinkhorn_log", stopThr=1e-10)
    expected = 2 * (plan.sum(1)[:, None] * zs.numpy() - plan @ zt.numpy())
    assert np.allclose(z.grad.numpy(), expected, atol=1e-6)


def test_rejects_unknown_solver():
    zs, zt = _clouds()
    with pytest.raises(ValueError, match="solver must be one of"):
        feature_alignment(zs, zt, solver="greedy")


def test_teacher_weights_move_the_optimum():
    zs = torch.zeros(4, 1, dtype=torch.float64)
    zt = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    heavy_far = feature_alignment(zs, zt, b=torch.tensor([0.1, 0.9], dtype=torch.float64))
    assert float(heavy_far) == pytest.approx(0.9)


def test_joint_embedding_turns_label_mismatch_into_cost():
    z = torch.zeros(2, 3)
    labels = torch.eye(2)
    joint = joint_embedding(z, labels, label_cost=4.0)
    assert float(((joint[0] - joint[1]) ** 2).sum()) == pytest.approx(4.0)
    assert joint_embedding(z, labels, label_cost=0.0).shape == (2, 3)


def test_joint_embedding_divides_by_scale():
    z = torch.tensor([[0.0], [2.0]])
    joint = joint_embedding(z, scale=4.0)
    assert float(((joint[0] - joint[1]) ** 2).sum()) == pytest.approx(1.0)


def test_masked_cross_entropy_ignores_unlabelled_rows():
    logits = torch.tensor([[3.0, 0.0], [0.0, 3.0], [5.0, -5.0]])
    y = torch.tensor([0, -1, -1])
    expected = torch.nn.functional.cross_entropy(logits[:1], y[:1])
    assert torch.allclose(masked_cross_entropy(logits, y), expected)


def test_masked_cross_entropy_without_labels_is_zero_not_nan():
    logits = torch.randn(4, 3, requires_grad=True)
    loss = masked_cross_entropy(logits, torch.full((4,), -1))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(logits.grad).all()


def test_label_alignment_sends_no_gradient_into_the_teacher():
    logits = torch.randn(5, 3, requires_grad=True)
    teacher = torch.softmax(torch.randn(5, 3), dim=1).requires_grad_(True)
    label_alignment(logits, teacher).backward()
    assert teacher.grad is None
    assert torch.isfinite(logits.grad).all()


def test_label_alignment_is_zero_when_predictions_agree():
    logits = torch.randn(5, 3)
    assert float(label_alignment(logits, torch.softmax(logits, dim=1))) == pytest.approx(
        0.0, abs=1e-6
    )


def test_class_priors_ignore_unlabelled_and_smooth():
    assert np.allclose(class_priors([0, 0, -1, -1], 2, smoothing=1.0), [0.75, 0.25])


def test_prior_shift_correction_reweights_and_renormalises():
    probs = torch.tensor([[0.5, 0.5]])
    corrected = prior_shift_correction(probs, torch.tensor([3.0, 1.0]))
    assert torch.allclose(corrected, torch.tensor([[0.75, 0.25]]))
    assert torch.allclose(prior_shift_correction(probs, torch.ones(2)), probs)


# -- properties ---------------------------------------------------------------

_points = arrays(
    np.float64,
    st.tuples(st.integers(1, 8), st.integers(1, 4)),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=40, deadline=None)
@given(_points, st.sampled_from(SOLVERS), st.randoms(use_true_random=False))
def test_properties_nonnegative_zero_on_self_permutation_invariant(points, solver, rnd):
    z = torch.as_tensor(points)
    z = z / (float(ot.dist(z, z).mean()) + 1.0) ** 0.5  # keep sinkhorn's reg meaningful

    def alignment(first, second):
        generator = torch.Generator().manual_seed(0)  # the same directions for sliced
        return float(feature_alignment(first, second, solver=solver, reg=0.05, generator=generator))

    # Entropic transport blurs the plan, so it is zero on identical clouds only
    # up to a term of the order of reg.
    assert alignment(z, z) == pytest.approx(0.0, abs=0.05 if solver == "sinkhorn" else 1e-9)
    other = z.flip(1) + 0.5
    value = alignment(z, other)
    assert value >= 0
    order = list(range(len(z)))
    rnd.shuffle(order)
    assert alignment(z[order], other) == pytest.approx(value, rel=1e-5, abs=1e-8)


@settings(max_examples=25, deadline=None)
@given(_points, _points)
def test_exact_transport_is_symmetric(first, second):
    if first.shape[1] != second.shape[1]:
        second = np.resize(second, (len(second), first.shape[1]))
    zs, zt = torch.as_tensor(first), torch.as_tensor(second)
    forward = float(feature_alignment(zs, zt))
    assert forward == pytest.approx(float(feature_alignment(zt, zs)), rel=1e-9, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(_points, st.sampled_from(SOLVERS))
def test_gradients_are_finite(points, solver):
    z = torch.as_tensor(points) / 1e3
    z.requires_grad_(True)
    target = torch.zeros(3, z.shape[1], dtype=z.dtype)
    feature_alignment(
        z, target, solver=solver, generator=torch.Generator().manual_seed(0)
    ).backward()
    assert torch.isfinite(z.grad).all()


# -- numerical safety -------------------------------------------------------------


@pytest.mark.parametrize("reg", [1e-3, 1e-6, 1e-12, 1e-30])
def test_sinkhorn_with_a_tiny_reg_stays_finite_and_above_exact(reg):
    zs, zt = _clouds(n=32, m=64, d=4)
    zs.requires_grad_(True)
    value = feature_alignment(zs, zt, solver="sinkhorn", reg=reg)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(zs.grad).all()
    # Rounded to a coupling, the plan costs at least the optimum.
    assert value.item() >= feature_alignment(zs, zt, solver="emd").item() - 1e-9


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "student, teacher",
    [
        ("duplicates", "duplicates"),  # every row the same point
        ("duplicates", "cloud"),
        ("one row", "cloud"),
        ("cloud", "one row"),
    ],
)
def test_degenerate_batches_stay_finite(solver, student, teacher):
    cloud, _ = _clouds(n=16, d=3)
    shapes = {"duplicates": cloud[:1].repeat(16, 1), "cloud": cloud, "one row": cloud[:1]}
    zs = shapes[student].clone().requires_grad_(True)
    zt = shapes[teacher] + 0.3
    value = feature_alignment(zs, zt, solver=solver, generator=torch.Generator().manual_seed(0))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(zs.grad).all()


def test_one_class_batch_in_the_joint_cost_is_finite():
    zs, zt = _clouds(n=8, m=8, d=3)
    one_hot = torch.zeros(8, 4, dtype=zs.dtype)
    one_hot[:, 2] = 1.0  # every row of both batches in class 2
    value = feature_alignment(
        joint_embedding(zs, one_hot, label_cost=1.0), joint_embedding(zt, one_hot, label_cost=1.0)
    )
    assert float(value) == pytest.approx(float(feature_alignment(zs, zt)))


_plans = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    elements=st.floats(0, 1, allow_nan=False),
)


@settings(max_examples=50, deadline=None)
@given(_plans)
def test_round_to_coupling_meets_both_marginals(plan):
    n, m = plan.shape
    a = torch.full((n,), 1.0 / n, dtype=torch.float64)
    b = torch.full((m,), 1.0 / m, dtype=torch.float64)
    rounded = round_to_coupling(torch.as_tensor(plan), a, b)
    assert (rounded >= 0).all()
    assert torch.allclose(rounded.sum(dim=1), a) and torch.allclose(rounded.sum(dim=0), b)


def test_neighbor_consistency_is_the_scaled_mean_squared_distance():
    z = torch.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    neighbours = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    value = neighbor_consistency(z, neighbours, scale=5.0)
    assert value.item() == pytest.approx(25.0 / 2 / 5.0)
    value.backward()
    assert torch.all(torch.isfinite(z.grad)) and float(z.grad[0].abs().sum()) == 0.0


def test_measured_feature_alignment_is_zero_on_one_cloud_and_scales():
    from skcmkd.alignment import measured_feature_alignment

    rng = np.random.RandomState(0)
    z = rng.randn(50, 3)
    assert measured_feature_alignment(z, z) == pytest.approx(0.0, abs=1e-12)
    shifted = measured_feature_alignment(z, z + 2.0)  # a shift of 2 in each of 3 dims
    assert shifted == pytest.approx(12.0)
    assert measured_feature_alignment(z, z + 2.0, scale=4.0) == pytest.approx(3.0)
    big = rng.randn(300, 3)  # subsampled to 100 rows per side: still finite, non-negative
    assert measured_feature_alignment(big, big + 1.0, max_rows=100) >= 0
