"""Command line: ``python -m skcmkd demo``."""

import argparse
import contextlib
import sys
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed

from ._meta import final_distiller
from .baselines import METHODS, Split, fit_teachers, get_methods
from .datasets import SOURCES, hide_classes, load_unpaired
from .diagnostics import decisions
from .exceptions import UnseenClassesWarning

#: The method the demo compares with the others (skcmkd.baselines.METHODS).
SUBJECT = "skcmkd"


def _print_table(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*["-" * w for w in widths]))
    for row in rows:
        print(line.format(*row))


@contextlib.contextmanager
def _one_thread_per_worker(n_jobs):
    """Splits fitted in parallel, one per core: torch uses one thread in each worker."""
    threads = torch.get_num_threads()
    if n_jobs > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _demo_split(args, seed):
    """One unpaired split: every method, scored on held-out student rows."""
    with _one_thread_per_worker(args.n_jobs):
        return _demo_runs(args, seed)


def _demo_runs(args, seed):
    data = load_unpaired(
        args.teacher, args.student, labels_per_class=args.labels_per_class, random_state=seed
    )
    methods = get_methods(args.methods)
    verbose = args.verbose if seed == args.seed else 0
    teachers = fit_teachers(
        {method.teacher for method in methods},
        data.X_teacher,
        data.y_teacher,
        random_state=seed,
        max_epochs=args.max_epochs,
        verbose=verbose,
    )
    split = Split(
        data.X_student,
        data.y_student,
        teachers,
        random_state=seed,
        max_epochs=args.max_epochs,
        verbose=verbose,
        X_teacher_paired=data.X_student_paired,
    )
    scores, models = {}, {}
    for method in methods:
        if method.needs_pairs and split.X_teacher_paired is None:
            continue  # no pairs in this split (a paired baseline needs them)
        models[method.key] = method.run(split)
        scores[method.key] = models[method.key].score(data.X_test, data.y_test)
    labelled = data.y_student != -1
    model = models[SUBJECT]
    distiller = final_distiller(model)
    facts = dict(
        n_labelled=int(labelled.sum()),
        n_unlabelled=int((~labelled).sum()),
        teacher_accuracy=np.mean(
            teachers["real"].predict(data.X_teacher_test) == data.y_teacher_test
        ),
        trust=distiller.unlabeled_trust,
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
            f"split {seed}: "
            + ", ".join(f"{key} {value:.3f}" for key, value in scores.items())
            + f" (trust {facts['trust']:.2f}, relations {relations}; {facts['n_labelled']} "
            f"labelled, {facts['n_unlabelled']} unlabelled rows; teacher "
            f"{facts['teacher_accuracy']:.3f} on its own data) "
            f"[{done}/{args.seeds}, {time.perf_counter() - start:.0f} s]",
            flush=True,
        )
    runs = [runs[seed] for seed in seeds]
    shown = [method for method in get_methods(args.methods) if method.key in runs[0]]
    print()
    rows = []
    for method in shown:
        values = np.array([r[method.key] for r in runs])
        rows.append(
            (
                method.name,
                f"{values.mean():.3f} +- {values.std():.3f}",
                " ".join(f"{v:.3f}" for v in values),
            )
        )
    _print_table(rows, ("held-out student accuracy", "mean +- sd", "per split"))
    print()
    subject = np.array([r[SUBJECT] for r in runs])
    for method in shown:
        if method.key == SUBJECT:
            continue
        gains = 100 * (subject - np.array([r[method.key] for r in runs]))
        print(
            f"{METHODS[SUBJECT].name} minus {method.name}: {gains.mean():+.1f} points "
            f"({(gains > 0).sum()} of {len(gains)} splits better)."
        )
    print(f"Wall time {time.perf_counter() - start:.0f} s.")
    if args.unseen_classes:
        unseen_demo(args)
    return runs


#: The methods of the unseen-class part: the real teacher, its control, and two
#: teacher-free methods (which cannot name a class they have no label for).
UNSEEN_METHODS = ("skcmkd", "noise", "alone", "logreg")


