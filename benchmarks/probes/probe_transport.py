"""Probe for issue 19: how rarely can feature alignment solve its transport?

    python benchmarks/probes/probe_transport.py      # about 25 minutes on 2 cores
    python benchmarks/probes/probe_transport.py --from-json docs/probe_transport.json   # re-render

``transport_every=k`` solves the transport of feature alignment in one epoch
of every ``k`` and, in between, pulls each student row toward the
barycentric target its last plan gave it (``skcmkd.terms.FeatureAlignment``).
Every candidate ``k`` trains the same aligned student (the defaults with
``unlabeled_trust=1``: the alignment on, no check) on the same split; only
``transport_every`` differs. 5 labels per class.

The protocol, declared before the first run: ``k`` is chosen on probe seeds
10-11 of two families (mfeat and spoken digits) as the largest candidate
whose mean test accuracy there is at most ``MAX_MEAN_LOSS`` points below
``k=1`` (a solve at every step, the package before this change) and whose
mean on each of the two families is at most ``MAX_FAMILY_LOSS`` points below
it. The choice is then shown on seeds 0-4 of the two families it was not
chosen on (shapes and activities), as paired differences to ``k=1``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from scipy import stats

from skcmkd import CrossModalDistiller, SafeAlignment
from skcmkd.baselines import fit_teachers
from skcmkd.datasets import load_unpaired

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from safety import FAMILIES, keeps, load_rows  # noqa: E402  (families; the check's records)

#: The held-out check's margin of the defaults (SafeAlignment's default).
HOLDOUT_MARGIN = SafeAlignment(None).margin
CANDIDATES = (1, 5, 10, 20)
CHOICE = {"families": ("mfeat", "spoken digits"), "seeds": (10, 11)}
SHOWN = {"families": ("shapes", "activities"), "seeds": tuple(range(5))}
MAX_MEAN_LOSS = 0.5  # points of accuracy
MAX_FAMILY_LOSS = 1.0
#: The held-out check's records on the same splits (benchmarks/safety.py, every
#: split at transport_every=1): where the package's margin keeps the alignment.
SAFETY_CSV = ROOT / "docs" / "safety.csv"


def jobs():
    """``(family, case, seed)`` of every split: the choice splits, then the shown ones."""
    return [
        (family, case, seed)
        for part in (CHOICE, SHOWN)
        for family in part["families"]
        for case in FAMILIES[family]
        for seed in part["seeds"]
    ]


def run_split(family, case, seed, candidates, max_epochs=100):
    """Test accuracy and fit seconds of the aligned student for every candidate."""
    torch.set_num_threads(1)  # one worker per core
    data = load_unpaired(*case, labels_per_class=5, random_state=seed)
    teacher = fit_teachers(
        {"real"}, data.X_teacher, data.y_teacher, random_state=seed, max_epochs=max_epochs
    )["real"]
    row = {"family": family, "case": "->".join(case), "seed": seed}
    for k in candidates:
        model = CrossModalDistiller(
            teacher=teacher,
            unlabeled_trust=1.0,
            transport_every=k,
            max_epochs=max_epochs,
            random_state=seed,
        )
        start = time.perf_counter()
        model.fit(data.X_student, data.y_student)
        row[f"seconds_{k}"] = time.perf_counter() - start
        row[f"accuracy_{k}"] = 100 * model.score(data.X_test, data.y_test)
    return row


def kept_by_check(rows, path=SAFETY_CSV):
    """The rows whose split the held-out check, at the package's margin, keeps aligned."""
    records, _ = load_rows(path)
    keep = {("->".join(r["case"]), r["seed"]): keeps(r, HOLDOUT_MARGIN) for r in records}
    return [r for r in rows if keep.get((r["case"], r["seed"]), False)]


def choose(rows, candidates, *, per_family=True):
    """The largest k that keeps the accuracy on the choice splits among ``rows``."""
    chosen = [r for r in rows if r["seed"] in CHOICE["seeds"] and r["family"] in CHOICE["families"]]
    base = np.mean([r["accuracy_1"] for r in chosen])
    best = 1
    for k in candidates:
        loss = base - np.mean([r[f"accuracy_{k}"] for r in chosen])
        family_losses = [
            np.mean([r["accuracy_1"] - r[f"accuracy_{k}"] for r in chosen if r["family"] == f])
            for f in CHOICE["families"]
            if per_family and any(r["family"] == f for r in chosen)
        ]
        if loss <= MAX_MEAN_LOSS and max(family_losses, default=0.0) <= MAX_FAMILY_LOSS:
            best = max(best, k)
    return best


def _paired(rows, k):
    """Mean difference to k=1 (points) with a 95% t interval, and the worst split."""
    diffs = np.array([r[f"accuracy_{k}"] - r["accuracy_1"] for r in rows])
    if len(diffs) < 2:
        return f"{diffs.mean():+.1f}", f"{diffs.min():+.1f}"
    half = stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / np.sqrt(len(diffs))
    return f"{diffs.mean():+.1f} ± {half:.1f}", f"{diffs.min():+.1f}"


