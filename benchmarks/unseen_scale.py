"""Naming unseen classes as the classes grow: 10, 26, 52, 78 and 100 classes. Writes docs/unseen_scale.md and .csv.

    python benchmarks/unseen_scale.py             # seeds 0-1, about 25 min on 2 cores
    python benchmarks/unseen_scale.py --quick     # one case, one seed, 5 epochs: a smoke test
    python benchmarks/unseen_scale.py --from-csv docs/unseen_scale.csv   # re-render only

Cases: two agreeing mfeat pairs (10 classes) and the bundled Hangul family
(``skcmkd.datasets.load_hangul``, two feature extractors of the same
renderings) cut to its first 26, 52, 78 or all 100 classes
(``load_unpaired(classes=...)``). Per seed, half the classes are drawn as
unseen (``hide_classes``: no labelled row); each other class keeps 1, 2 or 5
labelled rows (78 and 100 classes: 5 only, for time). The model is the recommended default,
``make_safe_distiller()`` at its shipped settings, distilling from the real
teacher or from a teacher of labelled noise (the control: it can only name
at chance, and names nothing where the namer declines). Held-out accuracy on
the test rows of unseen classes, of seen classes, and of seen classes with
the prediction restricted to the seen classes ("seen among seen": whether
naming disturbed the seen classes' own boundaries, apart from the test rows
it now sends to the new classes). The reference, per case and budget, is a
logistic regression given the same labels plus as many *true* labels per
unseen class: what naming without labels is measured against, and what
naming costs the seen classes even when it is perfect.

The namer's settings (``method="auto"``: clusters at 10 classes, rows
beyond; ``min_row_fit``, ``min_stability``) were chosen on probe seeds 10-12
(``benchmarks/probes/probe_unseen_rows.py``), never on these seeds.
"""

import argparse
import csv
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import _ci95  # noqa: E402

import skcmkd  # noqa: E402
from skcmkd import CrossModalDistiller, make_safe_distiller  # noqa: E402
from skcmkd.controls import noise_teacher_data  # noqa: E402
from skcmkd.datasets import hide_classes, load_unpaired  # noqa: E402
from skcmkd.diagnostics import decisions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: name -> teacher source, student source, classes kept (None: all), label budgets.
CASES = {
    "pix->kar (10)": ("pix", "kar", None, (1, 2, 5)),
    "fac->kar (10)": ("fac", "kar", None, (1, 2, 5)),
    "hog->pix (26)": ("hangul-hog", "hangul-pix", range(26), (1, 2, 5)),
    "pix->hog (26)": ("hangul-pix", "hangul-hog", range(26), (1, 2, 5)),
    "hog->pix (52)": ("hangul-hog", "hangul-pix", range(52), (1, 2, 5)),
    "pix->hog (78)": ("hangul-pix", "hangul-hog", range(78), (5,)),
    "hog->pix (100)": ("hangul-hog", "hangul-pix", range(100), (5,)),
}
SEEDS = range(2)
TEACHERS = ("real", "noise")
FIELDS = (
    "case", "classes", "seed", "labels", "model", "unseen", "seen", "seen_among_seen",
    "named_classes", "trainings", "seconds",
)  # fmt: skip


def _scores(predict_proba, classes, X_test, y_test, unseen):
    proba = predict_proba(X_test)
    predicted = classes[proba.argmax(axis=1)]
    hidden = np.isin(y_test, unseen)
    seen = ~np.isin(classes, unseen)
    among_seen = classes[seen][proba[:, seen].argmax(axis=1)]
    return {
        "unseen": float(np.mean(predicted[hidden] == y_test[hidden])),
        "seen": float(np.mean(predicted[~hidden] == y_test[~hidden])),
        "seen_among_seen": float(np.mean(among_seen[~hidden] == y_test[~hidden])),
    }


def run_split(case, seed, *, max_epochs=100):
    """Every budget and teacher of one case and seed: the rows of the CSV."""
    t, s, classes, budgets = CASES[case]
    data = load_unpaired(t, s, classes=classes, random_state=seed)
    n_classes = len(np.unique(data.y_test))
    teachers = {}
    for kind in TEACHERS:
        X_t = (
            data.X_teacher
            if kind == "real"
            else noise_teacher_data(data.y_teacher, random_state=seed)
        )
        teachers[kind] = (
            CrossModalDistiller(max_epochs=max_epochs, random_state=seed)
            .set_teacher(X_t, data.y_teacher, max_epochs=max_epochs)
            .teacher
        )
    rows = []
    for labels in budgets:
        y, unseen = hide_classes(
            data.y_student_true, n_unseen=n_classes // 2, labels_per_class=labels, random_state=seed
        )
        base = dict(case=case, classes=n_classes, seed=seed, labels=labels)
        for kind, teacher in teachers.items():
            model = make_safe_distiller(teacher=teacher, max_epochs=max_epochs, random_state=seed)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(data.X_student, y)
            seconds = time.perf_counter() - start
            check = decisions(model).get("UnseenClassNamer")
            named = sum(count > 0 for count in check.pseudo_labels) if check and check.named else 0
            rows.append(
                {
                    **base,
                    "model": f"skcmkd, {kind} teacher",
                    **_scores(
                        model.predict_proba, model.classes_, data.X_test, data.y_test, unseen
                    ),
                    "named_classes": named / len(unseen),
                    "trainings": model.n_trainings_,
                    "seconds": seconds,
                }
            )
        # the reference: the same labels, plus as many true labels per unseen class
        rng = np.random.default_rng(seed)
        full = y.copy()
        for c in unseen:
            full[rng.choice(np.flatnonzero(data.y_student_true == c), labels, replace=False)] = c
        kept = full != -1
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        lr.fit(data.X_student[kept], full[kept])
        rows.append(
            {
                **base,
                "model": f"LogisticRegression, {labels} true labels per unseen class too",
                **_scores(lr.predict_proba, lr.classes_, data.X_test, data.y_test, unseen),
                "named_classes": 1.0,
                "trainings": 0,
                "seconds": float("nan"),
            }
        )
    return rows


