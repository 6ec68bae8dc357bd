"""Feature alignment that solves its transport once every few epochs (issue 19)."""

import pickle

import numpy as np
import ot
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import skcmkd.terms
from skcmkd import CrossModalDistiller
from skcmkd._criterion import DistillationLoss
from skcmkd.alignment import matched_cost, transport_targets
from skcmkd.terms import FeatureAlignment, LossTerm, Step

from .conftest import FAST, TEACHER_FAST


def _clouds(seed=0, n=12, m=9, d=3):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, d, generator=gen, dtype=torch.float64),
        torch.randn(m, d, generator=gen, dtype=torch.float64),
    )


@pytest.mark.parametrize("solver", ["emd", "sinkhorn"])
def test_targets_give_the_plans_cost_anywhere(solver):
    """Kept targets price the old plan at new embeddings: sum_ij P_ij |z'_i - z_j|^2."""
    zs, zt = _clouds()
    targets, spread = transport_targets(zs, zt, None, None, solver=solver, reg=0.5)
    a, b = np.full(12, 1 / 12), np.full(9, 1 / 9)
    if solver == "emd":
        plan = ot.emd(a, b, ot.dist(zs.numpy(), zt.numpy()))
    else:
        cost = ot.dist(zs.numpy(), zt.numpy())
        plan = ot.sinkhorn(a, b, cost, 0.5, method="sinkhorn_log", stopThr=1e-6)
    moved = zs + 0.3 * torch.randn(
        12, 3, generator=torch.Generator().manual_seed(1), dtype=zs.dtype
    )
    expected = float((plan * ot.dist(moved.numpy(), zt.numpy())).sum())
    assert float(matched_cost(moved, targets, spread)) == pytest.approx(expected, rel=1e-4)
    z = moved.clone().requires_grad_(True)
    matched_cost(z, targets, spread).backward()
    gradient = 2 * (plan.sum(1)[:, None] * moved.numpy() - plan @ zt.numpy())
    assert np.allclose(z.grad.numpy(), gradient, atol=1e-6)


def test_a_row_matched_to_one_point_gets_that_point_exactly():
    zs = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
    zt = torch.tensor([[5.0, 5.1], [0.1, 0.0]])
    targets, spread = transport_targets(zs, zt, None, None)
    assert torch.equal(targets, zt.flip(0)) and torch.equal(spread, torch.zeros(2))


def test_transport_targets_refuses_the_sliced_solver():
    zs, zt = _clouds()
    with pytest.raises(ValueError, match="'emd' or 'sinkhorn'"):
        transport_targets(zs, zt, None, None, solver="sliced")


@pytest.fixture(scope="module")
def target(unpaired):
    distiller = CrossModalDistiller(random_state=0)
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    return distiller.teacher.alignment_target(1.0, 0)


def _loss(target, every):
    term = FeatureAlignment(1.0, transport_every=every)
    return DistillationLoss(terms=[term], target=target, teacher_batch_size=16, seed=0), term


def _batch(target, n=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, target.bank.shape[1], generator=gen).requires_grad_(True)
    logits = torch.randn(n, len(target.head_bias), generator=gen)
    y = torch.tensor([0, 1] + [-1] * (n - 2))
    return z, logits, y


def _value_and_gradient(loss, z, logits, y, rows):
    z.grad = None
    value = loss((logits, z), y, rows=rows)
    value.backward()
    return value.item(), z.grad.clone()


def test_between_solves_a_row_keeps_its_target_and_nothing_is_drawn(target):
    loss, term = _loss(target, every=3)
    z, logits, y = _batch(target)
    rows = torch.arange(8)
    loss.epoch = 1  # a solve epoch
    solved, solved_gradient = _value_and_gradient(loss, z, logits, y, rows)
    state = loss._sampler.generator(z.device).get_state()
    loss.epoch = 2  # between solves: the same rows at the same embeddings
    kept, kept_gradient = _value_and_gradient(loss, z, logits, y, rows)
    assert kept == pytest.approx(solved, rel=1e-5)
    assert torch.allclose(kept_gradient, solved_gradient, atol=1e-6)
    assert torch.equal(loss._sampler.generator(z.device).get_state(), state)  # no draw
    loss.epoch = 4  # the next solve epoch draws a new teacher batch
    _value_and_gradient(loss, z, logits, y, rows)
    assert not torch.equal(loss._sampler.generator(z.device).get_state(), state)


