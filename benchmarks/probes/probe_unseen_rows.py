"""Probe: naming unseen classes row by row (skcmkd.unseen_rows), before any net is trained.

    python benchmarks/probes/probe_unseen_rows.py            # probe seeds 10-12, a few minutes
    python benchmarks/probes/probe_unseen_rows.py --quick    # one case, one seed
    python benchmarks/probes/probe_unseen_rows.py --from-json docs/probe_unseen_rows.json  # the page

On probe seeds only (10-12; the benchmarks use 0-4): each case is split as
``benchmarks/accuracy.py`` splits it, half of its classes (5 of mfeat's 10)
get no labelled row, each other class 5. The teacher (real, or labelled noise)
is fitted as the benchmarks fit it; ``name_rows`` runs on the whitened
student rows and the teacher's whitened bank. Recorded per run: the share of
unseen-class unlabelled rows given their class, the whole naming's
relational fit and p-value, and per unseen class its stability and its
precision (the share of the rows given it that are of it). Each run writes
its JSON (``--out``); ``--render label=run.json ...`` gathers the variants'
runs into docs/probe_unseen_rows.json and writes docs/probe_unseen_rows.md:
what the settings of ``UnseenClassNamer(method="rows")`` were chosen on.
"""

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np

from skcmkd import CrossModalDistiller
from skcmkd.controls import noise_teacher_data
from skcmkd.datasets import hide_classes, load_unpaired
from skcmkd.unseen_rows import name_rows, relation_space

ROOT = Path(__file__).resolve().parents[2]
MEMORY = joblib.Memory(Path(tempfile.gettempdir()) / "skcmkd-probe-unseen-rows", verbose=0)
#: teacher, student, classes kept, unseen classes.
CASES = {
    "pix->kar (10)": ("pix", "kar", None, 5),
    "fac->kar (10)": ("fac", "kar", None, 5),
    "kar->pix (10)": ("kar", "pix", None, 5),
    "fac->fou (10)": ("fac", "fou", None, 5),
    "hog->pix (26)": ("hangul-hog", "hangul-pix", range(26), 13),
    "pix->hog (26)": ("hangul-pix", "hangul-hog", range(26), 13),
    "hog->pix (52)": ("hangul-hog", "hangul-pix", range(52), 26),
    "pix->hog (78)": ("hangul-pix", "hangul-hog", range(78), 39),
    "hog->pix (100)": ("hangul-hog", "hangul-pix", range(100), 50),
}
SEEDS = (10, 11, 12)


def bank_space(teacher):
    """The teacher's class means in its whitened bank (its trained embedding)."""
    bank = relation_space(teacher.bank_)
    labels = teacher.bank_labels_
    return np.stack([bank[labels == k].mean(axis=0) for k in range(len(teacher.classes_))])


