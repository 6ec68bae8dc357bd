"""What a ``scoring=`` string on scikit-learn's default folds would pick. Writes docs/scoring_on_default_folds.md.

    python benchmarks/probes/scoring_on_default_folds.py      # seconds: reads docs/model_selection.json

skcmkd once refused, by reading scikit-learn's private stack frames, a grid
search that scores validation folds holding ``-1`` rows with a ``scoring=``
string. It no longer does (issue 18). This measures what that costs a user
who makes that mistake with ``scoring="accuracy"``, without refitting
anything: on the default folds of ``benchmarks/model_selection.py`` (the
same fitted models), accuracy with every ``-1`` row counted as an error is
the estimator's own fold score times the fold's labelled share. The pick is
compared with the one of the estimator's own ``score`` (what
``GridSearchCV(d, grid)`` does), ties going to the defaults as there.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from skcmkd.datasets import load_unpaired

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {"feature_weight": 5.0, "neighbor_weight": 200.0}
FOLDS = 3


def _pick(rows, values):
    means = values.mean(axis=1)
    best = np.flatnonzero(np.isclose(means, means.max()))
    defaults = [i for i in best if rows[i]["point"] == DEFAULTS]
    return defaults[0] if defaults else best[0]


def measure(results):
    """Per split: the picks of both criteria, their test accuracy, the oracle."""
    out = []
    for split in results["splits"]:
        case, seed, rows = split["case"], split["seed"], split["rows"]
        y = load_unpaired(*case, labels_per_class=5, random_state=seed).y_student
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(y, y)
        share = np.array([np.mean(y[test] != -1) for _, test in folds])
        own = np.array([row["score folds"] for row in rows])
        picks = {"score": _pick(rows, own), "accuracy": _pick(rows, own * share)}
        out.append(
            {
                "case": "->".join(case),
                "seed": seed,
                "share": share.tolist(),
                "oracle": max(row["test"] for row in rows),
                **{
                    k: {"point": rows[i]["point"], "test": rows[i]["test"]}
                    for k, i in picks.items()
                },
            }
        )
    return out


def report(splits):
    same = sum(s["score"]["point"] == s["accuracy"]["point"] for s in splits)
    lines = [
        "# A `scoring=` string on folds that hold unlabelled rows",
        "",
        "`python benchmarks/probes/scoring_on_default_folds.py` (reads `docs/model_selection.json`; "
        "no refit). Scikit-learn's default folds put unlabelled rows in every validation "
        'fold; `scoring="accuracy"` counts each as an error. Per split, the grid point '
        "it picks against the estimator's own `score` (labelled rows only), on the same "
        "fitted models, and the held-out test accuracy (%) of each pick.",
        "",
        "| case | seed | labelled share of the folds | `score` picks | test | "
        "`accuracy` picks | test | oracle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in splits:
        point = {
            k: ", ".join(f"{n}={v:g}" for n, v in s[k]["point"].items())
            for k in ("score", "accuracy")
        }
        lines.append(
            f"| {s['case']} | {s['seed']} | {', '.join(f'{v:.3f}' for v in s['share'])} | "
            f"{point['score']} | {100 * s['score']['test']:.1f} | {point['accuracy']} | "
            f"{100 * s['accuracy']['test']:.1f} | {100 * s['oracle']:.1f} |"
        )
    mean = {k: 100 * np.mean([s[k]["test"] for s in splits]) for k in ("score", "accuracy")}
    lines += [
        "",
        f"Same pick on {same} of {len(splits)} splits; mean test accuracy of the picks "
        f"{mean['score']:.1f} (`score`) and {mean['accuracy']:.1f} (`accuracy`). The "
        "accuracy of a fold is its own score times the fold's labelled share, nearly the "
        "same for every fold, so the ranking of the candidates barely moves; what a user "
        "loses is the number itself (`mean_test_score` is the labelled share of the true "
        "accuracy) and, for scorers of probabilities such as `neg_log_loss`, the search "
        "(the label `-1` is not a class: scikit-learn scores the fold as NaN and warns). "
        "`LabeledStratifiedKFold` avoids both.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=ROOT / "docs" / "model_selection.json", type=Path)
    parser.add_argument("--out", default=ROOT / "docs" / "scoring_on_default_folds.md", type=Path)
    args = parser.parse_args(argv)
    splits = measure(json.loads(args.json.read_text()))
    args.out.write_text(report(splits))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
