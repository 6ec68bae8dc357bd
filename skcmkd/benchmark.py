"""The unpaired accuracy benchmark on the bundled UCI Multiple Features views.

Every run splits the 2000 digits into three disjoint, class-stratified sets:
teacher set (40%), student training set (35%) and student test set (25%). No
digit is on both sides. Each method sees the same student rows; the teacher
only its own view of the teacher set (paired KD, the upper bound, also sees
the teacher view of the student training rows: the pairs the others lack).

    python -m skcmkd benchmark            # full grid, writes docs/benchmarks.md
    python -m skcmkd benchmark --quick    # one pair, two seeds: a smoke test
"""

import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from joblib import Parallel, delayed
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from skorch import NeuralNet

from . import CrossModalDistiller
from ._teacher import torch_seed
from .alignment import masked_cross_entropy
from .datasets import load_mfeat_unpaired
from .modules import EncoderClassifier, MLPEncoder

#: (teacher view, student view): the strong views (fac, pix, kar: 96-98% for
#: an MLP on their own) teach the weaker ones (fou, zer, mor: 70-80%; kar as
#: a student of fac), each teacher at least twice, each student at least twice.
PAIRS = [
    ("fac", "fou"),
    ("fac", "zer"),
    ("fac", "mor"),
    ("fac", "kar"),
    ("pix", "fou"),
    ("pix", "zer"),
    ("kar", "fou"),
    ("kar", "mor"),
]
SEEDS = range(5)
BUDGETS = (5, None)  # labelled student rows per class; None: all labelled

BASELINES = ["alone", "logreg", "self_training", "label_spreading", "teacher_off"]
TEACHER_FREE = BASELINES
METHOD_NAMES = {
    "alone": "student alone (same net, no teacher)",
    "teacher_off": "skcmkd with the teacher off (neighbour consistency only)",
    "logreg": "LogisticRegression, labelled rows",
    "self_training": "SelfTrainingClassifier(LogisticRegression)",
    "label_spreading": "LabelSpreading (knn, 10)",
    "skcmkd": "skcmkd, defaults",
    "paired_kd": "paired KD (upper bound, uses the pairs)",
}
#: Ablations of skcmkd, run at 5 labels per class: parameters over the defaults.
ABLATIONS = {
    "random head start": dict(head_init="random"),
    "label alignment only": dict(feature_weight=0.0, label_weight=1.0),
    "feature + label alignment": dict(label_weight=1.0),
    "solver sinkhorn": dict(solver="sinkhorn"),
    "solver sliced": dict(solver="sliced"),
    "kappa prior": dict(kappa="prior"),
    "no label-aware cost": dict(label_cost=0.0),
    "no neighbour consistency": dict(neighbor_weight=0.0),
}


class _PairedKDNet(NeuralNet):
    """Classic logit distillation on true pairs: CE + T^2 KL(teacher_T || student_T).

    ``y`` holds the class code (``-1``: unlabelled) in column 0 and the
    teacher's probabilities for the paired teacher-view row in the others.
    """

    temperature = 2.0

    def get_loss(self, y_pred, y_true, X=None, training=False):
        logits, _ = y_pred
        y_true = torch.as_tensor(y_true, device=logits.device)
        codes, teacher_probs = y_true[:, 0].long(), y_true[:, 1:].float()
        t = self.temperature
        soft = teacher_probs ** (1 / t)
        soft = soft / soft.sum(dim=1, keepdim=True)
        kd = F.kl_div(F.log_softmax(logits / t, dim=1), soft, reduction="batchmean")
        return masked_cross_entropy(logits, codes) + t**2 * kd


def _paired_kd(X_s, codes, teacher_probs, seed):
    """The student net of CrossModalDistiller's defaults, trained on the pairs."""
    defaults = CrossModalDistiller()
    scaler = StandardScaler().fit(X_s)
    X_scaled, n_classes = scaler.transform(X_s).astype(np.float32), teacher_probs.shape[1]
    with torch_seed(seed) as torch_seed_value:
        module = EncoderClassifier(
            MLPEncoder(n_features=X_s.shape[1], latent_dim=defaults.latent_dim),
            defaults.latent_dim,
            n_classes,
        )
        net = _PairedKDNet(
            module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=defaults.optimizer,
            lr=defaults.lr,
            max_epochs=defaults.max_epochs,
            batch_size=defaults.batch_size,
            train_split=None,
            verbose=0,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(torch_seed_value),
        )
        net.fit(X_scaled, np.column_stack([codes, teacher_probs]).astype(np.float32))
    return lambda X_new: np.argmax(
        net.predict_proba(scaler.transform(X_new).astype(np.float32)), axis=1
    )


