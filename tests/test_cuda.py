"""device="cuda": training, the teacher on the device, and a model that loads anywhere.

These need a CUDA device and skip without one (``benchmarks/gpu.py`` measures
the speed). On a machine with a GPU they run with the rest of the suite.
"""

import numpy as np
import pytest
import torch

from skcmkd import CrossModalDistiller, load_model, save_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _data(n=240, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = 4 * np.eye(6)[y] + rng.randn(n, 6)
    y_teacher = np.arange(300) % 3
    X_teacher = 4 * np.eye(5)[y_teacher] + rng.randn(300, 5)
    return X, np.where(np.arange(n) < 30, y, -1), y, X_teacher, y_teacher


@pytest.mark.parametrize("solver", ["emd", "sinkhorn", "sliced"])
def test_a_cuda_fit_trains_on_the_device_with_every_solver(solver):
    X, y, truth, X_teacher, y_teacher = _data()
    model = CrossModalDistiller(
        solver=solver, unlabeled_trust=1.0, max_epochs=5, device="cuda", random_state=0
    )
    model.set_teacher(X_teacher, y_teacher, max_epochs=5).fit(X, y)
    assert next(model.net_.module_.parameters()).is_cuda
    tensors = model.net_.criterion_._sampler._tensors  # as training left them
    assert tensors["bank"].is_cuda and tensors["labels"].is_cuda
    assert np.isfinite(model.history_[-1, "fa"])
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert model.score(X, truth) > 0.8


def test_a_cuda_fit_matches_the_cpu_fit_closely():
    """Same seed, same draws: the devices differ only in floating-point rounding."""
    X, y, _, X_teacher, y_teacher = _data()
    predictions = []
    for device in ("cpu", "cuda"):
        model = CrossModalDistiller(
            unlabeled_trust=1.0, max_epochs=5, device=device, random_state=0
        )
        model.set_teacher(X_teacher, y_teacher, max_epochs=5).fit(X, y)
        predictions.append(model.predict(X))
    assert np.mean(predictions[0] == predictions[1]) > 0.95


def test_a_cuda_model_saves_and_predicts_on_the_cpu(tmp_path, monkeypatch):
    X, y, _, X_teacher, y_teacher = _data()
    model = CrossModalDistiller(max_epochs=3, device="cuda", random_state=0)
    model.set_teacher(X_teacher, y_teacher, max_epochs=3).fit(X, y)
    path = tmp_path / "model.skcmkd"
    save_model(model, path)
    expected = model.predict(X)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only machine
    loaded = load_model(path)
    assert loaded.net_.device == "cpu"
    assert np.array_equal(loaded.predict(X), expected)