def _unseen_split(args, seed):
    with _one_thread_per_worker(args.n_jobs):
        data = load_unpaired(args.unseen_teacher, args.unseen_student, random_state=seed)
        y, unseen = hide_classes(
            data.y_student_true,
            n_unseen=args.unseen_classes,
            labels_per_class=args.labels_per_class,
            random_state=1000 + seed,
        )
        methods = get_methods(UNSEEN_METHODS)
        teachers = fit_teachers(
            {m.teacher for m in methods},
            data.X_teacher,
            data.y_teacher,
            random_state=seed,
            max_epochs=args.max_epochs,
        )
        split = Split(data.X_student, y, teachers, random_state=seed, max_epochs=args.max_epochs)
        hidden = np.isin(data.y_test, unseen)
        scores, named = {}, {}
        for method in methods:
            with warnings.catch_warnings():  # the noise teacher's decline is reported below
                warnings.simplefilter("ignore", UnseenClassesWarning)
                model = method.run(split)
            right = model.predict(data.X_test) == data.y_test
            scores[method.key] = (right[hidden].mean(), right.mean())
            naming = decisions(model).get("UnseenClassNamer")
            if naming is not None and naming.unseen:
                named[method.key] = naming.named
        return seed, unseen, scores, named


def unseen_demo(args):
    """The unseen-class setting: classes the student has no labels for, named by the teacher."""
    start = time.perf_counter()
    seeds = range(args.seed, args.seed + args.seeds)
    print(
        f"\nClasses the student has no labels for: teacher {args.unseen_teacher!r} -> student "
        f"{args.unseen_student!r}, {args.unseen_classes} of the classes without a single "
        f"labelled row, {args.labels_per_class} labels for each other class. Only a teacher "
        "that knows those classes can name them."
    )
    jobs = (delayed(_unseen_split)(args, seed) for seed in seeds)
    runs = {}
    for seed, unseen, scores, named in Parallel(
        n_jobs=args.n_jobs, return_as="generator_unordered"
    )(jobs):
        runs[seed] = scores
        print(
            f"split {seed}: unseen {unseen.tolist()}; "
            + ", ".join(
                f"{key} {u:.3f} unseen / {o:.3f} all"
                + ("" if key not in named else " (named)" if named[key] else " (declined)")
                for key, (u, o) in scores.items()
            ),
            flush=True,
        )
    rows = []
    for method in get_methods(UNSEEN_METHODS):
        unseen = np.array([runs[s][method.key][0] for s in seeds])
        overall = np.array([runs[s][method.key][1] for s in seeds])
        rows.append(
            (
                method.name,
                f"{unseen.mean():.3f} +- {unseen.std():.3f}",
                f"{overall.mean():.3f} +- {overall.std():.3f}",
            )
        )
    print()
    _print_table(rows, ("held-out accuracy", "unseen classes", "all classes"))
    print(f"Wall time {time.perf_counter() - start:.0f} s.")
    return runs


def _method_keys(text):
    """``--methods``: registered keys, comma-separated, the compared method among them."""
    keys = [key.strip() for key in text.split(",") if key.strip()]
    try:
        get_methods(keys)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if SUBJECT not in keys:
        raise argparse.ArgumentTypeError(
            f"--methods must include {SUBJECT!r}: the demo compares it with the others."
        )
    return keys


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
        "--methods",
        type=_method_keys,
        default=",".join(method.key for method in METHODS.values() if method.demo),
        help="comma-separated keys of skcmkd.baselines.METHODS (default: %(default)s)",
    )
    demo_parser.add_argument(
        "--unseen-classes",
        type=int,
        default=5,
        help="then the same comparison with this many classes unlabelled (0: skip that part)",
    )
    demo_parser.add_argument("--unseen-teacher", default="pix", choices=sources)
    demo_parser.add_argument("--unseen-student", default="kar", choices=sources)
    demo_parser.add_argument(
        "--verbose", type=int, default=0, help="1: skorch's per-epoch tables of the first split"
    )
    args = parser.parse_args(argv)
    demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
