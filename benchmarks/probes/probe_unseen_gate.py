"""Probe for issue 16: when should ``unseen_classes="auto"`` name the unseen classes?

    python benchmarks/probes/probe_unseen_gate.py       # about 10 minutes on 2 cores
    python benchmarks/probes/probe_unseen_gate.py --from-json docs/probe_unseen_gate.json  # re-render

Chooses, on probe seeds 10-12 only, the rule of ``skcmkd.unseen`` that
decides whether the unseen classes are named, and how many rows each named
cluster gives its class as labels. Per case and seed: 5 of the teacher's 10
classes drawn as unseen (only ``-1`` rows), 5 labels per seen class; the
defaults fitted with ``unseen_classes="ignore"`` (today's model, which names
no unseen class) and with ``unseen_classes="name"`` (always named), with the
real teacher and with a teacher of labelled noise. Recorded per fit: the
evidence ``fit`` measures (``checks_["unseen"]``: the anchored classes'
agreement with the teacher's relations, the relational fit of the naming,
its permutation p-value against teachers with shuffled classes) and the
held-out accuracy on seen-class, unseen-class and all rows. The benchmark
(``benchmarks/unseen_classes.py``, seeds 0-4) shows the chosen rule on seeds
it was not chosen on.

A first run (``--factors 1 3``) also tried three times as many named rows
per cluster as a seen class has labels: over all 48 fits, overall accuracy
58.5 (x1) vs 56.1 (x3) with the real teacher, 43.8 vs 40.6 with the noise
teacher; ``labels_factor`` stays 1.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

from skcmkd import CrossModalDistiller, SafeAlignment, UnseenClassNamer
from skcmkd.baselines import fit_teachers
from skcmkd.datasets import load_unpaired

ROOT = Path(__file__).resolve().parents[2]
#: The rule this probe chose: UnseenClassNamer's defaults.
MIN_FIT, MAX_P_VALUE = UnseenClassNamer(None).min_fit, UnseenClassNamer(None).max_p_value
CASES = [
    ("fac", "zer"),
    ("fac", "kar"),
    ("pix", "kar"),
    ("kar", "pix"),
    ("fac", "fou"),
    ("fac", "mor"),
    ("pix", "zer"),
    ("digits", "speech"),
]
SEEDS = range(10, 13)
FACTORS = (1,)


def unseen_split(data, seed, n_unseen=5, labels_per_class=5):
    """Draw the unseen classes and the labelled rows of the seen ones."""
    rng = np.random.default_rng(1000 + seed)
    classes = np.unique(data.y_teacher)
    unseen = np.sort(rng.choice(classes, n_unseen, replace=False))
    seen = np.setdiff1d(classes, unseen)
    labelled = np.concatenate(
        [
            rng.choice(np.flatnonzero(data.y_student == c), labels_per_class, replace=False)
            for c in seen
        ]
    )
    y = np.full(len(data.y_student), -1)
    y[labelled] = data.y_student[labelled]
    return y, unseen


def accuracies(model, data, unseen):
    predicted = model.predict(data.X_test)
    is_unseen = np.isin(data.y_test, unseen)
    right = predicted == data.y_test
    return {
        "seen": float(right[~is_unseen].mean()),
        "unseen": float(right[is_unseen].mean()),
        "overall": float(right.mean()),
    }


def run_split(case, seed, factors=FACTORS):
    torch.set_num_threads(1)  # one worker per core
    data = load_unpaired(*case, labels_per_class=None, random_state=seed)
    y, unseen = unseen_split(data, seed)
    teachers = fit_teachers({"real", "noise"}, data.X_teacher, data.y_teacher, random_state=seed)
    out = {"case": "->".join(case), "seed": seed}
    for kind, teacher in teachers.items():
        row = {}
        distiller = CrossModalDistiller(teacher=teacher, random_state=seed)
        model = SafeAlignment(distiller)  # the defaults without the naming step
        row["ignore"] = accuracies(model.fit(data.X_student, y), data, unseen)
        for factor in factors:  # always named: no bound on the evidence
            namer = UnseenClassNamer(
                distiller, min_fit=None, max_p_value=None, labels_factor=factor
            )
            model = SafeAlignment(namer)
            row[f"name x{factor}"] = accuracies(model.fit(data.X_student, y), data, unseen)
            check = model.estimator_.decision_
        row["agreement"] = check.agreement
        row["relational_fit"] = check.relational_fit
        row["p_value"] = check.p_value
        row["trust"] = model.decision_.unlabeled_trust
        out[kind] = row
    return out


def _rule_rows(rows, factor):
    """Per candidate rule: what naming where it says so would have done (overall, points)."""
    fits = [(r["case"], kind, r[kind]) for r in rows for kind in ("real", "noise")]

    def change(k):
        return 100 * (k[f"name x{factor}"]["overall"] - k["ignore"]["overall"])

    rules = [
        (f"fit >= {t}", lambda k, t=t: k["relational_fit"] >= t) for t in (0.25, 0.3, 0.35, 0.4)
    ]
    rules += [(f"p <= {a}", lambda k, a=a: k["p_value"] <= a) for a in (0.05, 0.25, 0.5)]
    rules += [
        (f"fit >= {MIN_FIT} and p <= {MAX_P_VALUE} (chosen)",
         lambda k: k["relational_fit"] >= MIN_FIT and k["p_value"] <= MAX_P_VALUE),
        ("always", lambda k: True),
    ]  # fmt: skip
    lines = [
        "| rule | splits named (noise teacher) | overall change, mean of all splits | "
        "named splits that lost > 1 point | worst | agreeing-pair unseen accuracy |",
        "|---|---|---|---|---|---|",
    ]
    agreeing = {"fac->zer", "fac->kar", "pix->kar", "kar->pix"}
    for label, rule in rules:
        named = [(c, kind, k) for c, kind, k in fits if rule(k)]
        changes = [change(k) if rule(k) else 0.0 for _, _, k in fits]
        unseen = [
            k[f"name x{factor}" if rule(k) else "ignore"]["unseen"]
            for c, kind, k in fits
            if kind == "real" and c in agreeing
        ]
        lines.append(
            f"| {label} | {len(named)} ({sum(kind == 'noise' for _, kind, _ in named)}) | "
            f"{np.mean(changes):+.1f} | {sum(change(k) < -1 for _, _, k in named)} | "
            f"{min([change(k) for _, _, k in named] or [0.0]):+.1f} | {100 * np.mean(unseen):.0f} |"
        )
    return lines


def report(rows, seconds, factors=FACTORS):
    variants = ["ignore", *(f"name x{f}" for f in factors)]
    lines = [
        "# Probe: when to name the unseen classes (issue 16)",
        "",
        "`python benchmarks/probes/probe_unseen_gate.py`; the protocol is in the script's docstring. "
        "Probe seeds 10-12; 5 of 10 classes unseen, 5 labels per seen class.",
        "",
        "## The rule",
        "",
        "What each candidate rule would have done, had it decided between naming "
        f"(`name x{factors[0]}`) and not (`ignore`) on these 48 fits (24 splits, real and noise "
        "teacher). *fit* is the naming's relational fit (`1 - mismatch / mean mismatch of "
        "random namings`), *p* its permutation p-value against teachers with shuffled classes "
        '(`checks_["unseen"]`).',
        "",
        *_rule_rows(rows, factors[0]),
        "",
        "Naming at random already helps the overall accuracy on average (an unseen row named "
        "at chance is sometimes right; never named, never), so *always* scores well on the "
        "mean; it is the losses a rule must avoid. The fit separates the teachers best: the "
        "noise teacher's namings never reach 0.25, those of the real teacher on the agreeing "
        "pairs are all at 0.35 or above. The p-value alone is too strict at 0.05 (it declines "
        "`fac->kar` seed 10 and `fac->zer` seed 11, both gains of 20 points or more) and lets "
        "the noise teacher through at 0.25. No rule avoids the one large loss (`fac->zer` seed "
        "10, fit 0.45, p 0.02: the clusters themselves were wrong, so a confident naming of "
        "them was too). Chosen: fit >= 0.3, with p <= 0.5 as a bound for class counts this "
        "probe did not see.",
        "",
        "## Per split",
        "",
        "Unseen-class / overall accuracy (%).",
        "",
        "| case | seed | teacher | agreement | fit | p | trust | " + " | ".join(variants) + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(variants),
    ]
    for r in rows:
        for kind in ("real", "noise"):
            k = r[kind]
            cells = [f"{100 * k[v]['unseen']:.0f} / {100 * k[v]['overall']:.1f}" for v in variants]
            agreement = "-" if k["agreement"] is None else f"{k['agreement']:.2f}"
            lines.append(
                f"| {r['case']} | {r['seed']} | {kind} | {agreement} | "
                f"{k['relational_fit']:.2f} | {k['p_value']:.2f} | {k['trust']:.2f} | "
                + " | ".join(cells)
                + " |"
            )
    lines += ["", f"Wall time {seconds / 60:.1f} min.", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=ROOT / "docs" / "probe_unseen_gate.md", type=Path)
    parser.add_argument("--factors", type=int, nargs="+", default=list(FACTORS))
    parser.add_argument("--from-json", type=Path, help="re-render the page from saved rows")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        args.out.write_text(report(saved["rows"], saved["seconds"], args.factors))
        return
    start = time.perf_counter()
    jobs = (delayed(run_split)(c, s, args.factors) for c in CASES for s in SEEDS)
    rows = Parallel(n_jobs=2)(jobs)
    seconds = round(time.perf_counter() - start)
    args.out.write_text(report(rows, seconds, args.factors))
    saved = {"seconds": seconds, "rows": rows}
    args.out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