def run_cell(teacher_view, student_view, seed, budget, *, max_epochs=100, ablations=True):
    """All methods on one split; returns ``{method: held-out accuracy}``."""
    torch.set_num_threads(1)  # one worker per core: no oversubscription
    data = load_mfeat_unpaired(
        teacher_view, student_view, labels_per_class=budget, random_state=seed
    )
    X_s, y_s, X_test, y_test = data.X_student, data.y_student, data.X_test, data.y_test
    labelled = y_s != -1
    scores = {}

    def scaled(model):
        return make_pipeline(StandardScaler(), model)

    scores["logreg"] = (
        scaled(LogisticRegression(max_iter=2000))
        .fit(X_s[labelled], y_s[labelled])
        .score(X_test, y_test)
    )
    with warnings.catch_warnings():  # "no unlabeled samples" when all are labelled
        warnings.simplefilter("ignore", UserWarning)
        scores["self_training"] = (
            scaled(SelfTrainingClassifier(LogisticRegression(max_iter=2000)))
            .fit(X_s, y_s)
            .score(X_test, y_test)
        )
    scores["label_spreading"] = (
        scaled(LabelSpreading(kernel="knn", n_neighbors=10, max_iter=200))
        .fit(X_s, y_s)
        .score(X_test, y_test)
    )
    params = dict(max_epochs=max_epochs, teacher_max_epochs=max_epochs, random_state=seed)
    alone = CrossModalDistiller(neighbor_weight=0.0, **params)  # labelled rows only
    scores["alone"] = alone.fit(X_s, y_s).score(X_test, y_test)
    # The defaults without a teacher: what the unlabelled rows give on their own.
    scores["teacher_off"] = CrossModalDistiller(**params).fit(X_s, y_s).score(X_test, y_test)
    distiller = CrossModalDistiller(**params).set_teacher(data.X_teacher, data.y_teacher)
    teacher = distiller.teacher
    scores["skcmkd"] = distiller.fit(X_s, y_s).score(X_test, y_test)
    teacher_probs = teacher.predict_proba(data.X_student_paired)
    kd_predict = _paired_kd(X_s, y_s, teacher_probs, seed)
    scores["paired_kd"] = np.mean(teacher.classes_[kd_predict(X_test)] == y_test)
    scores["teacher"] = np.mean(teacher.predict(data.X_test_paired) == y_test)
    if ablations and budget is not None:
        for name, change in ABLATIONS.items():
            model = CrossModalDistiller(teacher=teacher, **params, **change)
            scores[name] = model.fit(X_s, y_s).score(X_test, y_test)
    return scores


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


def _run_cell_job(cell, max_epochs):
    (teacher_view, student_view), budget, seed = cell
    return cell, run_cell(teacher_view, student_view, seed, budget, max_epochs=max_epochs)


def run(*, pairs=PAIRS, seeds=SEEDS, budgets=BUDGETS, max_epochs=100, n_jobs=2, log=print):
    """Run every cell in parallel; returns ``{(pair, budget, seed): scores}``."""
    cells = [(pair, budget, seed) for pair in pairs for budget in budgets for seed in seeds]
    start, results = time.perf_counter(), {}
    jobs = (delayed(_run_cell_job)(cell, max_epochs) for cell in cells)
    for done, (cell, scores) in enumerate(
        Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs), start=1
    ):
        results[cell] = scores
        elapsed = time.perf_counter() - start
        (teacher_view, student_view), budget, seed = cell
        log(
            f"[{done}/{len(cells)}] {teacher_view}->{student_view} "
            f"{budget or 'all'} labels/class seed {seed}: skcmkd {scores['skcmkd']:.3f}, "
            f"alone {scores['alone']:.3f}; {elapsed:.0f} s, about "
            f"{elapsed / done * (len(cells) - done):.0f} s left"
        )
    return results, time.perf_counter() - start


