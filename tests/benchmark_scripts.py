"""Load a script of benchmarks/ as a module, for their smoke tests."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name):
    """``benchmarks/<name>.py`` (``"probes/<name>"`` for a probe), imported (its ``main`` not run)."""
    module_name = "benchmark_" + name.replace("/", "_")
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