def unbalance(data, seed, keep=0.3):
    """Keep ``keep`` of the student's training rows of a random half of the classes."""
    rng = np.random.default_rng(seed + 1000)
    y = data.y_student_true
    classes = np.unique(y)
    thinned = rng.choice(classes, len(classes) // 2, replace=False)
    kept = ~np.isin(y, thinned) | (rng.random(len(y)) < keep)
    data.X_student, data.y_student_true = data.X_student[kept], y[kept]
    return data


@MEMORY.cache
def _teacher(X, y, seed):
    """The benchmarks' teacher (kept between runs of the probe: the naming is what varies)."""
    return CrossModalDistiller(random_state=seed).set_teacher(X, y).teacher


def run(case, seed, kind, space="inputs", unbalanced=False, **settings):
    t, s, classes, n_unseen = CASES[case]
    data = load_unpaired(t, s, classes=classes, random_state=seed)
    if unbalanced:
        data = unbalance(data, seed)
    y = data.y_student_true
    y_s, unseen = hide_classes(y, n_unseen=n_unseen, labels_per_class=5, random_state=seed)
    X_t = (
        data.X_teacher if kind == "real" else noise_teacher_data(data.y_teacher, random_state=seed)
    )
    teacher = _teacher(X_t, data.y_teacher, seed)
    position = {c: i for i, c in enumerate(teacher.classes_)}
    codes = np.array([position[c] if c != -1 else -1 for c in y_s])
    truth = np.array([position[c] for c in y])
    unseen_codes = np.array([position[c] for c in unseen])
    # the package's: the teacher's inputs, whitened (Teacher.relation_means_); or its embedding
    means = teacher.relation_means_ if space == "inputs" else bank_space(teacher)
    start = time.perf_counter()
    naming = name_rows(
        relation_space(data.X_student), codes, means, unseen_codes,
        prior=teacher.prior_, random_state=seed, **settings,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    true_rows = truth[naming.rows]
    hidden = np.isin(true_rows, unseen_codes)
    precision = [
        float(np.mean(true_rows[naming.assigned == k] == k))
        if (naming.assigned == k).any()
        else 0.0
        for k in unseen_codes
    ]
    return {
        "case": case, "seed": seed, "teacher": kind, "seconds": seconds,
        "unseen_rows": float(np.mean(naming.assigned[hidden] == true_rows[hidden])),
        "seen_rows_to_unseen": float(np.mean(np.isin(naming.assigned[~hidden], unseen_codes))),
        "relational_fit": naming.relational_fit, "p_value": naming.p_value,
        "stability": naming.stability[unseen_codes].tolist(), "precision": precision,
    }  # fmt: skip


VARIANTS = {
    "defaults": "the package's: teacher inputs whitened, class sizes estimated",
    "sizes kept": "class sizes kept at the teacher's priors (estimate_sizes=False)",
    "bank": "the teacher's trained embedding (its bank) in place of its inputs",
}


def _summary(runs):
    """Per case and teacher: mean unseen-row accuracy, fit and the stable classes' precision."""
    cases = {}
    for r in runs:
        cases.setdefault((r["case"], r["teacher"]), []).append(r)
    out = {}
    for key, rs in cases.items():
        stability = np.concatenate([r["stability"] for r in rs])
        precision = np.concatenate([r["precision"] for r in rs])
        stable = stability >= 0.5
        out[key] = dict(
            rows=np.mean([r["unseen_rows"] for r in rs]),
            fit=np.mean([r["relational_fit"] for r in rs]),
            fit_range=(min(r["relational_fit"] for r in rs), max(r["relational_fit"] for r in rs)),
            precision=precision.mean(),
            stable_precision=precision[stable].mean() if stable.any() else float("nan"),
            stable_share=stable.mean(),
            seconds=np.mean([r["seconds"] for r in rs]),
        )
    return out


def render(variants):
    """docs/probe_unseen_rows.md from the runs of each variant (``{label: the JSON of its run}``)."""
    lines = [
        "# Probe: naming unseen classes row by row",
        "",
        "`python benchmarks/probes/probe_unseen_rows.py` (its docstring gives the protocol and "
        "the options of each variant below). Probe seeds 10-12, 5 labels per seen class, half "
        "the classes unseen. *Unseen rows*: the share of the unseen classes' unlabelled rows "
        "given their class, before any net is trained. *Fit*: the naming's score in standard "
        "deviations above 19 teachers with their classes shuffled (mean, and range over seeds). "
        "*Precision*: per unseen class, the share of the rows given it that are of it; *stable*: "
        "the classes of stability at least 0.5 (the default `min_stability`), and their share.",
        "",
    ]
    for label, data in variants.items():
        summary = _summary(data["runs"])
        lines += [
            f"## {label}",
            "",
            f"`{data.get('command', '')}`; settings {data['settings']}, teacher space "
            f"{data['space']}, {'unbalanced' if data['unbalanced'] else 'balanced'} student.",
            "",
            "| case | teacher | unseen rows | fit (range) | precision | precision, stable "
            "(share of classes) | naming (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        for (case, teacher), m in summary.items():
            lines.append(
                f"| {case} | {teacher} | {m['rows']:.2f} | {m['fit']:.1f} "
                f"({m['fit_range'][0]:.1f} to {m['fit_range'][1]:.1f}) | {m['precision']:.2f} "
                f"| {m['stable_precision']:.2f} ({m['stable_share']:.2f}) | {m['seconds']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--render",
        nargs="+",
        metavar="LABEL=JSON",
        help="gather these runs into OUT.json and write OUT.md from them",
    )
    parser.add_argument("--from-json", help="re-render OUT.md from a gathered JSON")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--settings", default="", help="name_rows keywords, e.g. n_rounds=3")
    parser.add_argument("--space", default="inputs", choices=["inputs", "bank"])
    parser.add_argument(
        "--unbalanced", action="store_true", help="thin half of the classes to 30%%"
    )
    parser.add_argument(
        "--cases",
        default="",
        help="only the cases whose name contains one of these (comma-separated)",
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "probe_unseen_rows"))
    args = parser.parse_args()
    if args.render or args.from_json:
        if args.render:
            variants = {}
            for item in args.render:
                label, path = item.rsplit("=", 1)
                variants[label] = json.loads(Path(path).read_text())
            Path(args.out + ".json").write_text(json.dumps({"variants": variants}, indent=0))
        else:
            variants = json.loads(Path(args.from_json).read_text())["variants"]
        Path(args.out + ".md").write_text(render(variants))
        return
    warnings.filterwarnings("ignore")
    settings = eval(f"dict({args.settings})")  # noqa: S307 -- a probe's command line
    cases = (
        ["hog->pix (26)"]
        if args.quick
        else [c for c in CASES if any(part in c for part in args.cases.split(","))]
    )
    seeds = SEEDS[:1] if args.quick else SEEDS
    results = []
    for case in cases:
        for kind in ("real", "noise"):
            for seed in seeds:
                results.append(run(case, seed, kind, args.space, args.unbalanced, **settings))
                r = results[-1]
                print(
                    f"{case:16s} {kind:5s} {seed} unseen rows {r['unseen_rows']:.2f} "
                    f"fit {r['relational_fit']:.1f} p {r['p_value']:.2f} "
                    f"stability {np.mean(r['stability']):.2f} {r['seconds']:.1f}s",
                    flush=True,
                )
    command = "python benchmarks/probes/probe_unseen_rows.py " + " ".join(sys.argv[1:])
    record = {
        "command": command.strip(),
        "settings": settings,
        "space": args.space,
        "unbalanced": args.unbalanced,
    }
    Path(args.out + ".json").write_text(json.dumps({**record, "runs": results}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
