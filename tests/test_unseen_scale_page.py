"""The pages of the many-class naming: benchmarks/unseen_scale.py and its probe render what they measured."""

import csv
import json
import sys

import numpy as np

from .benchmark_scripts import load_benchmark


def _rows():
    rows = []
    for seed in range(2):
        for model, unseen in (("skcmkd, real teacher", 0.4), ("skcmkd, noise teacher", 0.0)):
            rows.append(
                dict(
                    case="hog->pix (26)", classes=26, seed=seed, labels=5, model=model,
                    unseen=unseen + 0.1 * seed, seen=0.5, seen_among_seen=0.6 + 0.1 * seed,
                    named_classes=0.8 if "real" in model else 0.0, trainings=1, seconds=3.0,
                )
            )  # fmt: skip
    return rows


def test_the_scale_page_shows_each_model_and_the_real_minus_noise_gap():
    page = load_benchmark("unseen_scale").render(
        _rows(), 120.0, "python benchmarks/unseen_scale.py"
    )
    # two seeds: the mean, then each seed's value
    assert "| hog->pix (26) | 26 | 5 | skcmkd, real teacher | 45.0 (40.0, 50.0) |" in page
    assert "| hog->pix (26) | 26 | 5 | skcmkd, noise teacher | 5.0 (0.0, 10.0) |" in page
    # real minus noise, per seed: 40 and 40 points on unseen rows
    assert "| hog->pix (26) | 40.0 (40.0, 40.0) | 0.0 (0.0, 0.0) | 0.0 (0.0, 0.0) |" in page
    three = [*_rows(), *({**r, "seed": 2} for r in _rows()[:2])]
    assert "| 43.3 ± " in load_benchmark("unseen_scale").render(three, 60.0, "c")
    assert "2.0 min" in page


def test_the_scale_page_re_renders_from_its_csv(tmp_path, monkeypatch):
    scale = load_benchmark("unseen_scale")
    path = tmp_path / "scale.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=scale.FIELDS)
        writer.writeheader()
        writer.writerows(_rows())
    monkeypatch.setattr(sys, "argv", ["x", "--from-csv", str(path), "--out", str(tmp_path / "p")])
    scale.main()
    assert "skcmkd, real teacher" in (tmp_path / "p.md").read_text()


def test_the_probe_page_summarises_each_variant(tmp_path):
    probe = load_benchmark("probes/probe_unseen_rows")
    runs = [
        dict(case="hog->pix (26)", seed=s, teacher=t, seconds=1.0, unseen_rows=r,
             seen_rows_to_unseen=0.2, relational_fit=f, p_value=0.05,
             stability=[0.4, 0.8], precision=[0.1, 0.5])
        for s in (10, 11) for t, r, f in (("real", 0.3, 8.0), ("noise", 0.02, 0.5))
    ]  # fmt: skip
    path = tmp_path / "runs.json"
    record = {"command": "c", "settings": {}, "space": "inputs", "unbalanced": False}
    path.write_text(json.dumps({**record, "runs": runs}))
    page = probe.render({"defaults": json.loads(path.read_text())})
    assert "| hog->pix (26) | real | 0.30 | 8.0 (8.0 to 8.0) | 0.30 | 0.50 (0.50) | 1.0 |" in page
    assert "| hog->pix (26) | noise | 0.02 |" in page


def test_the_probe_thins_half_the_classes_of_the_student():
    probe = load_benchmark("probes/probe_unseen_rows")

    class Data:
        y_student_true = np.repeat(np.arange(10), 20)
        X_student = np.zeros((200, 2))

    data = probe.unbalance(Data(), seed=0)
    counts = np.bincount(data.y_student_true, minlength=10)
    assert (counts == 20).sum() == 5 and (counts < 12).sum() == 5
