"""The benchmark's --quick mode runs end to end (a smoke test, not accuracy)."""

import csv

import pytest

from skcmkd.benchmark import ABLATIONS, main


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    return out, main(quick=True, out=out, n_jobs=1)


def test_quick_benchmark_writes_page_plot_and_scores(quick_run):
    out, summary = quick_run
    page = (out / "benchmarks.md").read_text()
    for heading in ("## Gains of skcmkd", "## The bar", "## Ablations", "## What carries"):
        assert heading in page
    assert "python -m skcmkd benchmark --quick" in page
    assert (out / "benchmarks.png").stat().st_size > 1000
    with open(out / "benchmarks.csv") as file:
        assert file.readline().startswith("# wall_seconds:")
        rows = list(csv.DictReader(file))
    # one pair, two seeds; 5 labels/class runs every ablation, all-labelled does not
    assert {row["seed"] for row in rows} == {"0", "1"}
    assert {row["labels_per_class"] for row in rows} == {"5", "all"}
    methods_at_5 = {row["method"] for row in rows if row["labels_per_class"] == "5"}
    assert set(ABLATIONS) <= methods_at_5 and "paired_kd" in methods_at_5
    assert all(0.0 <= float(row["accuracy"]) <= 1.0 for row in rows)
    assert len(summary["bars"]) == 4


def test_page_re_renders_from_saved_scores(quick_run, tmp_path):
    out, _ = quick_run
    main(from_csv=out / "benchmarks.csv", out=tmp_path)
    first = (out / "benchmarks.md").read_text()
    again = (tmp_path / "benchmarks.md").read_text()
    # only the command line differs (quick vs full); everything measured is the same
    assert first.split("Reproduce:")[0] == again.split("Reproduce:")[0]
