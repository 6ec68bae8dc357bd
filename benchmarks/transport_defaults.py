"""Issue 19: the defaults with the transport solved once every ten epochs. Writes docs/transport_defaults.md.

    python benchmarks/transport_defaults.py                      # about 45 minutes on 2 cores
    python benchmarks/transport_defaults.py --check-like-model   # the first variant, as long
    python benchmarks/transport_defaults.py --render             # the page from the saved rows

``docs/safety.csv`` (``benchmarks/safety.py``) holds, for every split of four
families at 5 labels per class, what the defaults' held-out check measured
and the models it chooses between, all trained with a solve at every step
(``transport_every=1``, before issue 19). The student alone, the logistic
regression and the linear fall-back align nothing, so the schedule cannot
change them. This script fits the aligned side again with the package's
schedule, on the same splits (seeds 0-4), and applies the package's margin to
both records: the defaults' test accuracy before and after, split by split.
The held-out check's students solve at every step as before (the package
does so whatever ``transport_every``); ``--check-like-model`` trains them on
the model's schedule instead, the first variant tried, which the package does
not ship. Cases of the
accuracy benchmark (``benchmarks/accuracy.py``) that the safety benchmark
lacks are fitted whole. Last, the defaults against ``docs/benchmarks_a1fc715.csv``,
the accuracy benchmark's scores at commit a1fc715 (before the held-out check existed).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import safety  # noqa: E402  (its splits, rule and records)
from accuracy import CASES as ACCURACY_CASES  # noqa: E402
from accuracy import EARLIER, load_scores  # noqa: E402

import skcmkd.assumptions as assumptions  # noqa: E402
from skcmkd import CrossModalDistiller, SafeAlignment, make_safe_distiller  # noqa: E402
from skcmkd.baselines import fit_teachers  # noqa: E402
from skcmkd.datasets import load_unpaired  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CSV = ROOT / "docs" / "transport_defaults.csv"
VARIANT_CSV = ROOT / "docs" / "transport_defaults_check_like_model.csv"
SEEDS = safety.TEST_SEEDS
EVERY = CrossModalDistiller().transport_every
#: The held-out check's margin of the defaults (SafeAlignment's default).
MARGIN = SafeAlignment(None).margin


def aligned_side(case, seed, *, check_like_model=False, max_epochs=100):
    """The defaults' aligned fit with the check recording (margin -inf), as safety.run_split.

    The final model does not depend on the check's students (they train in a
    forked random state), so both variants fit the same aligned model.
    """
    torch.set_num_threads(1)  # one worker per core
    data = load_unpaired(*case, labels_per_class=5, random_state=seed)
    teachers = fit_teachers(
        {"real"}, data.X_teacher, data.y_teacher, random_state=seed, max_epochs=max_epochs
    )
    # margin -inf: the check measures, and always keeps the alignment; the first
    # variant trains the check's students on the model's schedule
    model = make_safe_distiller(
        teacher=teachers["real"], max_epochs=max_epochs, random_state=seed
    ).set_params(margin=-np.inf, check_transport_every=None if check_like_model else 1)
    model.fit(data.X_student, data.y_student)
    clusters = model.decision_.clusters
    holdout = model.decision_.holdout or assumptions.HoldoutCheck.not_measured("")
    row = {
        "aligned": model.score(data.X_test, data.y_test),
        "trust": np.nan if clusters is None else clusters.trust,
        "measured": float(holdout.measured),
        "gain": holdout.gain,
        "gain_se": holdout.gain_se,
    }
    return {"case": case, "seed": seed, **{k: float(v) for k, v in row.items()}}


def _whole_split(case, seed, check_like_model):
    return safety.run_split(case, seed, check_transport_every=None if check_like_model else 1)


def run(before, extra_cases, *, check_like_model=False, n_jobs=2, log=print):
    """Today's records: the aligned side of every split of ``before``, whole fits of the rest."""
    calls = [
        delayed(aligned_side)(r["case"], r["seed"], check_like_model=check_like_model)
        for r in before
    ]
    calls += [delayed(_whole_split)(c, s, check_like_model) for c in extra_cases for s in SEEDS]
    start, rows = time.perf_counter(), []
    for done, row in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(calls), 1):
        rows.append(row)
        log(
            f"[{done}/{len(calls)}] {safety.name(row['case'])} seed {row['seed']}: "
            f"aligned {row['aligned']:.3f}, held-out gain {row['gain']:+.3f}; "
            f"{time.perf_counter() - start:.0f} s"
        )
    old = {(r["case"], r["seed"]): r for r in before}
    after = []
    for row in rows:
        previous = old.get((row["case"], row["seed"]))
        after.append(row if previous is None else {**previous, **row})
    return after, time.perf_counter() - start


