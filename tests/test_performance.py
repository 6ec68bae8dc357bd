"""benchmarks/performance.py runs on tiny sizes and renders its page (a smoke test, not timing)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "performance.py"


@pytest.fixture(scope="module")
def performance():
    spec = importlib.util.spec_from_file_location("performance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_renders_every_section(performance, tmp_path):
    epochs = performance.epoch_ratios([32, 256], n_student=256, n_bank=300, rounds=1, epochs=2)
    assert {"plain", "emd", "sinkhorn", "sliced"} <= set(epochs[0])
    steps = [performance.step_costs(256, 300, repeat=1)]
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
    for heading in (
        "## 1. Time per epoch",
        "## 2. One step",
        "## 3. Memory",
        "## 4. Predict",
        "## Verdict",
    ):
        assert heading in page
    assert "floor for emd" in page and "bare POT emd" in page


def _bank(performance, directory, n_bank, latent):
    performance._write_bank(directory, n_bank, latent)
    return directory