def _runs(results, pair, budget):
    """The score dicts of one (pair, budget), in seed order."""
    cells = sorted(
        (seed, scores) for (p, b, seed), scores in results.items() if p == pair and b == budget
    )
    return [scores for _, scores in cells]


def summarise(results):
    """Means, intervals, paired gains and the bar checks, as plain data."""
    pairs = sorted({cell[0] for cell in results}, key=PAIRS.index)
    budgets = sorted({cell[1] for cell in results}, key=lambda b: (b is None, b))
    summary = {"pairs": pairs, "budgets": budgets, "cells": {}, "gains": {}, "bars": {}}
    for budget in budgets:
        per_pair_best = {}
        for pair in pairs:
            runs = _runs(results, pair, budget)
            methods = list(runs[0])
            summary["cells"][pair, budget] = {
                m: (np.mean([r[m] for r in runs]), _ci95([r[m] for r in runs])) for m in methods
            }
            means = {m: np.mean([r[m] for r in runs]) for m in TEACHER_FREE}
            per_pair_best[pair] = max(means, key=means.get)
        for baseline in [*BASELINES, "best teacher-free", "paired_kd"]:
            diffs, per_pair = [], {}
            for pair in pairs:
                ref = per_pair_best[pair] if baseline == "best teacher-free" else baseline
                runs = _runs(results, pair, budget)
                d = [100 * (r["skcmkd"] - r[ref]) for r in runs]
                diffs += d
                per_pair[pair] = np.mean(d)
            summary["gains"][budget, baseline] = {
                "mean": np.mean(diffs),
                "p": _paired_p(diffs),
                "worst_pair": min(per_pair.values()),
                "per_pair": per_pair,
            }
        if budget is not None:
            closed = []
            for pair in pairs:
                cell = summary["cells"][pair, budget]
                gap = cell["paired_kd"][0] - cell["alone"][0]
                closed.append((cell["skcmkd"][0] - cell["alone"][0]) / gap if gap > 0 else np.nan)
            summary["gap_closed"] = float(np.nanmean(closed))
    gains = summary["gains"]
    if 5 in budgets:
        alone, best = gains[5, "alone"], gains[5, "best teacher-free"]
        summary["bars"]["must: 5 labels above student alone, p<0.05, no pair < -1"] = (
            alone["mean"] > 0 and alone["p"] < 0.05 and alone["worst_pair"] >= -1
        )
        summary["bars"]["goal: 5 labels >= +3 over best teacher-free, p<0.05, no pair < -1"] = (
            best["mean"] >= 3 and best["p"] < 0.05 and best["worst_pair"] >= -1
        )
        summary["bars"]["goal: close half the gap to paired KD"] = summary["gap_closed"] >= 0.5
    if None in budgets:
        summary["bars"]["must: all labelled, no pair more than 0.5 below alone"] = (
            gains[None, "alone"]["worst_pair"] >= -0.5
        )
    return summary


def _fmt(cell):
    mean, ci = cell
    return f"{100 * mean:.1f} ± {100 * ci:.1f}"


