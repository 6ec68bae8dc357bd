"""The unpaired accuracy benchmark: writes docs/benchmarks.md, .png and .csv.

    python benchmarks/accuracy.py            # every case, seeds 0-4, about 95 min on 2 cores
    python benchmarks/accuracy.py --quick    # one case, two seeds, 3 epochs: a smoke test
    python benchmarks/accuracy.py --from-csv docs/benchmarks.csv   # re-render, no training

Two data families. UCI mfeat: two views of the same handwritten digits, made
unpaired by giving the teacher 40% of the digits and the student 35% (train)
and 25% (test). Spoken digits: synthetic speech (benchmarks/make_spoken_digits.py)
taught by digit *images* from other data sets, or teaching them; nothing is
shared but the ten classes. Every case runs every method of the registry
skcmkd.baselines.METHODS: the same skcmkd defaults, the teacher-free
baselines, and two control teachers: labelled Gaussian noise with the
teacher's class counts, and the real teacher's data with its classes permuted
(skcmkd.controls). Defaults were chosen on probe seeds 10-14
(docs/probe_safe_defaults.md), never on these seeds.
"""

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from scipy import stats

from skcmkd._meta import final_distiller
from skcmkd.assumptions import relation_agreement
from skcmkd.baselines import Split, fit_teachers, get_methods
from skcmkd.datasets import MFEAT_VIEWS, load_unpaired

#: (teacher, student). mfeat pairs first: the strong views (fac, pix, kar)
#: teach weaker ones; four of them are pairs whose views agree on class
#: relations (AGREEING). Then the spoken-digits family: images teach speech,
#: speech teaches images.
CASES = [
    ("fac", "fou"),
    ("fac", "zer"),
    ("fac", "mor"),
    ("fac", "kar"),
    ("pix", "zer"),
    ("pix", "kar"),
    ("kar", "pix"),
    ("digits", "speech"),
    ("pix", "speech"),
    ("speech", "digits"),
]
#: mfeat pairs whose views agree on the relations between classes: Spearman
#: correlation of class-mean distances >= 0.4 over all 2000 digits
#: (../shared/paper/WHAT-CROSSES.md): fac-zer 0.47, fac-kar 0.57, pix-kar 0.81.
AGREEING = [("fac", "zer"), ("fac", "kar"), ("pix", "kar"), ("kar", "pix")]
SEEDS = range(5)
BUDGETS = (5, None)  # labelled student rows per class; None: all labelled

#: The scores of this page as measured at commit a1fc715, before issue 17's
#: held-out check and linear fall-back and issue 19's transport schedule: the
#: page compares the defaults with them (``git checkout a1fc715`` and this
#: script reproduce them).
EARLIER = Path(__file__).resolve().parents[1] / "docs" / "benchmarks_a1fc715.csv"

#: Every registered method (skcmkd.baselines.METHODS), in its order: the columns.
METHODS = get_methods()
METHOD_NAMES = {method.key: method.name for method in METHODS}
TEACHER_FREE = [method.key for method in METHODS if method.teacher_free]
#: Numbers recorded per cell that are not accuracies.
EXTRAS = ("teacher", "trust", "relations", "agreement")


def family(case):
    return "mfeat" if case[0] in MFEAT_VIEWS and case[1] in MFEAT_VIEWS else "spoken digits"


def name(case):
    return f"{case[0]}->{case[1]}"


# -- one split: every method, both budgets -----------------------------------------


