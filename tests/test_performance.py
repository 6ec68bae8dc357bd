"""benchmarks/performance.py runs on tiny sizes and renders its page (a smoke test, not timing)."""

import json

import pytest

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def performance():
    return load_benchmark("performance")


def test_tiny_run_renders_every_section(performance, tmp_path):
    epochs = performance.epoch_ratios([32, 256], n_student=256, n_bank=300, rounds=1, epochs=2)
    assert {"plain", "emd", "sinkhorn", "sliced", "emd every step", "deepjdot"} <= set(epochs[0])
    steps = [performance.step_costs(256, 300, repeat=1)]
    if performance.EVERY > 1:
        assert any("between solves" in name for name in steps[0])
    assert all(seconds > 0 for name, seconds in steps[0].items() if "batch" not in name)
    probe = performance._run_probe(64, 500, "memmap", 8, 2, _bank(performance, tmp_path, 500, 8))
    assert probe["peak_mib"] > 0 and probe["epoch_s"] > 0
    scaling = [
        {
            "what": "plain fit (no teacher)",
            "n_student": 64,
            "n_bank": 0,
            **probe,
            "over_plain_mib": 0.0,
        },
        {"what": "bank in memmap", "n_student": 64, "n_bank": 500, **probe, "over_plain_mib": 1.0},
    ]
    results = {
        "gated_off": performance.gated_off_fits(600, [(256, 2)], rounds=1),
        "checks": performance.check_costs([600], rounds=1),
        "million": performance.million_rows(800, 1),
        "holdout": performance.holdout_fits(600, rounds=1, epochs=2),
        "grid_searches": performance.grid_searches(600, rounds=1, epochs=1),
        "fixed_rounds": 1,
        "machine": "test",
        "n_student": 256,
        "epochs": epochs,
        "steps": steps,
        "scaling": scaling,
        "scaling_epochs": 2,
        "predict_rows_per_s": performance.predict_throughput(1000, 1),
        "predict_rows": 1000,
        "predict_rounds": 1,
    }
    results["verdict"] = performance.verdict(results)
    page = performance.render(results, "python benchmarks/performance.py --quick", 1.0)
    assert results["gated_off"][0]["trust"] == 0.0  # the voiced rows: the check says no
    assert "within 1.2x of the net alone" in results["verdict"]
    for heading in (
        "## 0. Fixed costs",
        "## 1. Time per epoch",
        "## 2. One step",
        "## 3. Memory",
        "## 4. Predict",
        "## Verdict",
    ):
        assert heading in page
    assert "floor for emd" in page and "bare POT emd" in page
    assert "Reuse across fits" in page
    assert all(row["on"] > 0 and row["off"] > 0 for row in results["grid_searches"])
    saved = tmp_path / "performance.json"
    saved.write_text(json.dumps({**results, "command": "python x.py", "wall_s": 1.0}))
    out = tmp_path / "again.md"
    assert performance.main(["--from-json", str(saved), "--out", str(out)]) == 0
    assert out.read_text() == performance.render(results, "python x.py", 1.0)


def _bank(performance, directory, n_bank, latent):
    performance._write_bank(directory, n_bank, latent)
    return directory


def test_the_recorded_step_is_the_transport_the_criterion_solves(performance):
    """The recording term sees what the default term hands the solver, and leaves it in place."""
    import numpy as np
    import torch

    from skcmkd import CrossModalDistiller
    from skcmkd.alignment import feature_alignment
    from skcmkd.terms import FeatureAlignment

    X, y, bank, y_bank = performance.make_data(256, 300)
    model = CrossModalDistiller(batch_size=64, max_epochs=1, random_state=0)
    model.set_teacher(bank, y_bank, encoder="precomputed").fit(X, y)
    module, criterion = model.net_.module_.eval(), model.net_.criterion_
    criterion.factor = 1.0
    X_batch = torch.from_numpy(model.scaler_.transform(X[:64]).astype(np.float32))
    y_batch = torch.from_numpy(y[:64]).long()
    inputs = performance._recorded_step(criterion, module, X_batch, y_batch)
    assert inputs["z_s"].shape == (64, 32 + 10) and inputs["z_t"].shape == (256, 32 + 10)
    assert type(criterion.terms[0]) is FeatureAlignment  # put back
    value = feature_alignment(inputs["z_s"], inputs["z_t"], b=inputs["b"])
    assert torch.isclose(value, criterion.terms_["fa"])  # the recorded call's own value
