"""benchmarks/fallback.py: the choice among fall-backs and the page, from recorded rows (no training)."""

import numpy as np
import pytest

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("fallback")


def _rows(bench):
    """The common scale wins with the features as given and collapses in mixed units."""
    rows = []
    for cases in bench.FAMILIES.values():
        for case in cases[:1]:
            for seed in (*bench.PROBE_SEEDS, *bench.TEST_SEEDS):
                for condition in bench.CONDITIONS:
                    mixed = condition != "as given"
                    values = dict(student=0.60, logreg=0.62, product_standardised=0.63)
                    values.update(mean_standardised=0.625, package=0.64 if not mixed else 0.63)
                    values.update(product_global=0.40 if mixed else 0.66)
                    values.update(mean_global=0.45 if mixed else 0.655)
                    scaling = "standardised" if mixed else "global"
                    rows.append(
                        {
                            "case": case,
                            "seed": seed,
                            "condition": condition,
                            "scaling": scaling,
                            **values,
                        }
                    )
    return rows


def test_units_rule_out_the_common_scale(bench):
    rows = _rows(bench)
    families = list(bench.FAMILIES)
    # best as given, but below the net alone in mixed units: not eligible
    assert bench.choose(rows, families) == "package"
    summary = bench.summarise(rows)
    assert {v["chosen"] for v in summary["lofo"].values()} == {"package"}
    assert summary["lofo"]["mfeat"]["mean"] == pytest.approx(2.0)
    assert all(summary["bars"].values())


def test_margins_are_against_the_better_of_net_and_logreg_per_split(bench):
    row = {"case": ("fac", "fou"), "student": 0.7, "logreg": 0.6, "package": 0.65}
    assert bench.margin(row, "package") == pytest.approx(-5.0)
    stats = bench.family_stats([row, dict(row, package=0.72)], "package")
    assert stats["worst_split"] == pytest.approx(-5.0) and stats["leak"] == 0.5


def test_units_change_only_the_chosen_columns(bench):
    X = np.ones((4, 20))
    assert bench.in_units(X, "as given", 0) is X
    assert (bench.in_units(X, "10% x 1000", 0) == 1000).sum(axis=1).tolist() == [2] * 4
    assert (bench.in_units(X, "one x 1e4", 0) == 1e4).sum() == 4


def test_the_page_and_the_saved_rows_agree(bench, tmp_path):
    rows = _rows(bench)
    summary = bench.summarise(rows)
    page = bench.report(rows, 60.0, summary, command="python benchmarks/fallback.py")
    for section in ("## Leave one family out", "## Every candidate, seeds 0-4", "## Bars"):
        assert section in page
    bench.save_rows(rows, 60.0, tmp_path / "fallback.csv")
    loaded, seconds = bench.load_rows(tmp_path / "fallback.csv")
    assert seconds == 60.0 and len(loaded) == len(rows)
    assert (
        bench.report(loaded, seconds, bench.summarise(loaded), command="x").split("\n")[2:]
        == (bench.report(rows, 60.0, summary, command="x").split("\n")[2:])
    )