def _mean_ci(values):
    """Mean ± 95% interval over seeds; with two seeds, the mean and the two values."""
    values = 100 * np.asarray(values, dtype=float)
    if len(values) == 2:
        return f"{values.mean():.1f} ({values[0]:.1f}, {values[1]:.1f})"
    return f"{values.mean():.1f} ± {_ci95(values):.1f}"


def render(rows, seconds, command):
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = [
        "# Benchmark: naming unseen classes as the classes grow",
        "",
        f"`{command}`; the protocol is in the script's docstring. Seeds "
        f"{min(r['seed'] for r in rows)}-{max(r['seed'] for r in rows)}; per seed half the "
        "classes are unseen (no labelled row), each other class has the given number of labels. "
        "Held-out accuracy (%), mean ± 95% interval over seeds (with two seeds: the mean, then "
        "each seed's value). `make_safe_distiller()` at its "
        "shipped settings with the real teacher and with a teacher of labelled noise; the "
        "logistic regression is given the same labels plus as many *true* labels per unseen "
        "class (the reference naming is measured against; it also shows what a classifier of "
        'all the classes costs the seen ones). "Seen among seen": the seen-class test rows, '
        "predicted among the seen classes only.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, torch "
        f"{torch.__version__}, skcmkd {skcmkd.__version__}; {seconds / 60:.1f} min.",
        "",
        "| case | classes | labels per seen class | model | unseen | seen | seen among seen "
        "| unseen classes named | trainings |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        of_case = [r for r in rows if r["case"] == case]
        for labels in sorted({r["labels"] for r in of_case}):
            for model in dict.fromkeys(r["model"] for r in of_case if r["labels"] == labels):
                sel = [r for r in of_case if r["labels"] == labels and r["model"] == model]
                lines.append(
                    f"| {case} | {sel[0]['classes']} | {labels} | {model} "
                    f"| {_mean_ci([r['unseen'] for r in sel])} | {_mean_ci([r['seen'] for r in sel])} "
                    f"| {_mean_ci([r['seen_among_seen'] for r in sel])} "
                    f"| {np.mean([r['named_classes'] for r in sel]):.2f} "
                    f"| {np.mean([r['trainings'] for r in sel]):.0f} |"
                )
    lines += ["", *_gaps(rows)]
    return "\n".join(lines) + "\n"


def _gaps(rows):
    """Real minus noise teacher, per case at 5 labels: unseen, seen, seen among seen."""
    lines = [
        "## Real minus noise teacher, 5 labels per seen class (points)",
        "",
        "| case | unseen | seen | seen among seen |",
        "|---|---|---|---|",
    ]
    for case in dict.fromkeys(r["case"] for r in rows):
        pick = {
            kind: sorted(
                (r for r in rows if r["case"] == case and r["labels"] == 5
                 and r["model"] == f"skcmkd, {kind} teacher"),
                key=lambda r: r["seed"],
            )
            for kind in TEACHERS
        }  # fmt: skip
        if not pick["real"]:
            continue
        cells = [
            _mean_ci([a[f] - b[f] for a, b in zip(pick["real"], pick["noise"], strict=True)])
            for f in ("unseen", "seen", "seen_among_seen")
        ]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--from-csv")
    parser.add_argument("--out", default=str(ROOT / "docs" / "unseen_scale"))
    args = parser.parse_args()
    command = "python benchmarks/unseen_scale.py"
    if args.from_csv:
        with open(args.from_csv) as f:
            kinds = {"case": str, "model": str, "classes": int, "seed": int, "labels": int}
            rows = [{k: kinds.get(k, float)(v) for k, v in r.items()} for r in csv.DictReader(f)]
            for row in rows:
                row["trainings"] = int(row["trainings"])
        Path(args.out + ".md").write_text(render(rows, float("nan"), command))
        return
    torch.set_num_threads(2)
    cases = ["hog->pix (26)"] if args.quick else list(CASES)
    seeds = SEEDS[:1] if args.quick else SEEDS
    start = time.perf_counter()
    rows = []
    with open(args.out + ".csv", "w", newline="") as f:  # written case by case
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for seed in seeds:
            for case in cases:
                split = run_split(case, seed, max_epochs=5 if args.quick else 100)
                writer.writerows(split)
                f.flush()
                rows += split
                print(
                    f"seed {seed} {case}: {(time.perf_counter() - start) / 60:.1f} min", flush=True
                )
    Path(args.out + ".md").write_text(render(rows, time.perf_counter() - start, command))


if __name__ == "__main__":
    main()
