"""Which criterion picks the weights well with 5 labels per class? Writes docs/model_selection.md.

    python benchmarks/model_selection.py                  # about 20 minutes on 2 cores
    python benchmarks/model_selection.py --from-json docs/model_selection.json

For each case and seed (the accuracy benchmark's splits, seeds 0-2, 5 labels
per class), every point of a small grid around the defaults along the two weights that matter
(docs/probe_defaults.md: the neighbour term moves accuracy most, feature
alignment some; label alignment only lost) is

- fitted on all the student's training rows and scored on the held-out test
  rows: what each point would really give, hence the oracle (the best point)
  and each criterion's regret (oracle minus the point it picks);
- cross-validated in 3 folds, once with scikit-learn's default folds
  (``StratifiedKFold`` on ``y``, ``-1`` one more class) and once with
  ``LabeledStratifiedKFold``; the criteria read these folds:

  * ``default folds + score``: the estimator's own ``score`` (skips ``-1``
    rows), what ``GridSearchCV(d, grid)`` does with no other argument;
  * ``labelled folds + accuracy`` and ``labelled folds + log loss``:
    ``cv=LabeledStratifiedKFold(3)`` with ``scoring="accuracy"`` or
    ``"neg_log_loss"`` (the log loss grades confidence, not only the argmax:
    less coarse on 17 rows per fold);
  * ``bound score``: ``skcmkd.model_selection.bound_score`` on the default
    folds, which hold unlabelled rows: no label used at all;
  * ``..., prefer_defaults``: the same fold scores, but the pick is
    ``refit=skcmkd.model_selection.prefer_defaults(DEFAULTS)``: the defaults
    unless the best point beats them by more than one standard error of the
    per-fold difference.

Ties (points with the same criterion value) go to the grid's defaults, then
to the first point.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold, cross_validate

from skcmkd import make_safe_distiller
from skcmkd.datasets import load_unpaired
from skcmkd.model_selection import LabeledStratifiedKFold, bound_score, prefer_defaults

#: Every grid point is the recommended default (make_safe_distiller) with the
#: distiller's weights set. The spoken-digits students are left out: there its
#: cluster check turns the alignment off (docs/benchmarks.md), so every grid
#: point is the same model and no criterion can pick wrong.
CASES = [("fac", "fou"), ("fac", "mor"), ("pix", "kar"), ("speech", "digits")]
SEEDS = range(3)
DEFAULTS = {"feature_weight": 5.0, "neighbor_weight": 200.0}
#: The defaults and one step away from them along each weight, both ways for
#: feature alignment (a full 3 x 2 grid took twice the 20 minutes allowed).
POINTS = [
    DEFAULTS,
    {"feature_weight": 0.0, "neighbor_weight": 200.0},
    {"feature_weight": 20.0, "neighbor_weight": 200.0},
    {"feature_weight": 5.0, "neighbor_weight": 0.0},
]
FOLDS = 3


def own_score(estimator, X, y):
    """The estimator's ``score`` as a named scorer (it skips ``-1`` rows)."""
    return estimator.score(X, y)


#: criterion -> (folds, scorer name, rule): "best" takes the best mean fold
#: score; "1 se" is skcmkd.model_selection.prefer_defaults (the defaults unless
#: a point beats them by more than one standard error of the per-fold gap).
CRITERIA = {
    "default folds + score": ("default", "score", "best"),
    "default folds + score, prefer_defaults": ("default", "score", "1 se"),
    "labelled folds + accuracy": ("labelled", "accuracy", "best"),
    "labelled folds + accuracy, prefer_defaults": ("labelled", "accuracy", "1 se"),
    "labelled folds + log loss": ("labelled", "neg_log_loss", "best"),
    "bound score (no label)": ("default", "bound", "best"),
}
SCORING = {
    "default": {"score": own_score, "bound": bound_score},
    "labelled": {"accuracy": "accuracy", "neg_log_loss": "neg_log_loss"},
}


def run_split(case, seed, max_epochs=100):
    """Held-out accuracy and every criterion's value for each grid point."""
    torch.set_num_threads(1)
    data = load_unpaired(*case, labels_per_class=5, random_state=seed)
    base = make_safe_distiller(max_epochs=max_epochs, random_state=seed)
    base.set_teacher(data.X_teacher, data.y_teacher, max_epochs=max_epochs)
    folds = {
        "default": StratifiedKFold(FOLDS, shuffle=True, random_state=seed),
        "labelled": LabeledStratifiedKFold(FOLDS, shuffle=True, random_state=seed),
    }
    rows = []
    for point in POINTS:
        model = base.set_params(**{f"estimator__estimator__{k}": v for k, v in point.items()})
        row = {
            "point": point,
            "test": model.fit(data.X_student, data.y_student).score(data.X_test, data.y_test),
        }
        row["trust"] = model.decision_.unlabeled_trust
        for kind, cv in folds.items():
            result = cross_validate(
                model, data.X_student, data.y_student, cv=cv, scoring=SCORING[kind]
            )
            for scorer in SCORING[kind]:
                row[scorer] = float(np.mean(result[f"test_{scorer}"]))
                row[f"{scorer} folds"] = result[f"test_{scorer}"].tolist()
        rows.append(row)
    return {"case": list(case), "seed": seed, "rows": rows}


