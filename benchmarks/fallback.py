"""What should predict where the alignment is off? Writes docs/fallback.md and .csv.

    python benchmarks/fallback.py                         # about 20 minutes on 2 cores
    python benchmarks/fallback.py --quick                 # two cases, one seed each, 3 epochs
    python benchmarks/fallback.py --from-csv docs/fallback.csv   # re-render, no training

Where the checks turn the alignment off, the student is the net trained on
the labelled rows alone. With 5 labels per class a logistic regression beats
that net on some splits and loses on others. This benchmark compares what
could predict instead, on the splits of ``benchmarks/safety.py`` (the same
four families, cases, probe seeds 10-11 and test seeds 0-4):

- the net alone and the logistic regression of the benchmarks (standardised
  on the labelled rows);
- the net combined with a logistic regression on the labelled rows: the
  product of their class probabilities (the logits add) or their mean, the
  logistic regression seeing the features standardised (blind to units) or
  on one common scale (the features keep their relative sizes);
- the package's rule, ``fallback="linear"``: the product, the scaling chosen
  by the logistic regression's cross-validated accuracy on the labelled rows
  (:mod:`skcmkd.fallback`). It is measured as the package runs it: each
  split fits ``SafeAlignment(CrossModalDistiller(neighbor_weight=0.0))``,
  which has nothing to align and predicts with the fall-back, and the net
  alone is that fit's own logits.

Every candidate is also run with the features in mixed units, the control a
rule that keeps relative sizes must pass: 10% of the features (at least one)
multiplied by 1000, and one feature multiplied by 10^4. The net and the
standardised models do not see units; a rule that trusts relative sizes
blindly does.

The candidate is chosen on probe seeds only, leaving one family out at a
time, by the best mean over the other families of their average margin to the
better of the net alone and the logistic regression (per split); it is judged
on seeds 0-4 of the family left out.
"""

import argparse
import csv
import importlib.util
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcmkd import CrossModalDistiller, SafeAlignment, fallback
from skcmkd.datasets import load_unpaired


