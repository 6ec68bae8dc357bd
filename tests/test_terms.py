"""Loss terms as objects: the built-in ones, a user's own, and skorch's routing."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skcmkd import CrossModalDistiller
from skcmkd.exceptions import NonFiniteLossError
from skcmkd.terms import FeatureAlignment, LabelAlignment, LossTerm, NeighborConsistency

from .conftest import FAST, TEACHER_FAST


class CentreTheEmbeddings(LossTerm):
    """The tutorial's term (docs/design.md): pull the batch's mean embedding to the origin."""

    name = "centre"
    title = "mean embedding at the origin"
    fix = "lower the CentreTheEmbeddings weight"

    def forward(self, step):
        return step.z.mean(dim=0).pow(2).sum()


def _distiller(unpaired, **params):
    distiller = CrossModalDistiller(**{**FAST, **params})
    return distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)


def test_a_term_added_through_the_public_route_trains_and_is_recorded(unpaired):
    """The tutorial: one class, passed in `terms`; history, weights and warm-up follow."""
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**FAST, terms=[CentreTheEmbeddings(weight=2.0)], warmup_epochs=0)
    model.fit(X, y)
    history = model.history_
    assert np.all(np.asarray(history[:, "centre"]) >= 0)
    share = np.mean(y == -1)  # per_unlabeled_row: weighted by the unlabelled share
    weights = {term.name: term.weight for term in model.net_.criterion_.terms}
    assert weights["centre"] == pytest.approx(2.0 * share)
    expected = (
        np.asarray(history[:, "ce"])
        + weights["nc"] * np.asarray(history[:, "nc"])
        + weights["centre"] * np.asarray(history[:, "centre"])
    )
    assert np.allclose(history[:, "train_loss"], expected, rtol=1e-4)
    plain = CrossModalDistiller(**FAST, warmup_epochs=0).fit(X, y)
    assert not np.allclose(model.predict_proba(X), plain.predict_proba(X))


def test_the_user_term_is_copied_not_changed_and_survives_clone(unpaired):
    term = CentreTheEmbeddings(weight=2.0)
    model = CrossModalDistiller(**FAST, terms=[term])
    model.fit(unpaired["X_student"], unpaired["y_student"])
    assert term.weight == 2.0  # the fit weighted a copy
    assert clone(model).get_params()["terms"][0].weight == 2.0


def test_the_weights_build_the_default_terms(unpaired):
    model = _distiller(unpaired, label_weight=0.5, solver="sinkhorn", reg=0.2)
    model.fit(unpaired["X_student"], unpaired["y_student"])
    terms = {type(term): term for term in model.net_.criterion_.terms}
    assert set(terms) == {FeatureAlignment, LabelAlignment, NeighborConsistency}
    assert terms[FeatureAlignment].solver == "sinkhorn" and terms[FeatureAlignment].reg == 0.2
    assert terms[LabelAlignment].weight == pytest.approx(0.5)  # not per unlabelled row
    assert set(model.history_[-1]) >= {"ce", "fa", "la", "nc"}


def test_a_teacher_term_is_skipped_without_a_teacher(unpaired):
    class NeedsTeacher(CentreTheEmbeddings):
        name, needs_teacher = "needs_teacher", True

    model = CrossModalDistiller(**FAST, terms=[NeedsTeacher()])
    model.fit(unpaired["X_student"], unpaired["y_student"])
    assert "needs_teacher" not in model.history_[-1]


def test_a_non_finite_user_term_names_its_fix(unpaired):
    class Broken(CentreTheEmbeddings):
        def forward(self, step):
            return torch.tensor(float("nan"))

    model = CrossModalDistiller(**FAST, terms=[Broken()], warmup_epochs=0)
    with pytest.raises(NonFiniteLossError, match="centre: lower the CentreTheEmbeddings weight"):
        model.fit(unpaired["X_student"], unpaired["y_student"])


@pytest.mark.parametrize(
    "terms, error, match",
    [
        (["centre"], TypeError, "LossTerm instances"),
        ([CentreTheEmbeddings(), CentreTheEmbeddings()], ValueError, "share the name"),
        ([NeighborConsistency()], ValueError, "share the name"),  # the built-in "nc"
        ([type("Nameless", (CentreTheEmbeddings,), {"name": None})()], ValueError, "name"),
        ([type("Ce", (CentreTheEmbeddings,), {"name": "ce"})()], ValueError, "other than"),
    ],
)
def test_bad_terms_get_a_clear_error(unpaired, terms, error, match):
    model = CrossModalDistiller(**FAST, neighbor_weight=1.0, terms=terms)
    with pytest.raises(error, match=match):
        model.fit(unpaired["X_student"], unpaired["y_student"])


def test_skorch_prefixes_route_to_the_net(unpaired):
    model = _distiller(
        unpaired,
        criterion__teacher_batch_size=32,
        iterator_train__drop_last=True,
        iterator_valid__batch_size=7,
        optimizer__weight_decay=0.01,
    )
    assert model.get_params()["criterion__teacher_batch_size"] == 32
    model.fit(unpaired["X_student"], unpaired["y_student"])
    net = model.net_
    assert net.criterion_.teacher_batch_size == 32  # over the estimator's own 256
    assert net.iterator_train__drop_last is True
    assert net.optimizer_.param_groups[0]["weight_decay"] == 0.01
    logits, z = model.forward(unpaired["X_test"])  # through batches of 7 rows
    assert np.allclose(
        torch.softmax(torch.from_numpy(logits).double(), 1).numpy(),
        model.predict_proba(unpaired["X_test"]),
    )
    assert np.array_equal(z, model.transform(unpaired["X_test"]))
    clone(model).set_params(iterator_train__drop_last=False)


def test_a_criterion_parameter_the_loss_lacks_is_skorchs_error(unpaired):
    model = CrossModalDistiller(**FAST, criterion__no_such_thing=1.0)
    with pytest.raises(TypeError, match="no_such_thing"):
        model.fit(unpaired["X_student"], unpaired["y_student"])


def test_dataset_parameters_are_refused(unpaired):
    model = CrossModalDistiller(**FAST, dataset__length=3)
    with pytest.raises(TypeError, match="dataset__"):
        model.fit(unpaired["X_student"], unpaired["y_student"])


def test_class_relations_is_zero_where_prototypes_sit_as_the_teacher_classes_do():
    from skcmkd.alignment import relation_mismatch

    means = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 2.0, 3.0]], dtype=torch.float64)
    z = torch.cat([3 * means, 3 * means]).requires_grad_()
    probs = torch.eye(3, dtype=torch.float64).repeat(2, 1)
    assert float(relation_mismatch(z, probs, means)) == pytest.approx(0.0, abs=1e-12)
    swapped = relation_mismatch(z, probs[:, [1, 0, 2]], means)
    assert float(swapped) > 0.01
    swapped.backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    # one class with mass: nothing to compare
    assert float(relation_mismatch(z, probs * torch.tensor([1.0, 0, 0]), means)) == 0.0


def test_class_relations_trains_through_terms_and_is_recorded(unpaired):
    from skcmkd.terms import ClassRelations

    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**FAST, terms=[ClassRelations(weight=3.0)], warmup_epochs=0)
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    model.fit(X, y)
    assert np.all(np.isfinite(np.asarray(model.history_[:, "cr"])))
    weights = {term.name: term.weight for term in model.net_.criterion_.terms}
    assert weights["cr"] == pytest.approx(3.0)  # not per unlabelled row
    plain = CrossModalDistiller(**FAST, warmup_epochs=0, teacher=model.teacher).fit(X, y)
    assert not np.allclose(model.predict_proba(X), plain.predict_proba(X))


def test_class_relations_needs_a_positive_mass():
    from skcmkd.terms import ClassRelations

    with pytest.raises(ValueError, match="min_mass must be positive"):
        ClassRelations(min_mass=0)