def choose(rows, key, rule="best"):
    """Index of the row a criterion picks.

    ``"best"``: the highest ``key``; ties go to the defaults, then to the first.
    ``"1 se"``: :func:`skcmkd.model_selection.prefer_defaults` on the per-fold
    scores, as ``GridSearchCV(..., refit=prefer_defaults(DEFAULTS))`` would pick.
    """
    if rule == "1 se":
        results = {"params": [row["point"] for row in rows]}
        for fold, _ in enumerate(rows[0][f"{key} folds"]):
            results[f"split{fold}_test_score"] = [row[f"{key} folds"][fold] for row in rows]
        return prefer_defaults(DEFAULTS)(results)
    best = max(row[key] for row in rows)
    tied = [i for i, row in enumerate(rows) if np.isclose(row[key], best, rtol=0, atol=1e-12)]
    for i in tied:
        if rows[i]["point"] == DEFAULTS:
            return i
    return tied[0]


def summarise(splits):
    """Per case: held-out accuracy (%) of the defaults, the oracle and each criterion's pick."""
    table = {}
    for split in splits:
        rows, case = split["rows"], "->".join(split["case"])
        test = [row["test"] for row in rows]
        picks = {"defaults": next(i for i, r in enumerate(rows) if r["point"] == DEFAULTS)}
        picks["oracle"] = choose(rows, "test")
        picks.update({name: choose(rows, key, rule) for name, (_, key, rule) in CRITERIA.items()})
        cell = table.setdefault(case, {name: [] for name in picks})
        for name, i in picks.items():
            cell[name].append(100 * test[i])
    return table


def render(splits, seconds, command):
    table = summarise(splits)
    names = ["defaults", "oracle", *CRITERIA]
    means = {case: {n: float(np.mean(v)) for n, v in cell.items()} for case, cell in table.items()}
    overall = {n: float(np.mean([m[n] for m in means.values()])) for n in names}
    regret = {n: overall["oracle"] - overall[n] for n in names}
    lines = [
        "# Choosing the weights with 5 labels per class",
        "",
        f"Grid points: the defaults {DEFAULTS} and one step from them along each weight "
        f"(columns of the last tables); {FOLDS} folds; seeds "
        f"{min(s['seed'] for s in splits)}-{max(s['seed'] for s in splits)} of the accuracy "
        "benchmark's splits, 5 labels per class. Each cell: held-out test accuracy (%) of the "
        "grid point a criterion picks, mean over seeds; `oracle` is the best point on the test "
        "rows (not available in practice). What each criterion reads is in "
        "`benchmarks/model_selection.py`'s docstring.",
        "",
        "| case | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for case, m in means.items():
        lines.append(f"| {case} | " + " | ".join(f"{m[n]:.1f}" for n in names) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{overall[n]:.1f}**" for n in names) + " |")
    lines.append(
        "| regret (oracle - this) | " + " | ".join(f"{regret[n]:.1f}" for n in names) + " |"
    )
    best = min(CRITERIA, key=lambda n: regret[n])
    gap = overall[best] - overall["defaults"]
    if gap < 0:
        verdict = (
            f"**No criterion picked better than the defaults on average.** With 5 labels per "
            f"class, keep the defaults. Where you search anyway, `{best}` had the lowest "
            f"regret ({regret[best]:.1f} points; {gap:+.1f} against the defaults)."
        )
    else:
        verdict = (
            f"**Use `{best}`**: regret {regret[best]:.1f} points, {gap:+.1f} against the defaults."
        )
    lines += ["", verdict]
    lines += ["", "How often each criterion picks each grid point (over all splits):", ""]
    labels = [", ".join(f"{k}={v:g}" for k, v in p.items()) for p in POINTS]
    lines += ["| criterion | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name, (_, key, rule) in [("oracle", (None, "test", "best")), *CRITERIA.items()]:
        counts = np.bincount([choose(s["rows"], key, rule) for s in splits], minlength=len(labels))
        lines.append(f"| {name} | " + " | ".join(str(c) for c in counts) + " |")
    lines += [
        "",
        "Held-out accuracy (%) of each grid point, mean over seeds:",
        "",
        "| case | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for case in means:
        runs = [s["rows"] for s in splits if "->".join(s["case"]) == case]
        acc = 100 * np.mean([[r["test"] for r in rows] for rows in runs], axis=0)
        lines.append(f"| {case} | " + " | ".join(f"{a:.1f}" for a in acc) + " |")
    lines += [
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; wall time "
        f"{seconds / 60:.1f} min.",
        "",
        f"Reproduce: `{command}`",
        "",
    ]
    return "\n".join(lines), {"overall": overall, "regret": regret}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", help="re-render a page from a saved run; no training")
    parser.add_argument("--quick", action="store_true", help="one case, one seed, 3 epochs")
    parser.add_argument("--out", default="docs/model_selection.md")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        splits, seconds, quick = saved["splits"], saved["seconds"], saved.get("quick", False)
    else:
        quick = args.quick
        cases, seeds, epochs = (CASES[:1], range(1), 3) if args.quick else (CASES, SEEDS, 100)
        start = time.perf_counter()
        jobs = (delayed(run_split)(case, seed, epochs) for case in cases for seed in seeds)
        splits = []
        for split in Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(jobs):
            splits.append(split)
            print(f"{'->'.join(split['case'])} seed {split['seed']} done", flush=True)
        splits.sort(key=lambda s: (CASES.index(tuple(s["case"])), s["seed"]))
        seconds = time.perf_counter() - start
        out.with_suffix(".json").write_text(
            json.dumps({"splits": splits, "seconds": seconds, "quick": quick}, indent=1)
        )
    command = ".venv/bin/python benchmarks/model_selection.py" + (" --quick" if quick else "")
    page, summary = render(splits, seconds, command)
    out.write_text(page)
    print(page)
    return summary


if __name__ == "__main__":
    sys.exit(main() and 0)