def report(results, seconds, summary, *, command, plot_name):
    """The Markdown page."""
    budget_name = {5: "5 labels/class", None: "all labelled"}
    methods = [*BASELINES, "skcmkd", "paired_kd"]
    lines = [
        "# Benchmark: unpaired distillation on UCI Multiple Features",
        "",
        "Held-out student accuracy (%), mean ± 95% confidence interval over seeds "
        f"{min(c[2] for c in results)}-{max(c[2] for c in results)}. Each seed splits the "
        "2000 digits into disjoint teacher (40%), student training (35%) and student test "
        "(25%) sets: no digit is on both sides. All methods see the same student rows; at 5 "
        "labels per class the rest are given as -1. skcmkd uses the same defaults on every "
        "pair. Paired KD is the upper bound: the same student net trained on the teacher's "
        "soft predictions for the *paired* teacher-view rows of its training digits.",
        "",
        "| pair | budget | teacher (own view) | "
        + " | ".join(METHOD_NAMES[m] for m in methods)
        + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for budget in summary["budgets"]:
        for pair in summary["pairs"]:
            cell = summary["cells"][pair, budget]
            lines.append(
                f"| {pair[0]}->{pair[1]} | {budget_name[budget]} | {_fmt(cell['teacher'])} | "
                + " | ".join(_fmt(cell[m]) for m in methods)
                + " |"
            )
    lines += [
        "",
        "## Gains of skcmkd (points), paired over seeds and pairs",
        "",
        "| budget | versus | mean gain | p-value (paired t-test) | worst pair (mean) |",
        "|---|---|---|---|---|",
    ]
    for (budget, baseline), gain in summary["gains"].items():
        name = METHOD_NAMES.get(baseline, baseline)
        lines.append(
            f"| {budget_name[budget]} | {name} | {gain['mean']:+.1f} | {gain['p']:.2g} | "
            f"{gain['worst_pair']:+.1f} |"
        )
    if "gap_closed" in summary:
        lines += [
            "",
            "Share of the gap between the student alone and paired KD that skcmkd closes at 5 "
            f"labels per class, averaged over pairs: **{100 * summary['gap_closed']:.0f}%**.",
        ]
    lines += ["", "## The bar", ""]
    lines += [f"- {'met' if ok else '**not met**'}: {name}" for name, ok in summary["bars"].items()]
    ablation_cells = [c for c in summary["cells"] if c[1] == 5]
    if ablation_cells and any(name in summary["cells"][ablation_cells[0]] for name in ABLATIONS):
        lines += [
            "",
            "## Ablations at 5 labels per class",
            "",
            "Each row changes one thing from the defaults (feature_weight=5, label_weight=0, "
            f"neighbor_weight={CrossModalDistiller().neighbor_weight:g}, exact EMD, "
            "label-aware cost 1, kappa one, head started from the teacher's).",
            "",
            "| variant | " + " | ".join(f"{p[0]}->{p[1]}" for p in summary["pairs"]) + " | mean |",
            "|---|" + "---|" * (len(summary["pairs"]) + 1),
        ]
        for name in ["skcmkd", "alone", "teacher_off", *ABLATIONS]:
            row = [summary["cells"][p, 5][name][0] for p in summary["pairs"]]
            lines.append(
                f"| {METHOD_NAMES.get(name, name)} | "
                + " | ".join(f"{100 * v:.1f}" for v in row)
                + f" | {100 * np.mean(row):.1f} |"
            )
    lines += _what_carries_the_gain(summary)
    lines += [
        "",
        f"![held-out accuracy at 5 labels per class]({plot_name})",
        "",
        f"Machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}. Wall time: {seconds / 60:.1f} min.",
        "",
        f"Reproduce: `{command}`",
        "",
    ]
    return "\n".join(lines)


def _what_carries_the_gain(summary):
    """A paragraph whose every number comes from this run's scores."""
    if 5 not in summary["budgets"]:
        return []
    pairs = summary["pairs"]

    def mean(method):
        return 100 * np.mean([summary["cells"][p, 5][method][0] for p in pairs])

    if not all(name in summary["cells"][pairs[0], 5] for name in ABLATIONS):
        return []
    base = mean("skcmkd")
    delta = {name: mean(name) - base for name in ABLATIONS}
    free = summary["gains"][5, "best teacher-free"]
    if free["p"] < 0.05 and free["mean"] > 0:
        versus_free = (
            f"Against the best teacher-free semi-supervised baseline of each pair the gain is "
            f"{free['mean']:+.1f} points (p = {free['p']:.2g}): the teacher adds something "
            "that the unlabelled rows alone do not give."
        )
    else:
        versus_free = (
            f"Against the best teacher-free semi-supervised baseline of each pair the gain is "
            f"{free['mean']:+.1f} points (p = {free['p']:.2g}, not significantly above it): "
            "on this data most of the gain is what the unlabelled rows give without any "
            "teacher. [why.md](why.md) shows why: feature alignment spreads the unlabelled "
            "student embeddings over the teacher's classes, but the transport plan puts "
            "little more mass on the right class than the student head already predicts."
        )
    off = summary["gains"][5, "teacher_off"]
    return [
        "",
        "## What carries the gain",
        "",
        f"At 5 labels per class the defaults gain {base - mean('alone'):+.1f} points over the "
        "student alone, averaged over pairs. Two parts carry it. Neighbour consistency uses "
        "the unlabelled rows without any teacher: the defaults with the teacher off gain "
        f"{mean('teacher_off') - mean('alone'):+.1f} over the student alone. The teacher's "
        f"feature alignment adds {off['mean']:+.1f} on top of it (paired p = {off['p']:.2g}, "
        f"worst pair {off['worst_pair']:+.1f}): that part is what the teacher brings. Removing "
        f"neighbour consistency changes the mean by {delta['no neighbour consistency']:+.1f}; "
        f"the label-aware cost by {delta['no label-aware cost']:+.1f}. The sliced solver (an "
        f"average of 1-D transports) changes it by {delta['solver sliced']:+.1f}, entropic "
        f"Sinkhorn by {delta['solver sinkhorn']:+.1f} (at several times the cost per step). "
        "Label alignment as a training term hurts: "
        f"{delta['feature + label alignment']:+.1f} when added to feature alignment, "
        f"{delta['label alignment only']:+.1f} alone. Starting the student head at random "
        f"instead of from the teacher's changes the mean by {delta['random head start']:+.1f}; "
        f"kappa from the class priors by {delta['kappa prior']:+.1f} (mfeat is balanced and "
        "5 labels per class make the estimated student prior uniform, so nothing shifts).",
        "",
        versus_free,
    ]


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def plot(summary, path):
    """Bar chart of the main methods at the smallest budget, with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budget = summary["budgets"][0]
    methods = ["alone", "self_training", "label_spreading", "teacher_off", "skcmkd", "paired_kd"]
    pairs = summary["pairs"]
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(pairs)), 4.6))
    for i, method in enumerate(methods):
        cells = [summary["cells"][p, budget][method] for p in pairs]
        ax.bar(
            np.arange(len(pairs)) + (i - len(methods) / 2 + 0.5) * width,
            [100 * c[0] for c in cells],
            width,
            yerr=[100 * c[1] for c in cells],
            label=METHOD_NAMES[method],
            capsize=2,
        )
    ax.set_xticks(np.arange(len(pairs)), [f"{t}->{s}" for t, s in pairs])
    ax.set_ylabel("held-out student accuracy (%)")
    ax.set_ylim(30, 100)
    ax.set_title(f"Unpaired distillation on mfeat, {budget} labels per class (95% CI)")
    fig.legend(fontsize=7, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_scores(results, seconds, path):
    """Every accuracy of every cell, one row each: the raw data behind the page."""
    with open(path, "w") as file:
        file.write(f"# wall_seconds: {seconds:.0f}\n")
        file.write("teacher_view,student_view,labels_per_class,seed,method,accuracy\n")
        for ((teacher_view, student_view), budget, seed), scores in sorted(
            results.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2])
        ):
            for method, accuracy in scores.items():
                file.write(
                    f"{teacher_view},{student_view},{budget or 'all'},{seed},"
                    f'"{method}",{accuracy:.6f}\n'
                )


def load_scores(path):
    """Read what :func:`save_scores` wrote: ``(results, seconds)``."""
    import csv

    with open(path) as file:
        seconds = float(file.readline().split(":")[1])
        results = {}
        for row in csv.DictReader(file):
            budget = None if row["labels_per_class"] == "all" else int(row["labels_per_class"])
            cell = ((row["teacher_view"], row["student_view"]), budget, int(row["seed"]))
            results.setdefault(cell, {})[row["method"]] = float(row["accuracy"])
    return results, seconds


def main(*, quick=False, out="docs", n_jobs=2, from_csv=None):
    """Run the benchmark; write ``benchmarks.md``, ``.png`` and ``.csv`` under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if quick:
        options = dict(pairs=PAIRS[:1], seeds=range(2), max_epochs=3)
        command = "python -m skcmkd benchmark --quick"
    else:
        options = {}
        command = "python -m skcmkd benchmark  (or: python benchmarks/accuracy.py)"
    if from_csv:  # re-render the page and plot from saved scores, no training
        results, seconds = load_scores(from_csv)
    else:
        results, seconds = run(n_jobs=n_jobs, **options)
        seconds = round(seconds)  # as saved, so that a re-rendered page is the same
    summary = summarise(results)
    save_scores(results, seconds, out / "benchmarks.csv")
    plot(summary, out / "benchmarks.png")
    text = report(results, seconds, summary, command=command, plot_name="benchmarks.png")
    (out / "benchmarks.md").write_text(text)
    print(text)
    print(f"\nWrote {out / 'benchmarks.md'} and {out / 'benchmarks.png'}. Reproduce: {command}")
    return summary
