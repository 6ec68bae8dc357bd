"""The held-out check made cheaper, judged as the safety page judges it. Writes docs/check_rows.md and .csv.

    python benchmarks/check_rows.py                 # about 15 minutes on 2 cores
    python benchmarks/check_rows.py --from-csv docs/check_rows.csv   # re-render

``SafeAlignment``'s held-out check trains six students (three folds, with
and without the alignment). Trained one by one on every row, with the
transport solved at every step, they cost about ten fits of the net alone at
the quick experiment's size (docs/speed.md). This script measures cheaper
checks on every split of ``benchmarks/safety.py`` (four families, probe
seeds 10-11 and seeds 0-4): the students trained together as one stacked net
(``stack_students=True``), on the distiller's transport schedule
(``check_transport_every=None``), on at most ``max_rows`` rows.

Only the check's gain changes with these settings: the models the rule
chooses between (the aligned final model and the fall-back) and the cluster
check's trust are the safety run's, read from ``docs/safety.csv``. So each
variant's rule is evaluated exactly as the safety page evaluates its own:
the margin chosen on the probe seeds of the other families, judged on seeds
0-4 of the family left out.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import clone

sys.path.insert(0, str(Path(__file__).resolve().parent))

import safety  # noqa: E402

from skcmkd import CrossModalDistiller, SafeAlignment  # noqa: E402
from skcmkd._labels import encode_labels  # noqa: E402
from skcmkd.baselines import fit_teachers  # noqa: E402
from skcmkd.datasets import load_unpaired  # noqa: E402

#: (name, SafeAlignment settings) of the checks measured; the first is the
#: check the safety page's margin was chosen on.
VARIANTS = {
    "one by one, every row, every step": None,  # safety.csv's own gains
    "stacked, 384 rows": dict(stack_students=True, max_rows=384, check_transport_every=None),
    "stacked, 256 rows": dict(stack_students=True, max_rows=256, check_transport_every=None),
    "stacked, 256 rows, 50 epochs": dict(
        stack_students=True, max_rows=256, check_transport_every=None, check_max_epochs=50
    ),
    "stacked, 384 rows, 35 epochs": dict(
        stack_students=True, max_rows=384, check_transport_every=None, check_max_epochs=35
    ),
    "stacked, 512 rows, 25 epochs": dict(
        stack_students=True, max_rows=512, check_transport_every=None, check_max_epochs=25
    ),
    # the final fit's schedule compressed to the students' epochs: warm-up 3 of 25 epochs
    # (10 of 100), and with it the transport solved in every third epoch (10 of 100)
    "stacked, 512 rows, 25 epochs, warm-up 3": dict(
        stack_students=True,
        max_rows=512,
        check_transport_every=None,
        check_max_epochs=25,
        distiller=dict(warmup_epochs=3),
    ),
    "stacked, 512 rows, 25 epochs, warm-up 3, solve every 3": dict(
        stack_students=True,
        max_rows=512,
        check_transport_every=3,
        check_max_epochs=25,
        distiller=dict(warmup_epochs=3),
    ),
}
#: Variants whose gains an earlier run saved (``--from-csv``) are not measured again.
GAIN_FIELDS = ("gain", "gain_se", "holdout_aligned", "holdout_plain")


def measure(case, seed, trust, *, max_epochs=100, skip=()):
    """Each variant's held-out check on one split: its gain fields and seconds."""
    torch.set_num_threads(1)  # one worker per core
    data = load_unpaired(*case, labels_per_class=5, random_state=seed)
    teacher = fit_teachers(
        {"real"}, data.X_teacher, data.y_teacher, random_state=seed, max_epochs=max_epochs
    )["real"]
    distiller = CrossModalDistiller(teacher=teacher, max_epochs=max_epochs, random_state=seed)
    X, y = data.X_student, data.y_student
    classes, codes = encode_labels(teacher, y)
    out = {}
    for name, settings in VARIANTS.items():
        if settings is None or name in skip:
            continue
        settings = dict(settings)
        students = clone(distiller).set_params(**settings.pop("distiller", {}))
        safe = SafeAlignment(distiller, **settings)
        start = time.perf_counter()
        check, _ = safe._check_holdout(students, X, y, None, classes, codes, trust, seed)
        out[name] = {
            "gain": check.gain,
            "gain_se": check.gain_se,
            "holdout_aligned": check.aligned_accuracy,
            "holdout_plain": check.plain_accuracy,
            "seconds": time.perf_counter() - start,
        }
    return out