def defaults_accuracy(row):
    """The defaults' test accuracy (%) under the package's margin, from one split's records."""
    return safety.outcome(row, MARGIN)[0]


def _interval(values):
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean(), half


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def family_rows(before, after):
    old = {(r["case"], r["seed"]): r for r in before}
    out = []
    for family, cases in safety.FAMILIES.items():
        pairs = [(old[r["case"], r["seed"]], r) for r in after if r["case"] in cases]
        pairs = [(b, a) for b, a in pairs if (b["case"], b["seed"]) in old]
        if not pairs:
            continue
        first = [defaults_accuracy(b) for b, _ in pairs]
        then = [defaults_accuracy(a) for _, a in pairs]
        diff, half = _interval(np.subtract(then, first))
        margins = [safety.outcome(a, MARGIN)[1] for _, a in pairs]
        kept = [
            sum(safety.keeps(r, MARGIN) and r["trust"] > 0 for r in side)
            for side in ([b for b, _ in pairs], [a for _, a in pairs])
        ]
        leaks = sum(safety.leaked(a, MARGIN) for _, a in pairs)
        out.append(
            [
                family,
                len(pairs),
                f"{np.mean(first):.1f}",
                f"{np.mean(then):.1f}",
                f"{diff:+.1f} ± {half:.1f}",
                f"{min(np.subtract(then, first)):+.1f}",
                f"{kept[0]} / {kept[1]}",
                f"{np.mean(margins):+.1f}",
                leaks,
            ]
        )
    return out


def accuracy_rows(after, path=EARLIER):
    """The defaults on the accuracy benchmark's cases against its defaults column at a1fc715."""
    page = {}
    for (case, budget, _), scores in load_scores(path)[0].items():
        if budget == 5:
            page.setdefault(case, []).append(100 * scores["skcmkd"])
    out = []
    for case in ACCURACY_CASES:
        today = [defaults_accuracy(r) for r in after if r["case"] == case]
        if not today or case not in page:
            continue
        old_mean, old_half = _interval(page[case])
        new_mean, new_half = _interval(today)
        inside = abs(new_mean - old_mean) <= old_half
        out.append(
            [
                safety.name(case),
                f"{old_mean:.1f} ± {old_half:.1f}",
                f"{new_mean:.1f} ± {new_half:.1f}",
                f"{new_mean - old_mean:+.1f}",
                "yes" if inside else "NO",
            ]
        )
    return out


def derived_rows(before, variant):
    """The shipped records from the first variant's run: its aligned model, the old check.

    Both variants fit the same final model; the shipped check's students
    train as those of ``docs/safety.csv``, whose records are taken.
    """
    old = {(r["case"], r["seed"]): r for r in before}
    return [
        {**old[r["case"], r["seed"]], "aligned": r["aligned"]}
        for r in variant
        if (r["case"], r["seed"]) in old
    ]


FAMILY_HEADER = [
    "family",
    "splits",
    "defaults, every step",
    f"defaults, every {EVERY} epochs",
    "difference",
    "worst",
    "kept",
    "safe margin",
    "leaks",
]
ACCURACY_HEADER = [
    "case",
    "page (every step, no check)",
    f"today (every {EVERY} epochs, check, fall-back)",
    "difference",
    "inside",
]


def _results(before, after):
    acc = accuracy_rows(after)
    inside = sum(r[-1] == "yes" for r in acc)
    return f"""### Per family

{_table(FAMILY_HEADER, family_rows(before, after))}

### Against the accuracy benchmark's page

{inside} of {len(acc)} cases inside.

{_table(ACCURACY_HEADER, acc)}
"""