def run_split(case, seed, *, budgets=BUDGETS, max_epochs=100):
    """Every method on one split of one case; ``{budget: {method: value}}``.

    The teachers (real, noise, permuted) do not depend on the student's
    labels: each is fitted once and serves both budgets.
    """
    torch.set_num_threads(1)  # one worker per core: no oversubscription
    base = load_unpaired(*case, random_state=seed)
    kinds = {method.teacher for method in METHODS}
    teachers = fit_teachers(
        kinds, base.X_teacher, base.y_teacher, random_state=seed, max_epochs=max_epochs
    )
    real = teachers["real"]
    results = {}
    for budget in budgets:
        data = load_unpaired(*case, labels_per_class=budget, random_state=seed)
        X_s, y_s, X_test, y_test = data.X_student, data.y_student, data.X_test, data.y_test
        split = Split(
            X_s,
            y_s,
            teachers,
            random_state=seed,
            max_epochs=max_epochs,
            X_teacher_paired=data.X_student_paired,
        )
        scores = {}
        for method in METHODS:  # the unpaired methods, then the diagnostic, then the paired
            if method.needs_pairs:
                continue
            model = method.run(split)
            scores[method.key] = model.score(X_test, y_test)
            if method.key == "skcmkd":
                scores["trust"] = model.decision_.unlabeled_trust
                relations = final_distiller(model).teacher_relations_
                scores["relations"] = np.nan if relations is None else relations
        # the transferability diagnostic, from the labelled rows, before training
        scores["agreement"] = relation_agreement(real, X_s, y_s) if budget is not None else np.nan
        if data.X_student_paired is not None:
            for method in METHODS:
                if method.needs_pairs:
                    scores[method.key] = method.run(split).score(X_test, y_test)
        scores["teacher"] = np.mean(real.predict(data.X_teacher_test) == data.y_teacher_test)
        results[budget] = scores
    return results


def _job(case, seed, budgets, max_epochs):
    return case, seed, run_split(case, seed, budgets=budgets, max_epochs=max_epochs)


def run(*, cases=CASES, seeds=SEEDS, budgets=BUDGETS, max_epochs=100, n_jobs=2, log=print):
    """Every split in parallel; returns ``({(case, budget, seed): scores}, seconds)``."""
    jobs = [(case, seed) for case in cases for seed in seeds]
    start, results = time.perf_counter(), {}
    calls = (delayed(_job)(case, seed, budgets, max_epochs) for case, seed in jobs)
    for done, (case, seed, per_budget) in enumerate(
        Parallel(n_jobs=n_jobs, return_as="generator_unordered")(calls), start=1
    ):
        for budget, scores in per_budget.items():
            results[case, budget, seed] = scores
        elapsed = time.perf_counter() - start
        first = per_budget[budgets[0]]
        log(
            f"[{done}/{len(jobs)}] {name(case)} seed {seed}: skcmkd {first['skcmkd']:.3f}, "
            f"noise teacher {first['noise']:.3f}, alone {first['alone']:.3f}; {elapsed:.0f} s, "
            f"about {elapsed / done * (len(jobs) - done):.0f} s left"
        )
    return results, time.perf_counter() - start


# -- statistics -------------------------------------------------------------------


def _ci95(values):
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return 0.0
    return stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))


def _paired_p(differences):
    differences = np.asarray(differences, dtype=float)
    if len(differences) < 2 or np.allclose(differences, differences[0]):
        return float("nan")
    return float(stats.ttest_1samp(differences, 0.0).pvalue)


