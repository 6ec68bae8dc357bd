import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator

from skcmkd import CrossModalDistiller, Teacher
from skcmkd._teacher import _mean_squared_distance, torch_seed

from .conftest import FAST, TEACHER_FAST


def test_mlp_teacher_keeps_a_float32_bank_with_labels(fitted, unpaired):
    teacher = fitted.teacher
    assert isinstance(teacher, Teacher) and teacher.kind == "mlp"
    assert teacher.bank_.dtype == np.float32
    assert teacher.bank_.shape == (len(unpaired["y_teacher"]), 32)
    assert np.array_equal(teacher.classes_[teacher.bank_labels_], unpaired["y_teacher"])
    assert teacher.prior_.sum() == pytest.approx(1.0)
    assert teacher.cost_scale_ > 0


def test_mlp_teacher_learns_its_own_modality(unpaired):
    distiller = CrossModalDistiller(random_state=0)
    teacher = distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], max_epochs=30)
    teacher = teacher.teacher
    accuracy = np.mean(teacher.predict(unpaired["X_teacher"]) == unpaired["y_teacher"])
    assert accuracy > 0.9
    assert np.allclose(teacher.transform(unpaired["X_teacher"]), teacher.bank_, atol=1e-5)


def test_precomputed_teacher_fits_only_the_head(unpaired):
    embeddings = PCA(8, random_state=0).fit_transform(unpaired["X_teacher"])
    distiller = CrossModalDistiller(**FAST)
    teacher = distiller.set_teacher(embeddings, unpaired["y_teacher"], encoder="precomputed")
    teacher = teacher.teacher
    assert teacher.kind == "precomputed" and teacher.encoder is None
    assert np.array_equal(teacher.bank_, embeddings.astype(np.float32))
    assert np.mean(teacher.predict(embeddings) == unpaired["y_teacher"]) > 0.8
    distiller.fit(unpaired["X_student"], unpaired["y_student"])
    assert distiller.transform(unpaired["X_test"]).shape == (len(unpaired["X_test"]), 8)


def test_fitted_sklearn_transformer_as_teacher_encoder(unpaired):
    pca = PCA(6, random_state=0).fit(unpaired["X_teacher"])
    distiller = CrossModalDistiller(**FAST)
    encoder = FrozenEstimator(pca)
    teacher = distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], encoder=encoder)
    teacher = teacher.teacher
    assert teacher.kind == "encoder"
    assert np.allclose(teacher.bank_, pca.transform(unpaired["X_teacher"]), atol=1e-5)
    assert (
        distiller.fit(unpaired["X_student"], unpaired["y_student"])
        .transform(unpaired["X_test"])
        .shape[1]
        == 6
    )


def test_torch_module_as_teacher_encoder(unpaired):
    with torch_seed(0):
        encoder = torch.nn.Linear(unpaired["X_teacher"].shape[1], 5)
    distiller = CrossModalDistiller(**FAST)
    teacher = distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], encoder=encoder)
    teacher = teacher.teacher
    with torch.no_grad():
        expected = encoder(torch.as_tensor(unpaired["X_teacher"], dtype=torch.float32)).numpy()
    assert np.allclose(teacher.bank_, expected, atol=1e-5)
    assert teacher.latent_dim_ == 5


def test_binary_teacher_head_from_logistic_regression():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, 80)
    X = rng.randn(80, 3) + 3 * y[:, None]
    teacher = CrossModalDistiller().set_teacher(X, y, encoder="precomputed").teacher
    assert teacher.head.weight.shape == (2, 3)
    assert np.mean(teacher.predict(X) == y) > 0.9


def test_teacher_never_trains_during_student_fit(unpaired):
    distiller = CrossModalDistiller(**FAST).set_teacher(
        unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST
    )
    teacher = distiller.teacher
    bank, weight = teacher.bank_.copy(), teacher.head.weight.detach().clone()
    encoder_state = {k: v.clone() for k, v in teacher.encoder.state_dict().items()}
    distiller.fit(unpaired["X_student"], unpaired["y_student"])
    assert np.array_equal(teacher.bank_, bank)
    assert torch.equal(teacher.head.weight, weight)
    for key, value in teacher.encoder.state_dict().items():
        assert torch.equal(value, encoder_state[key])


def test_teacher_labels_must_all_be_present():
    X, y = np.random.RandomState(0).randn(10, 2), np.array([0, 1] * 4 + [-1, -1])
    with pytest.raises(ValueError, match="needs a label for every row"):
        CrossModalDistiller().set_teacher(X, y)


def test_teacher_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        CrossModalDistiller().set_teacher(np.ones((5, 2)), np.zeros(5))


def test_torch_seed_leaves_global_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch_seed(0):
        torch.rand(5)
    assert torch.equal(torch.rand(3), expected)


def test_memory_mapped_embeddings_are_used_in_place(unpaired, tmp_path):
    embeddings = PCA(8, random_state=0).fit_transform(unpaired["X_teacher"])
    np.save(tmp_path / "bank.npy", np.ascontiguousarray(embeddings, dtype=np.float32))
    mapped = np.load(tmp_path / "bank.npy", mmap_mode="r")
    distiller = CrossModalDistiller(**FAST).set_teacher(
        mapped, unpaired["y_teacher"], encoder="precomputed"
    )
    assert np.shares_memory(distiller.teacher.bank_, mapped)  # no copy of the bank
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even torch's warning about read-only arrays
        distiller.fit(unpaired["X_student"], unpaired["y_student"])
    bank = distiller.net_.criterion_._sampler.tensors(torch.device("cpu"))["bank"]
    assert np.shares_memory(bank.numpy(), mapped)