def _difference_table(rows, part, candidates):
    header = ["family", "splits", "transport_every=1"]
    header += [f"{k}: difference, worst" for k in candidates if k != 1]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups = [(f, [f]) for f in part["families"]] + [("all", list(part["families"]))]
    for label, families in groups:
        group = [r for r in rows if r["family"] in families and r["seed"] in part["seeds"]]
        if not group:
            continue
        cells = [label, str(len(group)), f"{np.mean([r['accuracy_1'] for r in group]):.1f}"]
        cells += [", ".join(_paired(group, k)) for k in candidates if k != 1]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def report(rows, seconds, candidates, kept):
    """The page; ``kept``: the rows of the splits the held-out check keeps aligned."""
    chosen = choose(rows, candidates)
    shipped = choose(kept, candidates, per_family=False)
    default = CrossModalDistiller().transport_every
    verdict = (
        "the package's default" if shipped == default else f"NOT the package's default ({default})"
    )
    lines = [
        "# Probe: how rarely feature alignment can solve its transport",
        "",
        "`python benchmarks/probes/probe_transport.py` "
        f"({seconds / 60:.0f} min on 2 cores, two splits at a time). The aligned student "
        "(the defaults with `unlabeled_trust=1`: alignment on, no check) trained on the "
        "same split with each `transport_every`; only that differs. 5 labels per class; "
        "test accuracy in %. Differences are paired, to `transport_every=1` (a solve at "
        "every step, the package before issue 19), mean ± 95% t interval over splits; "
        "*worst*: the worst split.",
        "",
        f"The rule, declared before the run: the largest `transport_every` whose mean "
        f"accuracy on probe seeds {', '.join(map(str, CHOICE['seeds']))} of "
        f"{' and '.join(CHOICE['families'])} is at most {MAX_MEAN_LOSS} points below "
        f"`transport_every=1`, and at most {MAX_FAMILY_LOSS} point below it on each of the "
        f"two families. It chose **`transport_every={chosen}`**, shown on seeds "
        f"{SHOWN['seeds'][0]}-{SHOWN['seeds'][-1]} of {' and '.join(SHOWN['families'])}, "
        "families it was not chosen on.",
        "",
        "That rule counts every split, and on most spoken-digits splits the aligned "
        "student is far below the student alone: there a staler plan weakens an alignment "
        "that hurts, and looks like a gain. The defaults never ship those students: the "
        "held-out check turns the alignment off there (docs/safety.md). **Revised after "
        "the first run**, so read it as chosen with the results in view: the same bound on "
        "the mean, on the splits where the held-out check at the package's margin "
        f"({HOLDOUT_MARGIN:+.2f}) keeps the alignment (its records at `transport_every=1`, "
        "docs/safety.csv): the splits where the defaults ship the aligned student. (The "
        "check's own students now train with the same schedule, so a split near the margin "
        "can change sides; that was not measured.) "
        f"It chooses **`transport_every={shipped}`**, {verdict}.",
        "",
    ]
    for title, part in (("Choice splits", CHOICE), ("Shown splits (not chosen on)", SHOWN)):
        lines += [f"## {title}", "", *_difference_table(rows, part, candidates)]
    lines += [
        "## Splits where the held-out check keeps the alignment",
        "",
        "The rows above restricted to the splits the defaults ship aligned.",
        "",
    ]
    for title, part in (("Choice splits", CHOICE), ("Shown splits (not chosen on)", SHOWN)):
        lines += [f"### {title}", "", *_difference_table(kept, part, candidates)]
    lines += ["## Per case (mean over its seeds)", ""]
    header = ["family", "case", "seeds"] + [f"k={k}" for k in candidates]
    header += [f"fit s, k={k}" for k in candidates]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cases = dict.fromkeys((r["family"], r["case"]) for r in rows)
    for family, case in cases:
        group = [r for r in rows if r["case"] == case and r["family"] == family]
        cells = [family, case, ", ".join(str(r["seed"]) for r in group)]
        cells += [f"{np.mean([r[f'accuracy_{k}'] for r in group]):.1f}" for k in candidates]
        cells += [f"{np.mean([r[f'seconds_{k}'] for r in group]):.1f}" for k in candidates]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Fit seconds are of two workers sharing two cores: read them as relative; "
        "docs/performance.md times the epochs alone.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=ROOT / "docs" / "probe_transport.md", type=Path)
    parser.add_argument("--candidates", type=int, nargs="+", default=list(CANDIDATES))
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--from-json", type=Path, help="re-render the page from saved rows")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        kept = [r for r in saved["rows"] if [r["case"], r["seed"]] in saved["kept"]]
        args.out.write_text(report(saved["rows"], saved["seconds"], saved["candidates"], kept))
        return
    start = time.perf_counter()
    calls = (delayed(run_split)(f, c, s, args.candidates, args.max_epochs) for f, c, s in jobs())
    rows = []
    for row in Parallel(n_jobs=2, return_as="generator")(calls):
        rows.append(row)
        scores = " ".join(f"{row[f'accuracy_{k}']:.1f}" for k in args.candidates)
        print(row["family"], row["case"], row["seed"], scores, flush=True)
    seconds = round(time.perf_counter() - start)
    kept = kept_by_check(rows)
    args.out.write_text(report(rows, seconds, args.candidates, kept))
    saved = {
        "seconds": seconds,
        "candidates": args.candidates,
        "rows": rows,
        "kept": [[r["case"], r["seed"]] for r in kept],  # the check's records at this run
    }
    args.out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
