"""Probe what makes the defaults safe, on probe seeds: writes docs/probe_safe_defaults.md.

The defaults of skcmkd 0.1 lost badly where input-space neighbours share
something other than the class (spoken digits), and a teacher of labelled
noise did as well as the real one. Three changes answer that; this probe
measures each, added one at a time, on seven cases of both data families and
seeds 10-14 (the benchmark reports seeds 0-4):

1. a layer norm in the student MLP (``MLPEncoder(layer_norm=True)``);
2. ``unlabeled_trust="auto"``: the alignment weights times a factor measured
   before training (``skcmkd.assumptions.check_clusters``);
3. ``teacher_relations="auto"``: the teacher's class arrangement kept only as
   far as the labelled student rows confirm it. Tried, not adopted: it did not
   beat keeping the arrangement (the default, ``teacher_relations=1``).

Selection criterion: accuracy on the *unlabelled student training rows*
(labels hidden from the model); held-out accuracy in brackets, for reference.

    python benchmarks/probes/probe_safe_defaults.py               # about 20 minutes on 2 cores
    python benchmarks/probes/probe_safe_defaults.py --from-json   # re-render docs/probe_safe_defaults.json
"""

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

from skcmkd import CrossModalDistiller, SafeAlignment
from skcmkd.baselines import METHODS, Split, fit_teachers
from skcmkd.datasets import load_unpaired

CASES = [
    ("fac", "fou"),
    ("fac", "zer"),
    ("pix", "kar"),
    ("kar", "mor"),
    ("digits", "speech"),
    ("pix", "speech"),
    ("speech", "digits"),
]
SEEDS = range(10, 15)
PLAIN = dict(module__layer_norm=False)
UNCHECKED = dict(unlabeled_trust=1.0, teacher_relations=1.0)
#: The check this probe chose is SafeAlignment's cluster check; ``"checked"``
#: configurations run it alone (``cv=None``: the held-out check came later),
#: without the linear fall-back, which came later too.
CHECKED_ONLY_CLUSTERS = dict(cv=None, fallback=None)
#: name -> (teacher: None, "real" or "noise"; parameters)
CONFIGS = {
    "LogisticRegression, labelled rows": (None, "logreg"),
    "student alone, plain MLP (0.1)": (None, dict(neighbor_weight=0.0, **PLAIN)),
    "student alone, layer norm (0.2)": (None, dict(neighbor_weight=0.0)),
    "0.1 defaults: plain MLP, no checks": ("real", dict(**PLAIN, **UNCHECKED)),
    "+ layer norm": ("real", dict(UNCHECKED)),
    "+ unlabeled_trust='auto' (0.2 defaults)": ("real", {}),
    "+ teacher_relations='auto' (tried, not adopted)": ("real", dict(teacher_relations="auto")),
    "0.2 defaults, no teacher": (None, {}),
    "noise teacher, 0.2 defaults": ("noise", {}),
    "noise teacher, teacher_relations='auto'": ("noise", dict(teacher_relations="auto")),
}
#: The configuration whose checks the second table shows.
CHECKED = "+ teacher_relations='auto' (tried, not adopted)"


def run_split(case, seed):
    """Every configuration on one split: ({name: (unlabelled acc, held-out acc)}, checks)."""
    torch.set_num_threads(1)  # one worker per core
    data = load_unpaired(*case, labels_per_class=5, random_state=seed)
    X, y, X_test, y_test = data.X_student, data.y_student, data.X_test, data.y_test
    hidden = y == -1
    teachers = fit_teachers(("real", "noise"), data.X_teacher, data.y_teacher, random_state=seed)
    scores, checks = {}, {}
    for config, (teacher, params) in CONFIGS.items():
        if params == "logreg":  # the benchmark's baseline (skcmkd.baselines)
            model = METHODS["logreg"].run(Split(X, y))
        else:
            model = CrossModalDistiller(teacher=teachers.get(teacher), random_state=seed, **params)
            if "unlabeled_trust" not in params:  # the check of "auto" trust, as then
                model = SafeAlignment(model, **CHECKED_ONLY_CLUSTERS)
            model.fit(X, y)
            if config == CHECKED:
                clusters = model.decision_.clusters
                distiller = model.estimator_
                checks = dict(
                    trust=model.decision_.unlabeled_trust,
                    skill=clusters.skill,
                    skill_sd=clusters.skill_sd,
                    agreement=distiller.relation_agreement_,
                    relations=distiller.teacher_relations_,
                )
        scores[config] = (
            float(np.mean(model.predict(X[hidden]) == data.y_student_true[hidden])),
            float(np.mean(model.predict(X_test) == y_test)),
        )
    return scores, checks


