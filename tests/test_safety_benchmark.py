"""benchmarks/safety.py: the rules evaluated from recorded fits, and the page (no training)."""

import numpy as np
import pytest

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def safety():
    return load_benchmark("safety")


def _row(safety, case, seed, *, aligned, alone, logreg, gain, trust=1.0):
    values = dict.fromkeys(safety.FIELDS, 0.0)
    values.update(aligned=aligned, alone=alone, logreg=logreg, gain=gain, trust=trust)
    values["fallback"] = alone
    values.update(measured=float(trust > 0), gain_se=0.05, holdout_aligned=0.5)
    values["holdout_plain"] = 0.5 - gain
    return {"case": case, "seed": seed, **values}


@pytest.fixture(scope="module")
def rows(safety):
    """Alignment helps on mfeat (held-out gain +0.1) and hurts on shapes (held-out gain -0.1)."""
    rows = []
    for seed in (*safety.PROBE_SEEDS, *safety.TEST_SEEDS):
        for case in safety.FAMILIES["mfeat"][:2]:
            rows.append(_row(safety, case, seed, aligned=0.8, alone=0.7, logreg=0.7, gain=0.1))
        for case in safety.FAMILIES["shapes"]:
            rows.append(_row(safety, case, seed, aligned=0.5, alone=0.7, logreg=0.6, gain=-0.1))
        case = safety.FAMILIES["spoken digits"][0]  # the cluster check said no: nothing measured
        rows.append(_row(safety, case, seed, aligned=0.4, alone=0.4, logreg=0.38, gain=0, trust=0))
    return rows


def test_a_margin_keeps_what_helps_and_drops_what_hurts(safety, rows):
    shapes = [r for r in rows if r["case"] in safety.FAMILIES["shapes"]]
    assert all(safety.leaked(r, -np.inf) for r in shapes)  # today's rule: every split leaks
    assert not any(safety.leaked(r, 0.0) for r in shapes)
    assert safety.evaluate(rows, 0.0)["per_family"]["mfeat"] == pytest.approx(10.0)
    assert safety.evaluate(rows, np.inf)["per_family"]["mfeat"] == pytest.approx(0.0)
    assert safety.keeps(rows[0], ("z", 1.0)) and not safety.keeps(rows[0], ("z", 3.0))


def test_the_choice_leaves_each_family_out(safety, rows):
    summary = safety.summarise(rows)
    # every finite margin separates +0.1 from -0.1 equally well: ties go to the safer one
    assert summary["package"] == max(m for m in safety.MARGINS if np.isfinite(m))
    assert set(summary["lofo"]) == {"mfeat", "spoken digits", "shapes"}
    for family, result in summary["lofo"].items():
        assert result["leak"] == 0.0, family
    assert all(summary["bars"].values())
    assert summary["mfeat_gain"] == pytest.approx((10.0, 10.0))


def test_the_page_and_the_saved_rows_agree(safety, rows, tmp_path):
    summary = safety.summarise(rows)
    page = safety.report(rows, 60.0, summary, command="python benchmarks/safety.py")
    for section in ("## Leave one family out", "## Every margin, every family", "## Bars"):
        assert section in page
    assert "| shapes-contour->shapes-image |" in page
    safety.save_rows(rows, 60.0, tmp_path / "safety.csv")
    again, seconds = safety.load_rows(tmp_path / "safety.csv")
    assert seconds == 60.0 and len(again) == len(rows)
    assert safety.report(again, seconds, safety.summarise(again), command="x") == safety.report(
        rows, 60.0, summary, command="x"
    )
