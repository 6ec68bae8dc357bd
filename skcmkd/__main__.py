"""Command line: ``python -m skcmkd demo``."""

import argparse
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import CrossModalDistiller
from .datasets import MFEAT_VIEWS, load_mfeat_unpaired


def _print_table(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*["-" * w for w in widths]))
    for row in rows:
        print(line.format(*row))


def _demo_run(args, seed, verbose):
    """One unpaired split: the student-view models, scored on held-out rows."""
    data = load_mfeat_unpaired(
        args.teacher_view,
        args.student_view,
        labels_per_class=args.labels_per_class,
        random_state=seed,
    )
    X_student, y_student, X_test, y_test = data.X_student, data.y_student, data.X_test, data.y_test
    labelled = y_student != -1
    if verbose:
        print(
            f"Seed {seed}: teacher view {args.teacher_view!r} on {len(data.y_teacher)} digits; "
            f"student view {args.student_view!r} on {len(y_student)} other digits "
            f"({labelled.sum()} labelled, {(~labelled).sum()} unlabelled); "
            f"{len(y_test)} held-out student digits. No digit is on both sides."
        )
    params = dict(max_epochs=args.max_epochs, random_state=seed, verbose=verbose)
    scores = {}
    baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    baseline.fit(X_student[labelled], y_student[labelled])
    scores["LogisticRegression, labelled rows"] = baseline.score(X_test, y_test)

    if verbose:
        print("\n[1/4] student alone (the same net, no teacher, labelled rows only)")
    alone = CrossModalDistiller(neighbor_weight=0.0, **params).fit(X_student, y_student)
    scores["student alone"] = alone.score(X_test, y_test)

    if verbose:
        print("\n[2/4] the defaults with the teacher off (neighbour consistency only)")
    teacher_off = CrossModalDistiller(**params).fit(X_student, y_student)
    scores["teacher off"] = teacher_off.score(X_test, y_test)

    if verbose:
        print(f"\n[3/4] teacher on view {args.teacher_view!r}")
    distiller = CrossModalDistiller(**params, teacher_max_epochs=args.max_epochs)
    distiller.set_teacher(data.X_teacher, data.y_teacher)
    scores["(teacher, on its own view)"] = np.mean(
        distiller.teacher.predict(data.X_test_paired) == y_test
    )

    if verbose:
        print("\n[4/4] distilled student (alignment to the teacher)")
    distiller.fit(X_student, y_student)
    scores["distilled student"] = distiller.score(X_test, y_test)
    last = distiller.history_[-1]
    print(
        f"seed {seed}: student alone {scores['student alone']:.3f}, distilled "
        f"{scores['distilled student']:.3f} (last epoch: cross-entropy {last['ce']:.3f}, "
        f"feature alignment {last['fa']:.3f}, label alignment {last['la']:.3f}, "
        f"neighbour consistency {last['nc']:.3f})"
    )
    return scores


def demo(args):
    """Unpaired distillation on the bundled UCI Multiple Features views."""
    start = time.perf_counter()
    runs = []
    for i, seed in enumerate(range(args.seed, args.seed + args.seeds)):
        runs.append(_demo_run(args, seed, verbose=args.verbose if i == 0 else 0))
        elapsed = time.perf_counter() - start
        print(
            f"  [{i + 1}/{args.seeds} splits, {elapsed:.0f} s, about "
            f"{elapsed / (i + 1) * (args.seeds - i - 1):.0f} s left]"
        )
    print(
        f"\nUCI Multiple Features, teacher view {args.teacher_view!r} -> student view "
        f"{args.student_view!r}, {args.labels_per_class} labels per class, "
        f"{args.seeds} unpaired splits (seeds {args.seed}..{args.seed + args.seeds - 1}).\n"
    )
    rows = []
    for name in runs[0]:
        values = np.array([run[name] for run in runs])
        rows.append(
            (
                name,
                f"{values.mean():.3f} +- {values.std():.3f}",
                " ".join(f"{v:.3f}" for v in values),
            )
        )
    _print_table(rows, ("model", "held-out accuracy, mean +- sd", "per split"))
    print()
    for reference in ("student alone", "teacher off"):
        gains = 100 * np.array([run["distilled student"] - run[reference] for run in runs])
        print(
            f"Distillation gain over the {reference}: {gains.mean():+.1f} points on average "
            f"({(gains > 0).sum()} of {len(gains)} splits better)."
        )
    print(f"Wall time {time.perf_counter() - start:.0f} s.")
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skcmkd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="unpaired distillation on the bundled UCI Multiple Features data"
    )
    views = sorted(MFEAT_VIEWS)
    demo_parser.add_argument("--teacher-view", default="fac", choices=views)
    demo_parser.add_argument("--student-view", default="fou", choices=views)
    demo_parser.add_argument("--labels-per-class", type=int, default=5)
    demo_parser.add_argument("--max-epochs", type=int, default=100)
    demo_parser.add_argument("--seed", type=int, default=0, help="first seed")
    demo_parser.add_argument("--seeds", type=int, default=5, help="number of splits")
    demo_parser.add_argument("--verbose", type=int, default=1, help="1: per-epoch lines")
    bench_parser = commands.add_parser(
        "benchmark", help="the unpaired accuracy benchmark (writes docs/benchmarks.md)"
    )
    bench_parser.add_argument("--quick", action="store_true", help="one pair, two seeds")
    bench_parser.add_argument("--out", default="docs", help="folder for the page and plot")
    bench_parser.add_argument("--n-jobs", type=int, default=2)
    bench_parser.add_argument(
        "--from-csv", help="re-render the page and plot from a saved benchmarks.csv"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args)
    else:
        from .benchmark import main as benchmark

        benchmark(quick=args.quick, out=args.out, n_jobs=args.n_jobs, from_csv=args.from_csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
