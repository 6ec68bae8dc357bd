"""benchmarks/unseen_classes.py --quick runs end to end (a smoke test, not accuracy)."""

import csv

import pytest

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def unseen_benchmark():
    return load_benchmark("unseen_classes")


@pytest.fixture(scope="module")
def quick_run(unseen_benchmark, tmp_path_factory):
    out = tmp_path_factory.mktemp("unseen")
    return out, unseen_benchmark.main(["--quick", "--out", str(out), "--n-jobs", "1"])


def test_quick_run_writes_the_page_and_the_scores(quick_run):
    out, summary = quick_run
    page = (out / "unseen_classes.md").read_text()
    for section in ("## Unseen-class accuracy", "## Overall accuracy", "## Seen-class accuracy",
                    "## The check, per case and teacher", "## Fewer labels, and none",
                    "## Bars (issue 16)"):  # fmt: skip
        assert section in page
    assert "python benchmarks/unseen_classes.py --quick" in page
    assert "skcmkd, unseen classes ignored" in page and "paired KD" in page
    assert set(summary["bars"]) and all(isinstance(v, bool) for v in summary["bars"].values())
    rows = (out / "unseen_classes.csv").read_text().splitlines()
    assert rows[0].startswith("part,case,seed,labels,method")


def test_the_page_re_renders_from_the_saved_scores(unseen_benchmark, quick_run, tmp_path):
    out, _ = quick_run
    again = tmp_path / "again"
    unseen_benchmark.main(["--from-csv", str(out / "unseen_classes.csv"), "--out", str(again)])
    first = (out / "unseen_classes.md").read_text()
    second = (again / "unseen_classes.md").read_text()
    # only the command line differs (quick vs a re-render's default)
    assert first.replace(" --quick", "") == second.replace(" --quick", "")


def test_teacher_free_methods_name_no_unseen_class(quick_run):
    out, _ = quick_run

    with open(out / "unseen_classes.csv") as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    for row in rows:
        if row["part"] == "unseen" and row["method"] in ("logreg", "alone", "label_spreading"):
            assert float(row["unseen"]) == 0.0
