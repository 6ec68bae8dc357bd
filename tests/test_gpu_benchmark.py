"""benchmarks/gpu.py, the prepared GPU command, runs end to end (on the CPU here)."""

import json

from .benchmark_scripts import load_benchmark


def test_the_gpu_script_runs_and_renders_on_any_device(tmp_path):
    gpu = load_benchmark("gpu")
    out = tmp_path / "performance_gpu.md"
    assert gpu.main(["--device", "cpu", "--quick", "--out", str(out)]) == 0
    page = out.read_text()
    assert "# Performance on a GPU" in page and "| 64 |" in page
    rows = json.loads(out.with_suffix(".json").read_text())
    solvers = ("emd", "emd every step", "sinkhorn", "sliced")
    assert rows[0]["plain"] > 0 and all(rows[0][name] > 0 for name in solvers)
    assert all(title in page for title in gpu.EPOCH_COLUMNS.values())


def test_the_gpu_script_refuses_cuda_without_a_device(monkeypatch, tmp_path, capsys):
    gpu = load_benchmark("gpu")
    monkeypatch.setattr(gpu.torch.cuda, "is_available", lambda: False)
    assert gpu.main(["--out", str(tmp_path / "x.md")]) == 2
    assert "No CUDA device" in capsys.readouterr().out
    assert not (tmp_path / "x.md").exists()