def render(before, shipped, variant, derived, seconds, command, shipped_seconds=None):
    """The page; ``seconds``: the first variant's run, ``shipped_seconds``: the shipped one's."""
    source = (
        "**Derived, not run**: the rows combine the first variant's run (below), whose "
        "final models are the shipped ones (the check trains in a forked random state, "
        "so its students do not change the final fit), with the check's records of "
        "`docs/safety.csv`, whose students train as the shipped check's do (to float "
        "rounding: the per-row form of the transport gives the same values to about "
        "1e-7). Cases without such records (`pix->zer`) are left out. "
        f"`{command}` measures them (about 45 min on 2 cores); it was not run for this page."
        if derived
        else f"`{command}` ({shipped_seconds / 60:.0f} min on 2 cores, two splits at a time, "
        "beside other work)."
    )
    return f"""# The defaults with the transport solved once every {EVERY} epochs (issue 19)

The splits of [the safety benchmark](safety.md) (5 labels per class, seeds
{SEEDS[0]}-{SEEDS[-1]}), whose records (`docs/safety.csv`) were trained with a
solve at every step (`transport_every=1`). The student alone, the logistic
regression and the linear fall-back align nothing and are taken from those
records; the final aligned student is trained again with the package's
`transport_every={EVERY}`. The package's margin
({MARGIN:+.2f}) then gives the defaults' model on each split,
before and after. Accuracy in %; differences paired, mean ± 95% t interval over
splits. *Kept*: splits where the defaults ship the aligned student (before /
after). *Safe margin*: the defaults minus the better of the student alone and
a logistic regression, as on the safety page; *leaks*: splits where the
alignment stayed on and the defaults lost more than
{safety.LEAK_POINTS:.0f} point to that reference. *Against the accuracy
benchmark's page*: the defaults on the cases of [the accuracy
benchmark](benchmarks.md) (same splits) against its defaults column as
measured at commit a1fc715 (`docs/benchmarks_a1fc715.csv`), at a solve at
every step and before the held-out check and the fall-back existed (those
two account for most of any difference; the safety
page measures them); *inside*: today's mean within the page's 95% interval.

## Shipped: the held-out check's students solve at every step

{source}

{_results(before, shipped)}
## First variant, not shipped: the check's students on the model's schedule

`python benchmarks/transport_defaults.py --check-like-model`
({seconds / 60:.0f} min on 2 cores, two splits at a time; run at commit
24b845c, when this was the package's behaviour). The check measured
students trained like the final model, and on three `shapes-contour ->
shapes-image` splits its gain rose over the margin where the aligned student
loses to the fall-back the defaults would otherwise ship: shapes lost a point
on average, with two leaks. The margin was chosen on students that solve at
every step, and the check compares the aligned student with the plain net,
not with the fall-back (a gap named in issue 17); so the package keeps the
check's students as they were. That choice was made after seeing this run's
shapes splits: shapes, a family the schedule was not chosen on, was looked at
before it, so the shipped rows above are not an unseen-family result for it.

{_results(before, variant)}"""


FIELDS = ("aligned", "trust", "measured", "gain", "gain_se", "logreg", "alone", "fallback")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=ROOT / "docs" / "transport_defaults.md", type=Path)
    parser.add_argument(
        "--check-like-model",
        action="store_true",
        help="the first variant: the check's students on the model's schedule",
    )
    parser.add_argument("--render", action="store_true", help="the page from the saved rows")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    records, _ = safety.load_rows(ROOT / "docs" / "safety.csv")
    before = [r for r in records if r["seed"] in SEEDS]
    if not args.render:
        known = {r["case"] for r in before}
        extra = [c for c in ACCURACY_CASES if c not in known]
        rows, seconds = run(
            before, extra, check_like_model=args.check_like_model, n_jobs=args.n_jobs
        )
        safety.save_rows(
            rows, seconds, VARIANT_CSV if args.check_like_model else SHIPPED_CSV, FIELDS
        )
    variant, seconds = safety.load_rows(VARIANT_CSV, FIELDS)
    derived = not SHIPPED_CSV.exists()
    shipped, shipped_seconds = (
        (derived_rows(before, variant), None) if derived else safety.load_rows(SHIPPED_CSV, FIELDS)
    )
    command = "python benchmarks/transport_defaults.py"
    page = render(before, shipped, variant, derived, seconds, command, shipped_seconds)
    args.out.write_text(page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
