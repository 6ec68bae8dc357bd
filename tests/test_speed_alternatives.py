"""benchmarks/probes/speed_alternatives.py on small sizes: every section measured and rendered (not timing)."""

import json

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def alternatives():
    return load_benchmark("probes/speed_alternatives")


def test_quick_run_writes_every_section(alternatives, tmp_path):
    out = tmp_path / "speed_alternatives.md"
    assert alternatives.main(["--quick", "--out", str(out)]) == 0
    page = out.read_text()
    for title in (
        "The floor of the pre-training check",
        "in one solve",
        "as an assignment",
        "beside the training steps",
    ):
        assert title in page
    results = json.loads(out.with_suffix(".json").read_text())
    (floor,) = results["floor"]
    # the floor is one fold of the check on the check's own rows: at most 500 labelled + 2,000
    assert floor["check_rows"] <= 2500 and floor["logistic"] < floor["check"]
    # both solvers reach the optimum: the assignment is a correct alternative, only its speed
    # is in question
    recorded = results["transport"]["recorded"]
    assert recorded["problems"] > 0 and recorded["same_cost"] and recorded["same_rows"] == 1.0
    assert results["folds"][0]["agreement"] > 0.95
    threaded = results["threaded"]
    assert threaded["one_after_other"] == pytest.approx(threaded["solves"] + threaded["steps"])
    assert results["command"] in page


def test_joint_solve_is_each_folds_logistic_regression(alternatives):
    """Overlapping classes, so that a wrong penalty or intercept would show in the probabilities."""
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(3), 40)
    X = rng.randn(120, 4) + 0.7 * np.eye(4)[y]
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    coef, _ = alternatives.joint_fold_fit(X, y, splits)
    inputs = np.hstack([X, np.ones((len(X), 1))])
    for p, (train, _) in enumerate(splits):
        reference = LogisticRegression(tol=1e-10, max_iter=10_000).fit(X[train], y[train])
        ours = softmax(inputs @ coef[p], axis=1)
        assert np.allclose(ours, reference.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize(
    "verdict, rows, says",
    [
        ("folds_verdict", [{"joint": 1.0, "sklearn": 2.0, "agreement": 0.999}], "worth building"),
        ("folds_verdict", [{"joint": 1.9, "sklearn": 2.0, "agreement": 0.999}], "**Dropped.**"),
    ],
)
def test_folds_verdict_follows_the_numbers(alternatives, verdict, rows, says):
    assert says in getattr(alternatives, verdict)(rows)


def _transport(recorded, random):
    return {
        "recorded": {"assignment": recorded, "emd": 1.0, "same_cost": True},
        "random": {"assignment": random, "emd": 1.0},
    }


def test_transport_verdict_follows_training_not_random_costs(alternatives):
    assert "worth building" in alternatives.transport_verdict(_transport(0.5, 2.0))
    dropped = alternatives.transport_verdict(_transport(1.3, 0.5))
    assert "**dropped**" in dropped and "random costs alone would have kept it" in dropped
    assert "random costs" not in alternatives.transport_verdict(_transport(1.3, 1.2))


def test_thread_verdict_follows_the_overlap(alternatives):
    timing = {"solves": 1.0, "steps": 1.0, "one_after_other": 2.0, "n_solves": 10}
    assert "overlap the steps" in alternatives.thread_verdict({**timing, "side_by_side": 1.1})
    assert "**Not built.**" in alternatives.thread_verdict({**timing, "side_by_side": 1.9})