def run(rows, *, n_jobs=2, skip=(), log=print):
    """The variants' gains on every split the safety run measured a gain on (but ``skip``'s)."""
    todo = [r for r in rows if r["measured"] and r["trust"] > 0]
    calls = (delayed(measure)(r["case"], r["seed"], r["trust"], skip=skip) for r in todo)
    start, results = time.perf_counter(), []
    for i, result in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(calls)):
        results.append(result)
        r = todo[i]
        gains = ", ".join(f"{k}: {v['gain']:+.3f}" for k, v in result.items())
        log(f"[{i + 1}/{len(todo)}] {safety.name(r['case'])} seed {r['seed']}: {gains}")
    table = []
    for r, result in zip(todo, results, strict=True):
        for name, values in result.items():
            table.append({"case": r["case"], "seed": r["seed"], "variant": name, **values})
    return table, time.perf_counter() - start


def variant_rows(rows, table, name):
    """The safety rows with one variant's gains in place of the safety run's."""
    if VARIANTS[name] is None:
        return rows
    found = {(t["case"], t["seed"]): t for t in table if t["variant"] == name}
    return [
        {**r, **{k: found[r["case"], r["seed"]][k] for k in GAIN_FIELDS}}
        if (r["case"], r["seed"]) in found
        else r
        for r in rows
    ]


def report(rows, table, seconds, command):
    lines = [
        "# A cheaper held-out check, judged on the safety page's splits",
        "",
        f"`{command}` ({seconds / 60:.0f} min on 2 cores, two splits at a time; the"
        " accuracies and the cluster check's trust are `docs/safety.csv`'s). Each variant's"
        " rule: the margin chosen on probe seeds 10-11 of the other families, judged on seeds"
        " 0-4 of the family left out (`benchmarks/safety.py`). Safe margin: the defaults minus"
        " the better of the student alone and a LogisticRegression, in points.",
        "",
        "| check | family left out | margin chosen | safe margin | worst split | leak rate |",
        "|---|---|---|---|---|---|",
    ]
    summaries = {}
    for name in VARIANTS:
        s = safety.summarise(variant_rows(rows, table, name))
        summaries[name] = s
        for fam, v in s["lofo"].items():
            lines.append(
                f"| {name} | {fam} | {safety._margin(v['margin'])} | {v['safe']:+.1f} | "
                f"{v['worst']:+.1f} | {100 * v['leak']:.0f}% |"
            )
    lines += [
        "",
        "Pooled leak rate over the left-out splits, the margin chosen on all probe seeds,"
        " and how often the check decides as the safety page's check does (seeds 0-4 and probe"
        " seeds, splits it measured, at each variant's own chosen margin against the page's"
        " +4 points):",
        "",
        "| check | pooled leak | package margin | same decision | gain: correlation with the page's |",
        "|---|---|---|---|---|",
    ]
    base = {(r["case"], r["seed"]): r for r in rows}
    for name, s in summaries.items():
        mine = variant_rows(rows, table, name)
        measured = [r for r in mine if r["measured"] and r["trust"] > 0]
        same = np.mean(
            [
                safety.keeps(r, s["package"]) == safety.keeps(base[r["case"], r["seed"]], 0.04)
                for r in measured
            ]
        )
        gains = np.array([[r["gain"], base[r["case"], r["seed"]]["gain"]] for r in measured])
        corr = np.corrcoef(gains.T)[0, 1]
        lines.append(
            f"| {name} | {100 * s['lofo_leak']:.1f}% | {safety._margin(s['package'])} | "
            f"{100 * same:.0f}% of {len(measured)} | {corr:.2f} |"
        )
    lines += [
        "",
        "## The choice",
        "",
        "The package's check is the one whose students cost at most about one fit of the net"
        " alone at the quick experiment's size (rows times epochs at most about 13,000, against"
        " 70,000 for 700 rows and 100 epochs; `benchmarks/speed.py`) with the best mean safe"
        " margin on the probe seeds of all four families, at the margin chosen there; ties"
        " within 0.05 points go to the lower leak rate (the tie rule of `safety.choose`). Read"
        " it as chosen with the seeds 0-4 columns above in view: the rule was written after"
        " the first two variants were run.",
        "",
        "| check | row-epochs at 700 rows | probe seeds: margin | safe margin | leak rate |",
        "|---|---|---|---|---|",
    ]
    for name, s in summaries.items():
        settings = {k: v for k, v in (VARIANTS[name] or {}).items() if k != "distiller"}
        rows_cap = settings.get("max_rows", 700)
        epochs = settings.get("check_max_epochs") or 100
        probe = s["margins"][s["package"]]["probe"]
        lines.append(
            f"| {name} | {min(rows_cap, 700) * epochs:,} | {safety._margin(s['package'])} | "
            f"{probe['safe']:+.2f} | {100 * probe['leak']:.0f}% |"
        )
    lines += [
        "",
        "Chosen: **stacked, 512 rows, 25 epochs** (`SafeAlignment(max_rows=512,"
        " check_max_epochs=25, check_transport_every=None, stack_students=True)`), margin"
        " +4 points as before.",
    ]
    lines += ["", "Bars of the safety page, per check:", ""]
    for name, s in summaries.items():
        met = ", ".join(f"{'met' if ok else 'NOT met'}: {bar}" for bar, ok in s["bars"].items())
        lines.append(f"- {name}: {met}")
    return "\n".join(lines) + "\n", summaries