def test_rows_without_a_target_are_solved(target):
    loss, term = _loss(target, every=3)
    z, logits, y = _batch(target)
    loss.epoch = 1
    _value_and_gradient(loss, z, logits, y, torch.arange(8))
    state = loss._sampler.generator(z.device).get_state()
    loss.epoch = 2
    _value_and_gradient(loss, z, logits, y, torch.arange(4, 12))  # rows 8-11 never solved
    assert not torch.equal(loss._sampler.generator(z.device).get_state(), state)
    assert bool((term._solved_in[:12] == 1).all())  # all kept for the cycle of epoch 1
    loss.epoch = 3
    state = loss._sampler.generator(z.device).get_state()
    _value_and_gradient(loss, z, logits, y, torch.arange(4, 12))  # now kept: no solve
    assert torch.equal(loss._sampler.generator(z.device).get_state(), state)
    loss.reset()
    assert term._solved_in is None and loss.epoch is None


@pytest.mark.parametrize(
    ("every", "rows", "epoch"), [(1, torch.arange(8), 2), (3, None, 2), (3, torch.arange(8), None)]
)
def test_without_rows_epochs_or_keeping_every_step_solves(target, every, rows, epoch):
    loss, term = _loss(target, every=every)
    z, logits, y = _batch(target)
    for loss.epoch in (1 if epoch else None, epoch):
        state = loss._sampler.generator(z.device).get_state()
        _value_and_gradient(loss, z, logits, y, rows)
        assert not torch.equal(loss._sampler.generator(z.device).get_state(), state)
    if every == 1 or rows is None:
        assert term._solved_in is None  # nothing to keep, or no row to keep it for


def test_sliced_is_computed_at_every_step(target):
    term = FeatureAlignment(1.0, solver="sliced", transport_every=5)
    loss = DistillationLoss(terms=[term], target=target, teacher_batch_size=16, seed=0)
    z, logits, y = _batch(target)
    loss.epoch = 2
    value, _ = _value_and_gradient(loss, z, logits, y, torch.arange(8))
    assert value > 0 and term._solved_in is None


def _solved_plan(target, term, z, logits, y):
    """The plan the term's solve at ``z`` found: the same seed draws the same teacher batch."""
    fresh, _ = _loss(target, every=1)
    zs, zt, b = term.transport_inputs(Step(logits, z, y, None, target, fresh._sampler))
    zs, zt, b = zs.detach().double().numpy(), zt.double().numpy(), b.double().numpy()
    plan = ot.emd(np.full(len(zs), 1 / len(zs)), b, ot.dist(zs, zt))
    return plan, zs, zt


def test_the_solve_is_the_exact_transport(target):
    loss, term = _loss(target, every=4)
    z, logits, y = _batch(target)
    loss.epoch = 1
    loss((logits, z), y, rows=torch.arange(8))
    plan, zs, zt = _solved_plan(target, term, z, logits, y)
    assert float(loss.terms_["fa"]) == pytest.approx(float((plan * ot.dist(zs, zt)).sum()))


def test_between_solves_the_term_is_the_kept_plans_cost_with_its_labels(target):
    """At moved embeddings: sum_ij P_ij |(z'_i, q_i) - (z_j, y_j)|^2, q_i as at the solve."""
    loss, term = _loss(target, every=4)
    z, logits, y = _batch(target)
    loss.epoch = 1
    loss((logits, z), y, rows=torch.arange(8))
    plan, zs, zt = _solved_plan(target, term, z, logits, y)
    moved = (z + 0.2 * torch.randn(z.shape, generator=torch.Generator().manual_seed(5))).detach()
    loss.epoch = 2
    loss((logits, moved), y, rows=torch.arange(8))
    width = z.shape[1]
    zs_moved = np.hstack([moved.double().numpy() / np.sqrt(target.cost_scale), zs[:, width:]])
    expected = float((plan * ot.dist(zs_moved, zt)).sum())
    assert float(loss.terms_["fa"]) == pytest.approx(expected, rel=1e-5)


