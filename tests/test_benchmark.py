"""benchmarks/accuracy.py --quick runs end to end (a smoke test, not accuracy)."""

import csv

import pytest

from skcmkd.baselines import METHODS

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def accuracy():
    return load_benchmark("accuracy")


@pytest.fixture(scope="module")
def quick_run(accuracy, tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    return out, accuracy.main(["--quick", "--out", str(out), "--n-jobs", "1"])


def test_quick_benchmark_writes_page_plot_and_scores(quick_run):
    out, summary = quick_run
    page = (out / "benchmarks.md").read_text()
    for heading in (
        "## 5 labels/class",
        "## What the teacher adds",
        "## Safe by default",
        "## The bars",
    ):
        assert heading in page
    assert "teacher of labelled noise" in page and "classes permuted" in page
    assert "python benchmarks/accuracy.py --quick" in page
    assert (out / "benchmarks.png").stat().st_size > 1000
    with open(out / "benchmarks.csv") as file:
        assert file.readline().startswith("# wall_seconds:")
        rows = list(csv.DictReader(file))
    assert {row["seed"] for row in rows} == {"0", "1"}
    assert {row["labels_per_class"] for row in rows} == {"5", "all"}
    for budget in ("5", "all"):  # every registered method, the controls too, at every budget
        methods = {row["method"] for row in rows if row["labels_per_class"] == budget}
        assert methods == set(METHODS) | {"teacher", "trust", "relations", "agreement"}
    for method in METHODS.values():  # a column each
        assert f" {method.name} |" in page
    accuracies = [row for row in rows if row["method"] not in ("agreement", "trust", "relations")]
    assert all(0.0 <= float(row["value"]) <= 1.0 for row in accuracies)
    assert any(bar.startswith("MUST: 5 labels") for bar in summary["bars"])


def test_the_page_compares_the_defaults_with_the_earlier_run(accuracy, quick_run):
    """Its mean then and now per case, from the committed scores of commit a1fc715."""
    out, summary = quick_run
    page = (out / "benchmarks.md").read_text()
    section = page.split("## Against this page before issues 17 and 19")[1].split("\n## ")[0]
    earlier_results, _ = accuracy.load_scores(accuracy.EARLIER)
    earlier = accuracy.summarise(earlier_results)
    case = ("fac", "fou")
    row = next(line for line in section.splitlines() if line.startswith("| fac->fou |"))
    cells = row.strip("| ").split(" | ")
    assert cells[1] == accuracy._fmt(earlier["cells"][case, 5]["skcmkd"])  # then: that page's
    assert cells[2] == accuracy._fmt(summary["cells"][case, 5]["skcmkd"])  # now: this run's
    # the change is paired over the seeds both runs have (the quick run: 0 and 1)
    results, _ = accuracy.load_scores(out / "benchmarks.csv")
    change = [
        100 * (results[case, 5, s]["skcmkd"] - earlier_results[case, 5, s]["skcmkd"])
        for s in (0, 1)
    ]
    assert cells[3].startswith(f"{sum(change) / 2:+.1f} ± ")
    assert "cases, the noise teacher on" in section


def test_page_re_renders_from_saved_scores(accuracy, quick_run, tmp_path):
    out, _ = quick_run
    accuracy.main(["--from-csv", str(out / "benchmarks.csv"), "--out", str(tmp_path)])
    first = (out / "benchmarks.md").read_text()
    again = (tmp_path / "benchmarks.md").read_text()
    # only the command line differs (quick vs full); everything measured is the same
    assert first.split("Reproduce:")[0] == again.split("Reproduce:")[0]


def test_scores_of_an_unregistered_method_are_refused(accuracy, quick_run):
    out, _ = quick_run
    results, _ = accuracy.load_scores(out / "benchmarks.csv")
    for scores in results.values():
        scores["mystery"] = 0.5
    with pytest.raises(ValueError, match=r"Unknown method\(s\) \['mystery'\]"):
        accuracy.summarise(results)


def test_shapes_probe_reports_the_safety_margin(monkeypatch):
    from .benchmark_scripts import BENCHMARKS

    monkeypatch.syspath_prepend(str(BENCHMARKS))  # it runs the accuracy benchmark's splits
    probe = load_benchmark("probes/probe_shapes")
    rows = [
        {
            "case": "shapes-contour->shapes-image",
            "seed": seed,
            "logreg": 0.30,
            "alone": 0.28,
            "skcmkd": 0.31 + 0.01 * (seed - 10),
            "trust": 1.0,
            "agreement": 0.5,
        }
        for seed in (10, 11)
    ]
    page = probe.report(rows, 60.0, "python benchmarks/probes/probe_shapes.py")
    assert "| shapes-contour->shapes-image |" in page
    assert "+1.5 | +1.0 | 1.00, 1.00 | 0.50 |" in page  # margin mean, worst, trust, agreement


def test_unseen_classes_probe_reports_real_against_noise():
    probe = load_benchmark("probes/probe_unseen_classes")
    cell = {name: 0.5 for name in probe.NAMINGS}
    rows = [
        {"pair": "pix->kar", "seed": 10, "real": {**cell, "direct": 0.6}, "noise": cell},
        {"pair": "pix->kar", "seed": 11, "real": {**cell, "direct": 0.4}, "noise": cell},
    ]
    page = probe.report(rows, 60.0)
    assert "| pix->kar | 0.50 / 0.50 | 0.50 / 0.50 |" in page  # head, then direct: 0.6, 0.4
    assert "seeds 10-11" in page