def _safety():
    """benchmarks/safety.py: the families, cases and seeds are its own."""
    spec = importlib.util.spec_from_file_location("safety", Path(__file__).with_name("safety.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


safety = _safety()
FAMILIES, PROBE_SEEDS, TEST_SEEDS = safety.FAMILIES, safety.PROBE_SEEDS, safety.TEST_SEEDS
#: Features as given, and two ways of putting some in other units.
CONDITIONS = ("as given", "10% x 1000", "one x 1e4")
#: Every candidate, in the page's order; "package" is fallback="linear".
CANDIDATES = {
    "student": "net alone",
    "logreg": "LogisticRegression (benchmarks')",
    "product_standardised": "net x logreg, standardised",
    "product_global": "net x logreg, common scale",
    "mean_standardised": "mean of net and logreg, standardised",
    "mean_global": "mean of net and logreg, common scale",
    "package": "net x logreg, scaling by CV (package)",
}
LEAK_POINTS = 1.0  # a split more than this below the better of net alone and logreg


def in_units(X, condition, seed):
    """``X`` with some features in other units (the same columns for every split of a seed)."""
    if condition == "as given":
        return X
    n_features = X.shape[1]
    rng = np.random.RandomState(seed)
    if condition == "10% x 1000":
        columns, factor = rng.choice(n_features, max(1, n_features // 10), replace=False), 1e3
    else:
        columns, factor = rng.choice(n_features, 1, replace=False), 1e4
    X = X.copy()
    X[:, columns] *= factor
    return X


def run_split(case, seed, *, max_epochs=100):
    """One split, every condition: each candidate's test accuracy."""
    torch.set_num_threads(1)  # one worker per core
    data = load_unpaired(*case, labels_per_class=5, random_state=seed)
    labelled = data.y_student != -1
    rows = []
    for condition in CONDITIONS:
        X, X_test = (in_units(x, condition, seed) for x in (data.X_student, data.X_test))
        model = SafeAlignment(
            CrossModalDistiller(neighbor_weight=0.0, max_epochs=max_epochs, random_state=seed)
        )
        model.fit(X, data.y_student)
        net, _ = model.forward(X_test)
        net = torch.log_softmax(torch.from_numpy(net).double(), dim=1).numpy()
        y = data.y_student[labelled]
        codes = np.searchsorted(model.classes_, y)

        def accuracy(scores, classes=model.classes_):
            return float(np.mean(classes[np.argmax(scores, axis=1)] == data.y_test))

        benchmark_logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        row = {
            "student": accuracy(net),
            "logreg": benchmark_logreg.fit(X[labelled], y).score(X_test, data.y_test),
            "package": model.score(X_test, data.y_test),
            "scaling": model.decision_.fallback.scaling,
        }
        scaler = model.estimator_.scaler_
        for scaling, (divisor, offset, scale) in fallback.scalings(scaler).items():
            logreg = LogisticRegression(max_iter=2000).fit(
                (X[labelled] / divisor - offset) / scale, codes
            )
            log_p = logreg.predict_log_proba((X_test / divisor - offset) / scale)
            row[f"product_{scaling}"] = accuracy(net + log_p)
            row[f"mean_{scaling}"] = accuracy(np.exp(net) + np.exp(log_p))
        rows.append({"case": case, "seed": seed, "condition": condition, **row})
    return rows


def run(cases, seeds, *, max_epochs=100, n_jobs=2, log=print):
    start = time.perf_counter()
    jobs = [(case, seed) for case in cases for seed in seeds]
    results = Parallel(n_jobs=n_jobs)(
        delayed(run_split)(case, seed, max_epochs=max_epochs) for case, seed in jobs
    )
    rows = [row for split in results for row in split]
    for row in rows:
        if row["condition"] == "as given":
            log(
                f"{safety.name(row['case'])} seed {row['seed']}: net {row['student']:.3f}, "
                f"logreg {row['logreg']:.3f}, package {row['package']:.3f} ({row['scaling']})"
            )
    return rows, time.perf_counter() - start


def margin(row, candidate):
    """Points above the better of the net alone and the logistic regression, on this split."""
    return 100 * (row[candidate] - max(row["student"], row["logreg"]))


def family_stats(rows, candidate):
    """Mean margin, the worst case's mean, the worst split, the leak rate."""
    margins = [margin(r, candidate) for r in rows]
    by_case = {}
    for r, m in zip(rows, margins, strict=True):
        by_case.setdefault(r["case"], []).append(m)
    return {
        "mean": float(np.mean(margins)),
        "worst_case": float(min(np.mean(v) for v in by_case.values())),
        "worst_split": float(min(margins)),
        "leak": float(np.mean([m < -LEAK_POINTS for m in margins])),
    }


def select(rows, *, family=None, seeds, condition="as given"):
    return [
        r
        for r in rows
        if r["seed"] in seeds
        and r["condition"] == condition
        and (family is None or safety.family_of(r["case"]) == family)
    ]


def choose(rows, families):
    """The best candidate on the probe seeds of ``families``.

    Eligible: in every mixed-units condition, on every family, at least the
    net alone's mean margin (a rule must not be misled by units). Chosen
    among them: the best mean over the families of their mean margin with
    the features as given.
    """

    def mean_margin(candidate, family, condition):
        subset = select(rows, family=family, seeds=PROBE_SEEDS, condition=condition)
        return family_stats(subset, candidate)["mean"]

    eligible = [
        c
        for c in CANDIDATES
        if all(
            mean_margin(c, f, cond) >= mean_margin("student", f, cond)
            for f in families
            for cond in CONDITIONS[1:]
        )
    ]
    return max(eligible, key=lambda c: np.mean([mean_margin(c, f, "as given") for f in families]))


def summarise(rows):
    families = [f for f in FAMILIES if select(rows, family=f, seeds=TEST_SEEDS)]
    s = {"lofo": {}, "table": {}, "bars": {}}
    for left in families:
        chosen = choose(rows, [f for f in families if f != left])
        s["lofo"][left] = {
            "chosen": chosen,
            **family_stats(select(rows, family=left, seeds=TEST_SEEDS), chosen),
        }
    for condition in CONDITIONS:
        for c in CANDIDATES:
            for f in families:
                subset = select(rows, family=f, seeds=TEST_SEEDS, condition=condition)
                s["table"][(condition, c, f)] = family_stats(subset, c)
    package = {f: s["table"][("as given", "package", f)] for f in families}
    s["bars"]["package: every family within 0.5 of the better on average (seeds 0-4)"] = all(
        v["mean"] >= -0.5 for v in package.values()
    )
    s["bars"]["package: no case more than 1.5 below on average"] = all(
        v["worst_case"] >= -1.5 for v in package.values()
    )
    s["bars"]["package, mixed units: never below the net alone on a family's average"] = all(
        s["table"][(cond, "package", f)]["mean"] >= s["table"][(cond, "student", f)]["mean"]
        for cond in CONDITIONS
        for f in families
    )
    return s


def report(rows, seconds, s, *, command):
    families = [f for f in FAMILIES if select(rows, family=f, seeds=TEST_SEEDS)]
    lines = [
        "# What predicts where the alignment is off",
        "",
        f"Produced by `{command}` ({seconds / 60:.1f} min, 2 workers; "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}). Raw rows: "
        "`docs/fallback.csv`; `python benchmarks/fallback.py --from-csv docs/fallback.csv` "
        "re-renders this page. The splits are those of [the safety benchmark](safety.md): 5 "
        "labels per class, probe seeds 10-11, test seeds 0-4.",
        "",
        "Each number is points above the better of the net alone and the benchmarks' "
        "LogisticRegression on the same split (mean over the family's splits; the worst case's "
        "mean; the worst split; the share of splits more than 1 point below, which with 50 labels is mostly noise of the split). Candidates: "
        + "; ".join(f"*{k}*: {v}" for k, v in CANDIDATES.items())
        + ". The package predicts with *package* wherever the final model uses no alignment.",
        "",
        "## Leave one family out",
        "",
        "The candidate chosen on the probe seeds of the other families, shown on seeds 0-4 of "
        "the family left out. Eligible: with the features in mixed units, on each of those "
        "families, at least the net alone's mean; chosen among them: the best mean of the "
        "families' mean margins with the features as given.",
        "",
        "| family left out | chosen | mean | worst case | worst split | splits > 1 below "
        "| the same family, mixed units: worst mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for f, r in s["lofo"].items():
        mixed = min(s["table"][(cond, r["chosen"], f)]["mean"] for cond in CONDITIONS[1:])
        lines.append(
            f"| {f} | {CANDIDATES[r['chosen']]} | {r['mean']:+.2f} | {r['worst_case']:+.2f} | "
            f"{r['worst_split']:+.1f} | {100 * r['leak']:.0f}% | {mixed:+.2f} |"
        )
    lines += [
        "",
        "The last column: the chosen candidate on the family left out with its features in "
        "mixed units (the worse of the two conditions).",
        "",
        "## Every candidate, seeds 0-4",
        "",
    ]
    for condition in CONDITIONS:
        lines += [
            f"### Features {condition}",
            "",
            "| candidate | " + " | ".join(families) + " |",
            "|---|" + "---|" * len(families),
        ]
        for c in CANDIDATES:
            cells = []
            for f in families:
                v = s["table"][(condition, c, f)]
                cells.append(f"{v['mean']:+.2f} ({v['worst_case']:+.2f}, {v['worst_split']:+.1f})")
            lines.append(f"| {CANDIDATES[c]} | " + " | ".join(cells) + " |")
        share = np.mean(
            [r["scaling"] == "global" for r in select(rows, seeds=TEST_SEEDS, condition=condition)]
        )
        lines += [
            "",
            f"The package's cross-validation chose the common scale on "
            f"{100 * share:.0f}% of these splits.",
            "",
        ]
    lines += ["Cells: mean (worst case, worst split).", "", "## Bars", ""]
    lines += [f"- {'met' if ok else 'NOT met'}: {bar}" for bar, ok in s["bars"].items()]
    lines.append("")
    return "\n".join(lines)


FIELDS = ("student", "logreg", "package", *(c for c in CANDIDATES if "_" in c))


def save_rows(rows, seconds, path):
    with open(path, "w") as file:
        file.write(f"# wall_seconds: {seconds:.0f}\n")
        writer = csv.writer(file)
        writer.writerow(["teacher", "student_view", "seed", "condition", "scaling", *FIELDS])
        for r in rows:
            writer.writerow(
                [*r["case"], r["seed"], r["condition"], r["scaling"]]
                + [f"{r[k]:.6f}" for k in FIELDS]
            )


def load_rows(path):
    with open(path) as file:
        seconds = float(file.readline().split(":")[1])
        rows = [
            {
                "case": (row["teacher"], row["student_view"]),
                "seed": int(row["seed"]),
                "condition": row["condition"],
                "scaling": row["scaling"],
                **{k: float(row[k]) for k in FIELDS},
            }
            for row in csv.DictReader(file)
        ]
    return rows, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two cases, 3 epochs")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--from-csv", help="re-render the page from saved rows")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/fallback.py" + (" --quick" if args.quick else "")
    if args.from_csv:
        rows, seconds = load_rows(args.from_csv)
    else:
        cases, seeds, epochs = safety.splits(quick=args.quick)  # the safety benchmark's splits
        rows, seconds = run(cases, seeds, max_epochs=epochs, n_jobs=args.n_jobs)
        seconds = round(seconds)
    summary = summarise(rows)
    save_rows(rows, seconds, out / "fallback.csv")
    text = report(rows, seconds, summary, command=command)
    (out / "fallback.md").write_text(text)
    print(text)
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