def test_sinkhorn_plans_are_kept_too(target):
    term = FeatureAlignment(1.0, solver="sinkhorn", reg=0.5, transport_every=3)
    loss = DistillationLoss(terms=[term], target=target, teacher_batch_size=16, seed=0)
    z, logits, y = _batch(target)
    loss.epoch = 1
    solved, solved_gradient = _value_and_gradient(loss, z, logits, y, torch.arange(8))
    loss.epoch = 2
    kept, kept_gradient = _value_and_gradient(loss, z, logits, y, torch.arange(8))
    assert kept == pytest.approx(solved, rel=1e-5)
    assert torch.allclose(kept_gradient, solved_gradient, atol=1e-6)


class RecordRows(LossTerm):
    """Records the rows and epochs each step saw."""

    name = "record"
    seen = []

    def forward(self, step):
        RecordRows.seen.append((step.epoch, step.rows.tolist()))
        return step.z.sum() * 0.0


def test_the_net_hands_each_batchs_rows_and_epoch_to_the_loss(unpaired):
    RecordRows.seen = []
    X, y = unpaired["X_student"], unpaired["y_student"]
    CrossModalDistiller(**FAST, terms=[RecordRows()], neighbor_weight=0.0).fit(X, y)
    epochs = {}
    for epoch, rows in RecordRows.seen:
        epochs.setdefault(epoch, []).extend(rows)
    assert sorted(epochs) == [1, 2, 3]
    for rows in epochs.values():
        assert sorted(rows) == list(range(len(X)))  # every row once per epoch


def test_a_fit_solves_in_one_epoch_of_every_transport_every(unpaired, monkeypatch):
    """150 rows, batch 64: 3 batches an epoch; 6 epochs at transport_every=3 solve in 2."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return transport_targets(*args, **kwargs)

    monkeypatch.setattr(skcmkd.terms, "transport_targets", counted)
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**{**FAST, "max_epochs": 6}, transport_every=3)
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    model.fit(X, y)
    assert len(X) == 150 and len(calls) == 2 * 3
    again = clone(model).fit(X, y)
    assert np.array_equal(model.predict_proba(X), again.predict_proba(X))
    assert np.all(np.isfinite(model.history_[:, "fa"]))


def test_kept_targets_are_never_pickled(unpaired, target):
    term = FeatureAlignment(1.0, transport_every=3)
    loss = DistillationLoss(terms=[term], target=target, teacher_batch_size=16, seed=0)
    z, logits, y = _batch(target)
    loss.epoch = 1
    loss((logits, z), y, rows=torch.arange(8))
    assert term._solved_in is not None  # kept mid-fit
    copied = pickle.loads(pickle.dumps(term))
    assert copied._targets is None and copied._solved_in is None
    assert copied.transport_every == 3 and term._solved_in is not None  # the original keeps them
    model = CrossModalDistiller(**FAST, transport_every=2)
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    fitted = next(t for t in model.net_.criterion_.terms if isinstance(t, FeatureAlignment))
    assert fitted._solved_in is None  # emptied when the fit ended


def test_rows_missed_by_a_solve_epoch_are_solved_when_they_come(unpaired):
    """drop_last leaves some rows out of each epoch: they get their targets when they come."""
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(
        **{**FAST, "max_epochs": 6}, transport_every=3, iterator_train__drop_last=True
    )
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    model.fit(X, y)
    assert np.all(np.isfinite(model.history_[:, "fa"]))


def test_transport_every_must_be_a_positive_integer(unpaired):
    with pytest.raises(InvalidParameterError, match="transport_every"):
        CrossModalDistiller(transport_every=0).fit(unpaired["X_student"], unpaired["y_student"])
