"""Probe: the ClassRelations loss term, at 1, 2 and 5 labels per class, against noise and permuted teachers.

    python benchmarks/probes/probe_class_relations.py             # probe seeds 10-11, about 30 min
    python benchmarks/probes/probe_class_relations.py --seeds 10  # the page: one seed

One plain ``CrossModalDistiller`` (one net, shipped settings) with and
without ``terms=[ClassRelations(weight)]``, on mfeat pix->kar (an agreeing
pair), split as ``benchmarks/accuracy.py`` splits it. Two settings: every
class labelled with 1, 2 or 5 rows (overall held-out accuracy), and half the
classes unseen (``hide_classes``; the unseen classes' held-out accuracy: a
plain distiller names them only through its head, and this term is what
could give them the teacher's place). Teachers: real, labelled noise, and
the real teacher's data with its classes permuted (``permuted_labels``).
Writes docs/probe_class_relations.md.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from skcmkd import CrossModalDistiller
from skcmkd.controls import noise_teacher_data, permuted_labels
from skcmkd.datasets import hide_classes, load_unpaired
from skcmkd.terms import ClassRelations

ROOT = Path(__file__).resolve().parents[2]
BUDGETS = (1, 2, 5)
TEACHERS = ("real", "noise", "permuted")


def teachers(data, seed):
    out = {}
    for kind in TEACHERS:
        X, y = data.X_teacher, data.y_teacher
        if kind == "noise":
            X = noise_teacher_data(y, random_state=seed)
        elif kind == "permuted":
            y = permuted_labels(y, random_state=seed)
        out[kind] = CrossModalDistiller(random_state=seed).set_teacher(X, y).teacher
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--case", default="pix,kar")
    parser.add_argument("--seeds", default="10,11", help="comma-separated probe seeds")
    parser.add_argument("--out", default=str(ROOT / "docs" / "probe_class_relations"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    t, s = args.case.split(",")
    rows = []
    start = time.perf_counter()
    seeds = tuple(int(seed) for seed in args.seeds.split(","))
    for seed in seeds:
        data = load_unpaired(t, s, random_state=seed)
        fitted = teachers(data, seed)
        y_true = data.y_student_true
        for setting in ("all classes labelled", "half the classes unseen"):
            for labels in BUDGETS:
                if setting == "all classes labelled":
                    y, unseen = hide_classes(
                        y_true, n_unseen=0, labels_per_class=labels, random_state=seed
                    )
                else:
                    y, unseen = hide_classes(
                        y_true, n_unseen=5, labels_per_class=labels, random_state=seed
                    )
                hidden = np.isin(data.y_test, unseen)
                for kind, teacher in fitted.items():
                    for term in (False, True):
                        model = CrossModalDistiller(
                            teacher=teacher,
                            random_state=seed,
                            terms=[ClassRelations(args.weight)] if term else None,
                        ).fit(data.X_student, y)
                        right = model.predict(data.X_test) == data.y_test
                        score = right[hidden].mean() if hidden.any() else right.mean()
                        rows.append((setting, labels, kind, term, seed, float(score)))
            print(f"seed {seed}: {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    lines = [
        "# Probe: the ClassRelations loss term",
        "",
        f"`python benchmarks/probes/probe_class_relations.py --weight {args.weight} --case {args.case} "
        f"--seeds {args.seeds}`; seeds {seeds}, {(time.perf_counter() - start) / 60:.1f} min. Held-out accuracy (%) of one "
        "plain distiller without and with the term: overall where every class is labelled, on the "
        "unseen classes' rows where half are unseen. Mean over seeds.",
        "",
        "| setting | labels per class | teacher | without | with | with - without |",
        "|---|---|---|---|---|---|",
    ]
    for setting in ("all classes labelled", "half the classes unseen"):
        for labels in BUDGETS:
            for kind in TEACHERS:
                pick = [r for r in rows if r[:3] == (setting, labels, kind)]
                off = np.mean([r[5] for r in pick if not r[3]])
                on = np.mean([r[5] for r in pick if r[3]])
                lines.append(
                    f"| {setting} | {labels} | {kind} | {100 * off:.1f} | {100 * on:.1f} "
                    f"| {100 * (on - off):+.1f} |"
                )
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
