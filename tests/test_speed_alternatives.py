"""benchmarks/speed_alternatives.py on small sizes: every section measured and rendered (not timing)."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def alternatives():
    return load_benchmark("speed_alternatives")


def test_quick_run_writes_every_section(alternatives, tmp_path):
    out = tmp_path / "speed_alternatives.md"
    assert alternatives.main(["--quick", "--out", str(out)]) == 0
    page = out.read_text()
    for title in (
        "The floor of a pre-training check",
        "in one solve",
        "as an assignment",
        "on a background thread",
    ):
        assert title in page
    results = json.loads(out.with_suffix(".json").read_text())
    floor = results["floor"][0]
    assert floor["floor_ms"] == pytest.approx(
        floor["logistic_ms"] + floor["graph_ms"] + floor["spreading_ms"]
    )
    assert all(floor[key] > 0 for key in ("epoch_64_ms", "epoch_256_ms", "check_ms"))
    # both solvers reach the optimum: the assignment is a correct alternative, only its speed
    # is in question
    assert results["transport"]["recorded"]["problems"] > 0
    assert results["transport"]["recorded"]["same_cost"]
    assert results["transport"]["random"]["same_cost"]
    assert results["folds"][0]["agreement"] > 0.95
    assert results["command"] in page


def test_joint_solve_finds_each_folds_logistic_regression(alternatives):
    """The alternative measured is the right one: scikit-learn's fits, to solver tolerance."""
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(3), 30)
    X = rng.randn(90, 4) + 1.5 * np.eye(4)[y]
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    joint, _ = alternatives.joint_fold_predictions(X, y, splits)
    for (train, test), predicted in zip(splits, joint, strict=True):
        reference = LogisticRegression(max_iter=2000, tol=1e-8).fit(X[train], y[train])
        assert np.array_equal(predicted, reference.predict(X[test]))