def save(table, seconds, path):
    fields = ("gain", "gain_se", "holdout_aligned", "holdout_plain", "seconds")
    with open(path, "w", newline="") as file:
        file.write(f"# wall_seconds: {seconds:.0f}\n")
        writer = csv.writer(file)
        writer.writerow(["teacher", "student", "seed", "variant", *fields])
        for t in table:
            writer.writerow([*t["case"], t["seed"], t["variant"], *(f"{t[k]:.6f}" for k in fields)])


def load(path):
    with open(path) as file:
        seconds = float(file.readline().split(":")[1])
        table = [
            {
                "case": (r["teacher"], r["student"]),
                "seed": int(r["seed"]),
                "variant": r["variant"],
                **{
                    k: float(v)
                    for k, v in r.items()
                    if k not in ("teacher", "student", "seed", "variant")
                },
            }
            for r in csv.DictReader(file)
        ]
    return table, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--safety-csv", default="docs/safety.csv")
    parser.add_argument("--from-csv", help="re-render from saved gains")
    parser.add_argument(
        "--add-to", help="saved gains: measure only the variants they lack, and add them"
    )
    args = parser.parse_args(argv)
    rows, _ = safety.load_rows(args.safety_csv)
    if args.from_csv:
        table, seconds = load(args.from_csv)
    elif args.add_to:
        table, seconds = load(args.add_to)
        more, more_seconds = run(rows, n_jobs=args.n_jobs, skip={t["variant"] for t in table})
        table, seconds = table + more, seconds + more_seconds
    else:
        table, seconds = run(rows, n_jobs=args.n_jobs)
    out = Path(args.out)
    save(table, seconds, out / "check_rows.csv")
    command = "python benchmarks/check_rows.py"
    if args.from_csv or args.add_to:
        command += "`, then `python benchmarks/check_rows.py --add-to docs/check_rows.csv"
    text, _ = report(rows, table, seconds, command)
    (out / "check_rows.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
