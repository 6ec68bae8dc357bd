"""Command line: ``python -m skcmkd demo``."""

import argparse
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import CrossModalDistiller
from .datasets import MFEAT_VIEWS, load_mfeat, unpaired_split


def _print_table(rows, headers):
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*["-" * w for w in widths]))
    for row in rows:
        print(line.format(*row))


def demo(args):
    """Unpaired distillation on the bundled UCI Multiple Features views."""
    data = load_mfeat([args.teacher_view, args.student_view])
    y = data.target
    (teacher_rows, student_rows, test_rows), y_student = unpaired_split(
        y, sizes=[0.4, 0.35, 0.25], labels_per_class=args.labels_per_class,
        random_state=args.seed,
    )
    y_student = y_student.astype(np.int64)
    X_teacher = data.views[args.teacher_view][teacher_rows]
    X_student = data.views[args.student_view][student_rows]
    X_test, y_test = data.views[args.student_view][test_rows], y[test_rows]
    labelled = y_student != -1
    print(
        f"UCI Multiple Features, unpaired: teacher view {args.teacher_view!r} on "
        f"{len(teacher_rows)} digits; student view {args.student_view!r} on "
        f"{len(student_rows)} other digits ({labelled.sum()} labelled, "
        f"{(~labelled).sum()} unlabelled); {len(test_rows)} held-out student digits.\n"
        "No digit is on both sides."
    )
    params = dict(max_epochs=args.max_epochs, random_state=args.seed, verbose=args.verbose)
    results = []

    start = time.perf_counter()
    baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    baseline.fit(X_student[labelled], y_student[labelled])
    results.append(("LogisticRegression, labelled rows", baseline.score(X_test, y_test),
                    time.perf_counter() - start))

    print("\n[1/3] student alone (the same net, no teacher)")
    start = time.perf_counter()
    alone = CrossModalDistiller(**params).fit(X_student, y_student)
    results.append(("student alone", alone.score(X_test, y_test), time.perf_counter() - start))

    print(f"\n[2/3] teacher on view {args.teacher_view!r}")
    start = time.perf_counter()
    distiller = CrossModalDistiller(**params, teacher_max_epochs=args.max_epochs)
    distiller.set_teacher(X_teacher, y[teacher_rows])
    teacher_seconds = time.perf_counter() - start
    teacher_acc = np.mean(distiller.teacher.predict(data.views[args.teacher_view][test_rows]) == y_test)

    print("\n[3/3] distilled student (feature + label alignment to the teacher)")
    start = time.perf_counter()
    distiller.fit(X_student, y_student)
    results.append(("distilled student", distiller.score(X_test, y_test),
                    time.perf_counter() - start))

    last = distiller.history_[-1]
    print(
        f"\nTeacher: {teacher_acc:.3f} accuracy on the held-out digits' {args.teacher_view!r} "
        f"view (fitted in {teacher_seconds:.1f} s). Last epoch of the distilled student: "
        f"cross-entropy {last['ce']:.3f}, feature alignment {last['fa']:.3f}, "
        f"label alignment {last['la']:.3f}.\n"
    )
    rows = [(name, f"{acc:.3f}", f"{seconds:.1f}") for name, acc, seconds in results]
    _print_table(rows, ("student-view model", f"accuracy on {len(test_rows)} held-out", "fit s"))
    gain = results[2][1] - results[1][1]
    print(f"\nDistillation gain over the student alone: {100 * gain:+.1f} points.")
    return results


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
    demo_parser.add_argument("--seed", type=int, default=0)
    demo_parser.add_argument("--verbose", type=int, default=1, help="1: per-epoch lines")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