def report(outputs, seconds):
    names = [f"{t}->{s}" for t, s in CASES]
    lines = [
        "# Probe: what makes the defaults safe",
        "",
        "Accuracy (%) on the unlabelled student training rows (labels hidden from the "
        "model; the selection criterion), and in brackets on held-out student rows "
        f"(reference), mean over seeds {SEEDS[0]}-{SEEDS[-1]} at 5 labels per class. "
        "These are probe seeds: the benchmark ([benchmarks.md](benchmarks.md)) reports "
        "seeds 0-4. Rows from '0.1 defaults' down add one change each.",
        "",
        "| configuration | " + " | ".join(names) + " | mean |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for config in CONFIGS:
        cells, means = [], []
        for case in CASES:
            values = np.array([scores[config] for scores, _ in outputs[case]])
            cells.append(f"{100 * values[:, 0].mean():.1f} ({100 * values[:, 1].mean():.1f})")
            means.append(values.mean(axis=0))
        mean = 100 * np.mean(means, axis=0)
        lines.append(f"| {config} | " + " | ".join(cells) + f" | {mean[0]:.1f} ({mean[1]:.1f}) |")
    lines += [
        "",
        "What the checks measured inside `fit` (real teacher, `teacher_relations='auto'`; "
        "the default fit measures the same and keeps `teacher_relations_` at 1), per seed:",
        "",
        "| case | skill of the neighbour graph, (graph - chance) / (linear - chance) | its bootstrap sd | unlabeled_trust_ = ramp(skill - sd; 0.5, 0.9) | relation agreement | teacher_relations_ ('auto') |",
        "|---|---|---|---|---|---|",
    ]
    for case, name in zip(CASES, names, strict=True):
        checks = [c for _, c in outputs[case]]

        def row(key, checks=checks):
            return " ".join("-" if c[key] is None else f"{c[key]:.2f}" for c in checks)

        lines.append(
            f"| {name} | {row('skill')} | {row('skill_sd')} | {row('trust')} | "
            f"{row('agreement')} | {row('relations')} |"
        )
    lines += [
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, torch "
        f"{torch.__version__}; wall time {seconds / 60:.1f} min.",
        "",
        "Reproduce: `.venv/bin/python benchmarks/probes/probe_safe_defaults.py` (after the README's "
        "set-up).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    """Run the probe (or, given a saved ``.json``, only re-render it) and write the page."""
    argv = sys.argv[1:] if argv is None else argv
    docs = Path(__file__).resolve().parents[2] / "docs"
    saved = docs / "probe_safe_defaults.json"
    if argv == ["--from-json"]:
        raw = json.loads(saved.read_text())
    else:
        start = time.perf_counter()
        splits = [(case, seed) for case in CASES for seed in SEEDS]
        results = Parallel(n_jobs=2)(delayed(run_split)(case, seed) for case, seed in splits)
        raw = {
            "seconds": time.perf_counter() - start,
            "splits": [
                [list(case), seed, *output]
                for (case, seed), output in zip(splits, results, strict=True)
            ],
        }
        saved.write_text(
            json.dumps(raw, indent=1)
        )  # the raw numbers first: a page bug loses nothing
    outputs = {}
    for case, _, scores, checks in raw["splits"]:
        outputs.setdefault(tuple(case), []).append((scores, checks))
    text = report(outputs, raw["seconds"])
    (docs / "probe_safe_defaults.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
