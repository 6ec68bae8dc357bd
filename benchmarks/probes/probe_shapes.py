"""Are the defaults safe on a family they were never chosen on? Writes docs/probe_shapes.md.

    python benchmarks/probes/probe_shapes.py          # about 7 minutes on 2 cores

The generated shapes (``skcmkd.datasets.load_shapes``, added after every
default of skcmkd was fixed) in both directions: a contour teacher for an
image student, an image teacher for a contour student. Probe seeds 10-14,
5 labels per class; every unpaired method of the accuracy benchmark's
registry (``skcmkd.baselines``) on the same splits, through the accuracy
benchmark's own ``run_split``. Nothing here chooses anything: it reports
what the defaults do on new data, against the better of the student alone
and a logistic regression (the safety reference of issue 11 and 17).
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from accuracy import run_split  # noqa: E402

from skcmkd.baselines import METHODS  # noqa: E402

CASES = [("shapes-contour", "shapes-image"), ("shapes-image", "shapes-contour")]
SEEDS = range(10, 15)


def run(seeds=SEEDS, max_epochs=100, n_jobs=2):
    jobs = [(case, seed) for case in CASES for seed in seeds]
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(run_split)(case, seed, budgets=(5,), max_epochs=max_epochs) for case, seed in jobs
    )
    return [
        {"case": "->".join(case), "seed": seed, **{k: float(v) for k, v in out[5].items()}}
        for (case, seed), out in zip(jobs, outputs, strict=True)
    ]


def report(rows, seconds, command):
    methods = [m for m in METHODS.values() if m.key in rows[0]]
    lines = [
        "# Probe: the defaults on a family they were never chosen on (shapes)",
        "",
        f"`{command}`. Held-out accuracy (%), mean ± sd over seeds "
        f"{rows[0]['seed']}-{rows[-1]['seed']}, 5 labels per class. *Safe margin*: the "
        "defaults minus the better of the student alone and a logistic regression, per "
        "split, then averaged; *worst*: the lowest split. *Trust*: `decision_.unlabeled_trust` of the "
        "defaults; *agreement*: `relation_agreement` from the labelled rows.",
        "",
        "| case | "
        + " | ".join(m.name for m in methods)
        + " | safe margin | worst | trust | agreement |",
        "|---|" + "---|" * (len(methods) + 4),
    ]
    for case in dict.fromkeys(r["case"] for r in rows):
        sub = [r for r in rows if r["case"] == case]
        cells = []
        for m in methods:
            values = 100 * np.array([r[m.key] for r in sub])
            cells.append(f"{values.mean():.1f} ± {values.std(ddof=1):.1f}")
        margin = 100 * np.array([r["skcmkd"] - max(r["alone"], r["logreg"]) for r in sub])
        trust = np.array([r["trust"] for r in sub])
        agreement = np.array([r["agreement"] for r in sub])
        lines.append(
            f"| {case} | " + " | ".join(cells) + f" | {margin.mean():+.1f} | {margin.min():+.1f} | "
            f"{', '.join(f'{t:.2f}' for t in trust)} | {agreement.mean():.2f} |"
        )
    lines += [
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; wall time "
        f"{seconds / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 5 epochs (smoke test)")
    parser.add_argument("--out", default=ROOT / "docs" / "probe_shapes.md", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.quick:
        rows = run(seeds=[10], max_epochs=5)
        command = "python benchmarks/probes/probe_shapes.py --quick"
    else:
        rows = run()
        command = "python benchmarks/probes/probe_shapes.py"
    seconds = time.perf_counter() - start
    args.out.write_text(report(rows, seconds, command))
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
