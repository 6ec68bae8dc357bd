"""Command line: ``python -m skcmkd demo``."""

import argparse
import sys
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import CrossModalDistiller
from .controls import noise_teacher_data
from .datasets import SOURCES, load_unpaired

#: The demo's rows, in order.
RUNS = (
    "LogisticRegression, labelled rows",
    "student alone",
    "skcmkd, no teacher",
    "skcmkd, teacher of labelled noise",
    "skcmkd, real teacher",
)


def _print_table(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*["-" * w for w in widths]))
    for row in rows:
        print(line.format(*row))


def _demo_split(args, seed):
    """One unpaired split: every run, scored on held-out student rows."""
    threads = torch.get_num_threads()
    if args.n_jobs > 1:
        torch.set_num_threads(1)  # one split per core, in a worker process
    try:
        return _demo_runs(args, seed)
    finally:
        torch.set_num_threads(threads)


def _demo_runs(args, seed):
    data = load_unpaired(
        args.teacher, args.student, labels_per_class=args.labels_per_class, random_state=seed
    )
    X, y, X_test, y_test = data.X_student, data.y_student, data.X_test, data.y_test
    labelled = y != -1
    verbose = args.verbose if seed == args.seed else 0
    params = dict(max_epochs=args.max_epochs, random_state=seed, verbose=verbose)
    teacher_args = dict(max_epochs=args.max_epochs, verbose=verbose)
    baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    scores = {RUNS[0]: baseline.fit(X[labelled], y[labelled]).score(X_test, y_test)}
    scores[RUNS[1]] = (
        CrossModalDistiller(neighbor_weight=0.0, **params).fit(X, y).score(X_test, y_test)
    )
    scores[RUNS[2]] = CrossModalDistiller(**params).fit(X, y).score(X_test, y_test)
    noise = noise_teacher_data(data.y_teacher, random_state=1000 + seed)
    control = CrossModalDistiller(**params).set_teacher(noise, data.y_teacher, **teacher_args)
    scores[RUNS[3]] = control.fit(X, y).score(X_test, y_test)
    distiller = CrossModalDistiller(**params).set_teacher(
        data.X_teacher, data.y_teacher, **teacher_args
    )
    scores[RUNS[4]] = distiller.fit(X, y).score(X_test, y_test)
    teacher_accuracy = np.mean(
        distiller.teacher.predict(data.X_teacher_test) == data.y_teacher_test
    )
    facts = dict(
        n_labelled=int(labelled.sum()),
        n_unlabelled=int((~labelled).sum()),
        n_teacher=len(data.y_teacher),
        teacher_accuracy=teacher_accuracy,
        trust=distiller.unlabelled_trust_,
        relations=distiller.teacher_relations_,
    )
    return seed, scores, facts


def demo(args):
    """Unpaired distillation on the bundled data: the comparison, split by split."""
    start = time.perf_counter()
    seeds = range(args.seed, args.seed + args.seeds)
    print(
        f"Teacher {args.teacher!r} ({SOURCES[args.teacher]}) -> student {args.student!r} "
        f"({SOURCES[args.student]}), {args.labels_per_class} labels per class, "
        f"{args.seeds} unpaired splits; no sample is on both sides."
    )
    jobs = (delayed(_demo_split)(args, seed) for seed in seeds)
    runs = {}
    for done, (seed, scores, facts) in enumerate(
        Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(jobs), start=1
    ):
        runs[seed] = scores
        relations = "-" if facts["relations"] is None else f"{facts['relations']:.2f}"
        print(
            f"split {seed}: alone {scores[RUNS[1]]:.3f}, logistic {scores[RUNS[0]]:.3f}, "
            f"no teacher {scores[RUNS[2]]:.3f}, noise teacher {scores[RUNS[3]]:.3f}, "
            f"real teacher {scores[RUNS[4]]:.3f} (trust {facts['trust']:.2f}, relations "
            f"{relations}; {facts['n_labelled']} labelled, {facts['n_unlabelled']} unlabelled "
            f"rows; teacher {facts['teacher_accuracy']:.3f} on its own data) "
            f"[{done}/{args.seeds}, {time.perf_counter() - start:.0f} s]",
            flush=True,
        )
    runs = [runs[seed] for seed in seeds]
    print()
    rows = []
    for run in RUNS:
        values = np.array([r[run] for r in runs])
        rows.append(
            (
                run,
                f"{values.mean():.3f} +- {values.std():.3f}",
                " ".join(f"{v:.3f}" for v in values),
            )
        )
    _print_table(rows, ("held-out student accuracy", "mean +- sd", "per split"))
    print()
    real = np.array([r[RUNS[4]] for r in runs])
    for reference, what in [
        (RUNS[1], "the student alone"),
        (RUNS[2], "skcmkd without a teacher"),
        (RUNS[3], "a teacher of labelled noise (the teacher's own content)"),
    ]:
        gains = 100 * (real - np.array([r[reference] for r in runs]))
        print(
            f"Real teacher over {what}: {gains.mean():+.1f} points "
            f"({(gains > 0).sum()} of {len(gains)} splits better)."
        )
    print(f"Wall time {time.perf_counter() - start:.0f} s.")
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skcmkd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="unpaired distillation on the bundled data, against its controls"
    )
    sources = sorted(SOURCES)
    demo_parser.add_argument("--teacher", default="fac", choices=sources)
    demo_parser.add_argument("--student", default="fou", choices=sources)
    demo_parser.add_argument("--labels-per-class", type=int, default=5)
    demo_parser.add_argument("--max-epochs", type=int, default=100)
    demo_parser.add_argument("--seed", type=int, default=0, help="first seed")
    demo_parser.add_argument("--seeds", type=int, default=5, help="number of splits")
    demo_parser.add_argument("--n-jobs", type=int, default=2, help="splits fitted at once")
    demo_parser.add_argument(
        "--verbose", type=int, default=0, help="1: skorch's per-epoch tables of the first split"
    )
    args = parser.parse_args(argv)
    demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