def _mean_ci(values):
    """Mean and 95% half-width of the finite values; NaN when there are none."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return (float(values.mean()), float(_ci95(values))) if len(values) else (np.nan, 0.0)


def _runs(results, case, budget):
    cells = sorted((s, v) for (c, b, s), v in results.items() if c == case and b == budget)
    return [scores for _, scores in cells]


def _gap(results, cases, budget, method, reference):
    """Points of ``method`` over ``reference`` (a method, or a per-case function)."""
    diffs, per_case = [], {}
    for case in cases:
        runs = _runs(results, case, budget)
        ref = reference(case) if callable(reference) else reference
        d = [100 * (r[method] - r[ref]) for r in runs]
        diffs += d
        per_case[case] = float(np.mean(d))
    return {
        "mean": float(np.mean(diffs)),
        "ci": float(_ci95(diffs)),
        "p": _paired_p(diffs),
        "worst": min(per_case.values()),
        "per_case": per_case,
    }


def check_methods(results):
    """Refuse scores of a method the registry does not have: it would be dropped silently."""
    keys = {key for scores in results.values() for key in scores}
    get_methods(sorted(keys - set(EXTRAS)))  # raises, naming the unknown ones


def summarise(results):
    """Means, intervals, gains, the control comparisons and the bars, as plain data."""
    check_methods(results)
    cases = [c for c in CASES if any(k[0] == c for k in results)]
    budgets = [b for b in BUDGETS if any(k[1] == b for k in results)]
    s = {"cases": cases, "budgets": budgets, "cells": {}, "gains": {}, "bars": {}}
    for budget in budgets:
        for case in cases:
            runs = _runs(results, case, budget)
            s["cells"][case, budget] = {m: _mean_ci([r[m] for r in runs]) for m in runs[0]}
    if 5 in budgets:
        cells = {case: s["cells"][case, 5] for case in cases}

        def best_free(case):
            return max(TEACHER_FREE, key=lambda m: cells[case][m][0])

        def safe_reference(case):  # the better of the student alone and a logistic regression
            return max(("alone", "logreg"), key=lambda m: cells[case][m][0])

        for versus in [*TEACHER_FREE, "noise", "permuted"]:
            s["gains"][versus] = _gap(results, cases, 5, "skcmkd", versus)
        s["gains"]["best teacher-free"] = _gap(results, cases, 5, "skcmkd", best_free)
        s["safe"] = _gap(results, cases, 5, "skcmkd", safe_reference)
        s["safe_reference"] = {case: safe_reference(case) for case in cases}
        s["best_free"] = {case: best_free(case) for case in cases}
        for fam in ("mfeat", "spoken digits"):
            members = [c for c in cases if family(c) == fam]
            if members:
                s["gains"][f"noise, {fam}"] = _gap(results, members, 5, "skcmkd", "noise")
                s["gains"][f"safe, {fam}"] = _gap(results, members, 5, "skcmkd", safe_reference)
        agreeing = [c for c in cases if c in AGREEING]
        others = [c for c in cases if c not in AGREEING]
        if agreeing:
            s["gains"]["noise, agreeing pairs"] = _gap(results, agreeing, 5, "skcmkd", "noise")
        if others:
            s["gains"]["noise, other cases"] = _gap(results, others, 5, "skcmkd", "noise")
        if len(cases) >= 3:
            diagnostic = [cells[c]["agreement"][0] for c in cases]
            gain = [s["gains"]["noise"]["per_case"][c] for c in cases]
            s["diagnostic_spearman"] = float(stats.spearmanr(diagnostic, gain).statistic)
        safe = s["safe"]
        s["bars"][
            "MUST: 5 labels, defaults >= better of alone and LogisticRegression - 0.5 on average, no case below - 1.5"
        ] = safe["mean"] >= -0.5 and safe["worst"] >= -1.5
        if agreeing and others:
            g_a = s["gains"]["noise, agreeing pairs"]
            g_o = s["gains"]["noise, other cases"]
            s["bars"][
                "GOAL: agreeing pairs, real minus noise teacher >= +2 on average, p < 0.05"
            ] = g_a["mean"] >= 2 and g_a["p"] < 0.05
            s["bars"]["GOAL: other cases, real >= noise teacher - 0.5 on average"] = (
                g_o["mean"] >= -0.5
            )
        if "diagnostic_spearman" in s:
            s["bars"][
                "GOAL: relation agreement ranks the cases by real minus noise (Spearman >= 0.5)"
            ] = s["diagnostic_spearman"] >= 0.5
    if None in budgets:
        s["gains_all"] = _gap(results, cases, None, "skcmkd", "alone")
        s["bars"]["MUST: all labelled, no case more than 0.5 below the student alone"] = (
            s["gains_all"]["worst"] >= -0.5
        )
    return s


# -- the page -----------------------------------------------------------------------


def _fmt(cell):
    mean, ci = cell
    return "-" if np.isnan(mean) else f"{100 * mean:.1f} ± {100 * ci:.1f}"


def _gain_row(label, gain):
    return (
        f"| {label} | {gain['mean']:+.1f} ± {gain['ci']:.1f} | {gain['p']:.2g} | "
        f"{gain['worst']:+.1f} |"
    )


def report(results, seconds, s, *, command, plot_name):
    seeds = sorted({k[2] for k in results})
    methods = [m for m in METHOD_NAMES if any(m in s["cells"][k] for k in s["cells"])]
    budget_name = {5: "5 labels/class", None: "all labelled"}
    lines = [
        "# Benchmark: unpaired distillation on two data families",
        "",
        f"Held-out student accuracy (%), mean ± 95% confidence interval over seeds "
        f"{seeds[0]}-{seeds[-1]} (the defaults were chosen on seeds 10-14, "
        "[probe_safe_defaults.md](probe_safe_defaults.md)). **mfeat**: two views of the same "
        "handwritten digits, split into disjoint teacher (40%), student training (35%) and "
        "student test (25%) digits. **Spoken digits**: synthetic speech "
        "(`benchmarks/make_spoken_digits.py`) with digit images of other data sets "
        "(`digits`: scikit-learn's 8x8 digits; `pix`: an mfeat view) as teacher or "
        "student: nothing shared but the ten classes; the student data set splits 60/40 into "
        "training and test rows. At 5 labels per class the other training rows are given as "
        "-1. Every case runs the same skcmkd defaults (`make_safe_distiller`). The two control teachers "
        "(`skcmkd.controls`) go through the same pipeline: labelled Gaussian noise with the "
        "teacher's class counts, and the real teacher's data with its classes permuted. "
        "Paired KD (mfeat only) trains the same student net on the teacher's soft labels "
        "of the *paired* teacher-view rows: the pairs skcmkd does without.",
        "",
    ]
    for budget in s["budgets"]:
        lines += [
            f"## {budget_name[budget]}",
            "",
            "| case | teacher (own data) | " + " | ".join(METHOD_NAMES[m] for m in methods) + " |",
            "|---|---|" + "---|" * len(methods),
        ]
        for case in s["cases"]:
            cell = s["cells"][case, budget]
            lines.append(
                f"| {name(case)} | {_fmt(cell['teacher'])} | "
                + " | ".join(_fmt(cell.get(m, (np.nan, 0))) for m in methods)
                + " |"
            )
        lines.append("")
    if 5 in s["budgets"]:
        lines += _control_section(s) + _safety_section(s) + _gains_section(s)
    if 5 in s["budgets"] and EARLIER.exists():
        lines += _earlier_section(results, s, EARLIER)
    if "gains_all" in s:
        g = s["gains_all"]
        lines += [
            "## All labelled",
            "",
            f"skcmkd minus the student alone: {g['mean']:+.1f} points on average, worst case "
            f"{g['worst']:+.1f}. Every alignment weight is spent in proportion to the share "
            "of unlabelled rows, so a fully labelled student trains the same net as the "
            "student alone whatever the teacher (real, noise or permuted); with no alignment, "
            "the defaults predict with it and the linear fall-back together "
            "([fallback.md](fallback.md)), which is the difference here.",
            "",
        ]
    lines += ["## The bars", ""]
    lines += [f"- {'met' if ok else '**not met**'}: {bar}" for bar, ok in s["bars"].items()]
    lines += [
        "",
        f"![held-out accuracy at 5 labels per class]({plot_name})",
        "",
        f"Machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}. Wall time: {seconds / 60:.1f} min.",
        "",
        f"Reproduce: `{command}`",
        "",
        "## Classes the student has no labels for",
        "",
        "The same cases with 5 of the 10 classes given no labelled row, where only a teacher "
        "can name them, with the same controls: [unseen_classes.md](unseen_classes.md), "
        "written by `python benchmarks/unseen_classes.py` (a separate script, so that each "
        "stays within 30 minutes on 2 cores).",
        "",
    ]
    return "\n".join(lines)


def _control_section(s):
    cells = {c: s["cells"][c, 5] for c in s["cases"]}
    lines = [
        "## What the teacher adds: the controls",
        "",
        "At 5 labels per class. *Real minus noise* is what the teacher's content adds beyond "
        "what any labelled clusters give (a prior on the student's latent geometry, the number "
        "and priors of the classes); *real minus permuted* whether the class names matter. "
        "*Agreement* is the rank correlation between the distances of the student's class "
        "means (its labelled rows) and of the teacher's "
        "(`skcmkd.assumptions.relation_agreement`, the transferability diagnostic, measured "
        "before training; the distiller records it in `relation_agreement_`); *trust* the "
        "factor `SafeAlignment` put on the alignment weights (`decision_.unlabeled_trust`). "
        "Each is a mean over seeds.",
        "",
        "| case | agreeing views | real teacher | noise teacher | permuted teacher | real minus noise | real minus permuted | agreement | trust |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    noise, permuted = s["gains"]["noise"]["per_case"], s["gains"]["permuted"]["per_case"]
    for case in s["cases"]:
        c = cells[case]
        lines.append(
            f"| {name(case)} | {'yes' if case in AGREEING else 'no'} | {_fmt(c['skcmkd'])} | "
            f"{_fmt(c['noise'])} | {_fmt(c['permuted'])} | {noise[case]:+.1f} | "
            f"{permuted[case]:+.1f} | {c['agreement'][0]:.2f} | {c['trust'][0]:.2f} |"
        )
    lines += [
        "",
        "| over | real minus noise teacher (points, 95% CI) | p (paired t-test) | worst case |",
        "|---|---|---|---|",
    ]
    for key, label in [
        ("noise", "every case"),
        ("noise, agreeing pairs", "agreeing mfeat pairs"),
        ("noise, other cases", "every other case"),
        ("noise, mfeat", "mfeat"),
        ("noise, spoken digits", "spoken digits"),
    ]:
        if key in s["gains"]:
            lines.append(_gain_row(label, s["gains"][key]))
    if "diagnostic_spearman" in s:
        lines += [
            "",
            "Does the agreement, measured before training from 5 labels per class, tell which "
            "cases gain from the teacher's content? Spearman correlation between the mean "
            "agreement and the mean real-minus-noise gain, across the cases: "
            f"**{s['diagnostic_spearman']:.2f}**.",
        ]
    lines.append("")
    return lines


def _safety_section(s):
    safe = s["safe"]
    lines = [
        "## Safe by default",
        "",
        "skcmkd's defaults against the better of the student alone and a logistic regression "
        "on the labelled rows (chosen per case on these seeds' means), at 5 labels per class:",
        "",
        "| case | reference | defaults minus reference (points) |",
        "|---|---|---|",
    ]
    for case in s["cases"]:
        ref = s["safe_reference"][case]
        lines.append(f"| {name(case)} | {METHOD_NAMES[ref]} | {safe['per_case'][case]:+.1f} |")
    lines += ["", "| over | mean (95% CI) | p | worst case |", "|---|---|---|---|"]
    lines.append(_gain_row("every case", safe))
    for fam in ("mfeat", "spoken digits"):
        if f"safe, {fam}" in s["gains"]:
            lines.append(_gain_row(fam, s["gains"][f"safe, {fam}"]))
    lines.append("")
    return lines


def _gains_section(s):
    lines = [
        "## Gains of skcmkd over each baseline at 5 labels per class",
        "",
        "| versus | mean gain (points, 95% CI) | p (paired t-test) | worst case |",
        "|---|---|---|---|",
    ]
    for versus in [*TEACHER_FREE, "best teacher-free"]:
        label = METHOD_NAMES.get(versus, versus)
        lines.append(_gain_row(label, s["gains"][versus]))
    lines += [
        "",
        "Best teacher-free method per case: "
        + ", ".join(f"{name(c)}: {METHOD_NAMES[m]}" for c, m in s["best_free"].items())
        + ".",
        "",
    ]
    return lines


def _earlier_section(results, s, path):
    """The defaults and the noise teacher against the same splits of an earlier run's scores.

    Per case: both runs' means with their 95% intervals, the change paired
    over the seeds both ran (mean ± 95% interval), and whether today's mean
    lies inside the earlier run's interval (issue 19's bar).
    """
    earlier_results = load_scores(path)[0]
    earlier = summarise(earlier_results)
    methods = ("skcmkd", "noise")
    rows, inside = [], {m: 0 for m in methods}
    cases = [c for c in s["cases"] if (c, 5) in earlier["cells"]]
    for case in cases:
        seeds = sorted(
            seed
            for (c, budget, seed) in results
            if c == case and budget == 5 and (c, 5, seed) in earlier_results
        )
        cells = []
        for method in methods:
            then, now = earlier["cells"][case, 5][method], s["cells"][case, 5][method]
            within = abs(now[0] - then[0]) <= then[1]
            inside[method] += within
            change = [
                100 * (results[case, 5, seed][method] - earlier_results[case, 5, seed][method])
                for seed in seeds
            ]
            cells += [
                _fmt(then),
                _fmt(now),
                f"{np.mean(change):+.1f} ± {_ci95(change):.1f}{'' if within else ' (outside)'}",
            ]
        rows.append(f"| {name(case)} | " + " | ".join(cells) + " |")
    return [
        "## Against this page before issues 17 and 19",
        "",
        f"The same splits measured at commit a1fc715 (`{path.relative_to(path.parents[1])}`): "
        "a solve of the transport at every step, before the held-out check, the linear "
        "fall-back and `transport_every` existed. *Change*: today minus then, paired over "
        "the seeds both ran (mean ± 95% interval, points); *outside*: today's mean lies "
        "outside that run's 95% interval. At 5 labels per class; the defaults inside on "
        f"{inside['skcmkd']} of {len(cases)} cases, the noise teacher on "
        f"{inside['noise']} of {len(cases)}.",
        "",
        "| case | defaults then | defaults now | change | noise teacher then | noise teacher now "
        "| change |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def plot(s, path):
    """Bar chart of the main methods at 5 labels per class, with intervals."""
    import matplotlib

    matplotlib.use("Agg")  # a script: no display wanted
    import matplotlib.pyplot as plt

    methods = [method.key for method in METHODS if method.plot]
    cases = s["cases"]
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(cases)), 4.8))
    for i, method in enumerate(methods):
        cells = [s["cells"][c, 5][method] for c in cases]
        ax.bar(
            np.arange(len(cases)) + (i - len(methods) / 2 + 0.5) * width,
            [100 * c[0] for c in cells],
            width,
            yerr=[100 * c[1] for c in cells],
            label=METHOD_NAMES[method],
            capsize=2,
        )
    ax.set_xticks(np.arange(len(cases)), [name(c) for c in cases], rotation=20)
    ax.set_ylabel("held-out student accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Unpaired distillation, 5 labels per class (95% CI)")
    fig.legend(fontsize=7, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_scores(results, seconds, path):
    """Every number of every cell, one row each: the raw data behind the page."""
    with open(path, "w") as file:
        file.write(f"# wall_seconds: {seconds:.0f}\n")
        file.write("teacher,student,labels_per_class,seed,method,value\n")
        order = sorted(
            results.items(), key=lambda kv: (CASES.index(kv[0][0]), kv[0][1] or 0, kv[0][2])
        )
        for (case, budget, seed), scores in order:
            for method, value in scores.items():
                file.write(f"{case[0]},{case[1]},{budget or 'all'},{seed},{method},{value:.6f}\n")


def load_scores(path):
    """Read what :func:`save_scores` wrote: ``(results, seconds)``."""
    with open(path) as file:
        seconds = float(file.readline().split(":")[1])
        results = {}
        for row in csv.DictReader(file):
            budget = None if row["labels_per_class"] == "all" else int(row["labels_per_class"])
            cell = ((row["teacher"], row["student"]), budget, int(row["seed"]))
            results.setdefault(cell, {})[row["method"]] = float(row["value"])
    return results, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one case, two seeds, 3 epochs")
    parser.add_argument("--out", default="docs", help="folder for the page, plot and scores")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--from-csv", help="re-render the page and plot from saved scores")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/accuracy.py" + (" --quick" if args.quick else "")
    if args.from_csv:
        results, seconds = load_scores(args.from_csv)
    else:
        options = dict(cases=CASES[:1], seeds=range(2), max_epochs=3) if args.quick else {}
        results, seconds = run(n_jobs=args.n_jobs, **options)
        seconds = round(seconds)  # as saved, so that a re-rendered page is the same
    summary = summarise(results)
    save_scores(results, seconds, out / "benchmarks.csv")
    plot(summary, out / "benchmarks.png")
    text = report(results, seconds, summary, command=command, plot_name="benchmarks.png")
    (out / "benchmarks.md").write_text(text)
    print(text)
    print(f"\nWrote {out / 'benchmarks.md'}, .png and .csv. Reproduce: {command}")
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