def test_cost_scale_by_chunks_matches_the_direct_formula():
    bank = np.random.RandomState(0).randn(1000, 5).astype(np.float32)
    centred = bank - bank.mean(axis=0, dtype=np.float64)
    direct = 2 * np.mean(np.sum(centred**2, axis=1))
    assert _mean_squared_distance(bank, chunk=64) == pytest.approx(direct, rel=1e-10)


def test_large_banks_fit_the_head_on_a_subset(unpaired):
    embeddings = PCA(8, random_state=0).fit_transform(unpaired["X_teacher"])
    teacher = (
        CrossModalDistiller(**FAST)
        .set_teacher(embeddings, unpaired["y_teacher"], encoder="precomputed", max_head_rows=120)
        .teacher
    )
    assert teacher.settings["max_head_rows"] == 120
    assert len(teacher.bank_) == 300  # the bank keeps every row
    assert np.mean(teacher.predict(embeddings) == unpaired["y_teacher"]) > 0.7


def test_a_fortran_ordered_memory_map_is_copied_once(unpaired, tmp_path):
    embeddings = np.asfortranarray(PCA(8, random_state=0).fit_transform(unpaired["X_teacher"]))
    np.save(tmp_path / "bank.npy", embeddings.astype(np.float32))
    mapped = np.load(tmp_path / "bank.npy", mmap_mode="r")
    teacher = (
        CrossModalDistiller(**FAST)
        .set_teacher(mapped, unpaired["y_teacher"], encoder="precomputed")
        .teacher
    )
    assert teacher.bank_.flags["C_CONTIGUOUS"] and not np.shares_memory(teacher.bank_, mapped)


def test_target_keeps_the_teacher_at_relations_one(fitted):
    target = fitted.teacher.alignment_target(1.0)
    assert target.shift is None and target.bank is fitted.teacher.bank_
    assert target.cost_scale == fitted.teacher.cost_scale_


def test_target_evens_out_the_class_means_and_refits_the_head(fitted, unpaired):
    teacher = fitted.teacher
    target = teacher.alignment_target(0.0, random_state=0)
    means = teacher.class_means_ + target.shift
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(10, 1)]
    assert distances.std() / distances.mean() < 1e-4
    moved = teacher.bank_ + target.shift[teacher.bank_labels_]
    predicted = np.argmax(moved @ target.head_weight.numpy().T + target.head_bias.numpy(), axis=1)
    assert np.mean(predicted == teacher.bank_labels_) > 0.9
    halfway = teacher.alignment_target(0.5).shift
    assert np.allclose(halfway, target.shift / 2, atol=1e-5)


def test_class_means_by_chunks_match_the_direct_means(fitted):
    teacher = fitted.teacher
    direct = [teacher.bank_[teacher.bank_labels_ == c].mean(axis=0) for c in range(10)]
    assert np.allclose(teacher.class_means_, direct, atol=1e-5)


def test_class_means_by_small_chunks_skip_unlabelled_rows():
    from skcmkd.alignment import class_means

    rng = np.random.RandomState(0)
    Z, codes = rng.randn(50, 3), rng.randint(-1, 4, 50)
    direct = [Z[codes == c].mean(axis=0) for c in range(4)]
    assert np.allclose(class_means(Z, codes, 4, chunk=7), direct)


def test_relation_means_are_the_whitened_class_means_of_the_teacher_inputs(unpaired):
    from skcmkd._teacher import relation_means_of
    from skcmkd.unseen_rows import relation_space

    X, y = unpaired["X_teacher"], unpaired["y_teacher"]
    teacher = CrossModalDistiller(**FAST).set_teacher(X, y, **TEACHER_FAST).teacher
    whitened = relation_space(X)
    expected = np.stack([whitened[y == c].mean(axis=0) for c in teacher.classes_])
    np.testing.assert_allclose(teacher.relation_means_, expected, atol=1e-8)
    # a teacher given embeddings keeps them as its inputs
    bank = teacher.bank_
    precomputed = CrossModalDistiller(**FAST).set_teacher(bank, y, encoder="precomputed").teacher
    codes = np.searchsorted(teacher.classes_, y)
    np.testing.assert_allclose(
        precomputed.relation_means_, relation_means_of(bank, codes, len(teacher.classes_))
    )
    # beyond max_rows, the whitening is fitted on a seeded draw and the means stay exact
    sampled = relation_means_of(X, codes, len(teacher.classes_), max_rows=50, random_state=0)
    assert sampled.shape == (len(teacher.classes_), 49) and np.isfinite(sampled).all()


def test_a_teacher_built_without_relation_means_takes_them_from_its_bank(fitted):
    teacher = fitted.teacher
    rebuilt = Teacher(
        kind=teacher.kind,
        encoder=teacher.encoder,
        scaler=teacher.scaler,
        head=teacher.head,
        classes=teacher.classes_,
        bank=teacher.bank_,
        bank_labels=teacher.bank_labels_,
        n_features=teacher.n_features_in_,
    )
    assert rebuilt.relation_means_.shape[0] == len(teacher.classes_)
    assert not np.allclose(rebuilt.relation_means_[:, :2], teacher.relation_means_[:, :2])
