"""The held-out check's students trained together (skcmkd._stacked) are the students their own fits train."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from skcmkd import CrossModalDistiller, SafeAlignment
from skcmkd._labels import encode_labels
from skcmkd._meta import fit_weighing
from skcmkd._stacked import StackedStudents, fit_predict_stacked, train_stacked
from skcmkd.modules import EncoderClassifier, MLPEncoder


class TanhEncoder(nn.Module):
    """A module the stack runs through vmap (not the default MLP)."""

    def __init__(self, n_features, latent_dim):
        super().__init__()
        self.linear = nn.Linear(n_features, latent_dim)

    def forward(self, X):
        return torch.tanh(self.linear(X))


class ItemEncoder(nn.Module):
    """A module vmap cannot run: its forward reads a number out of a tensor."""

    def __init__(self, n_features, latent_dim):
        super().__init__()
        self.linear = nn.Linear(n_features, latent_dim)

    def forward(self, X):
        return self.linear(X) * float(self.linear.weight.abs().sum().item() > 0)


def _students(encoder, n=3, seed=0):
    torch.manual_seed(seed)
    return [EncoderClassifier(encoder(n_features=5, latent_dim=4), 4, 3) for _ in range(n)]


@pytest.mark.parametrize(
    "encoder",
    [
        lambda **kw: MLPEncoder(hidden_units=(8, 6), **kw),
        lambda **kw: MLPEncoder(layer_norm=False, **kw),
        TanhEncoder,
    ],
    ids=["mlp", "mlp-no-norm", "custom"],
)
def test_stack_outputs_are_each_students_own(encoder):
    students = _students(encoder)
    stack = StackedStudents(students).eval()
    X, neighbor = torch.randn(7, 5), torch.randn(7, 5)
    logits, z, z_neighbor = stack(X, neighbor)
    assert logits.shape == (3, 7, 3) and z.shape == z_neighbor.shape == (3, 7, 4)
    for k, student in enumerate(students):
        own_logits, own_z, own_neighbor = student.eval()(X, neighbor)
        torch.testing.assert_close(logits[k], own_logits, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(z[k], own_z, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(z_neighbor[k], own_neighbor, rtol=1e-5, atol=1e-6)
    logits_only, z_only = stack(X)
    torch.testing.assert_close(logits_only, logits)
    torch.testing.assert_close(z_only, z)


def test_stack_trains_only_its_own_weights():
    """The stack's parameters are its stacked weights; gradients reach every student."""
    stack = StackedStudents(_students(MLPEncoder)).train()
    logits, _ = stack(torch.randn(4, 5))
    logits[1].sum().backward()
    grads = [p.grad for p in stack.parameters()]
    assert all(g is not None for g in grads)
    # only student 1's slice gets a gradient from student 1's output
    assert all(float(g[0].abs().sum()) == 0 and float(g[2].abs().sum()) == 0 for g in grads)
    assert any(float(g[1].abs().sum()) > 0 for g in grads)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    y_t = np.arange(90) % 3
    X_t = rng.randn(90, 4) + 2.5 * y_t[:, None]
    y = np.arange(60) % 3
    X = rng.randn(60, 5) + 2.5 * y[:, None]
    y_s = y.copy()
    y_s[12:] = -1
    distiller = CrossModalDistiller(max_epochs=3, random_state=0, module__dropout=0.0)
    distiller.set_teacher(X_t, y_t, max_epochs=3)
    return distiller, X, y_s


def test_without_dropout_stacked_students_equal_their_own_fits(problem):
    """No dropout: the same start, batches, draws and Adam steps, so the same weights."""
    distiller, X, y = problem
    classes = np.arange(3)
    hidden = y.copy()
    hidden[:6] = -1  # a fold's labels hidden
    columns, trusts = [hidden, hidden, y], [1.0, 0.0, 1.0]
    share = float(np.mean(y == -1))
    net, _ = train_stacked(distiller, X, columns, trusts, classes=classes, unlabeled_share=share)
    stacked = dict(zip(net.module_._param_names, net.module_.weights, strict=True))
    for k, (column, trust) in enumerate(zip(columns, trusts, strict=True)):
        own = clone(distiller).set_params(unlabeled_trust=trust)
        fit_weighing(own, X, column, share, classes)
        for name, weight in own.net_.module_.named_parameters():
            torch.testing.assert_close(stacked[name][k], weight, rtol=1e-4, atol=1e-5)


def test_sample_weights_count_per_student(problem):
    """A weight of 0 on one class's labelled rows: that student cannot learn the class."""
    distiller, X, y = problem
    weights = np.where(y == 2, 0.0, 1.0)
    weights[y == -1] = 1.0
    plain = [y, y]
    predicted = fit_predict_stacked(
        distiller.set_params(max_epochs=30),
        X,
        plain,
        [0.0, 0.0],
        classes=np.arange(3),
        unlabeled_share=0.8,
        weights=weights,
    )
    distiller.set_params(max_epochs=3)
    unweighted = fit_predict_stacked(
        clone(distiller).set_params(max_epochs=30),
        X,
        plain,
        [0.0, 0.0],
        classes=np.arange(3),
        unlabeled_share=0.8,
    )
    assert np.mean(predicted[0] == 2) < np.mean(unweighted[0] == 2)


def test_safe_alignment_stacked_and_one_by_one_measure_alike(problem):
    """The held-out check's two ways give the same rows right without dropout."""
    distiller, X, y = problem
    classes, codes = encode_labels(distiller.teacher, y)
    checks = [
        SafeAlignment(distiller, stack_students=stack, check_transport_every=None)._check_holdout(
            distiller, X, y, None, classes, codes, 1.0, 0
        )
        for stack in (True, False)
    ]
    (stacked, stacked_trainings), (own, own_trainings) = checks
    assert stacked.measured and own.measured
    assert stacked.aligned_accuracy == own.aligned_accuracy
    assert stacked.plain_accuracy == own.plain_accuracy
    assert (stacked_trainings, own_trainings) == (1, 6)


def test_a_module_vmap_cannot_run_says_what_to_do():
    stack = StackedStudents(_students(ItemEncoder))
    with pytest.raises(RuntimeError, match="stack_students=False"):
        stack(torch.randn(4, 5))
    X, y = np.random.RandomState(0).randn(60, 5), np.arange(60) % 3
    y[12:] = -1
    distiller = CrossModalDistiller(module=ItemEncoder, max_epochs=2, random_state=0)
    one_by_one = SafeAlignment(distiller, margin=-np.inf, cluster_ramp=(-np.inf, -np.inf))
    assert one_by_one.set_params(stack_students=False).fit(X, y).n_trainings_ == 7


def test_students_that_diverge_raise_and_name_the_fix(problem):
    from skcmkd.exceptions import NonFiniteLossError

    distiller, X, y = problem
    with pytest.raises(NonFiniteLossError, match="lr"):
        train_stacked(
            clone(distiller).set_params(lr=1e12, max_epochs=5),
            X,
            [y, y],
            [1.0, 0.0],
            classes=np.arange(3),
            unlabeled_share=0.8,
        )
