"""Is make_safe_distiller the model CrossModalDistiller's default fit made before issue 31?

Writes docs/one_model_equivalence.md.

    python benchmarks/probes/one_model_equivalence.py            # about 15 min on 2 cores
    python benchmarks/probes/one_model_equivalence.py --quick    # two cases, 5 epochs

Until commit ccf8a43, ``CrossModalDistiller(random_state=s).fit`` ran the
cluster check, the held-out check, the naming of unseen classes and the
linear fall-back inside ``fit``. Issue 31 moved them into meta-estimators
(``SafeAlignment``, ``UnseenClassNamer``) and ``make_safe_distiller`` composes
them. This probe checks that the composition is the same model: for each
case it fits the old default (the package at ccf8a43, checked out with
``git worktree`` into a temporary folder and imported in a subprocess) and
``make_safe_distiller(random_state=s)`` on the same unpaired split, and
compares their class probabilities on the held-out rows, bit for bit, and
their decisions. The cases: the accuracy benchmark's ten teacher -> student
pairs at 5 labels per class, two unseen-class splits (5 of 10 digits without
a label), and one split of each generated family of the safety benchmark.
From skcmkd 0.4.0 the default's held-out check is cheaper (docs/check_rows.md);
the probe sets 0.3.0's check (``stack_students=False, max_rows=2000,
check_transport_every=1, check_max_epochs=None``), which is the one that
reproduces the old default.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from accuracy import CASES as ACCURACY_CASES  # noqa: E402  (its ten teacher -> student pairs)

OLD = "ccf8a43"
#: (name, teacher, student, seed, options)
CASES = [
    *[(f"{t}->{s}", t, s, 0, {}) for t, s in ACCURACY_CASES],
    ("pix->kar, 5 unseen", "pix", "kar", 0, {"unseen": 5}),
    ("kar->pix, 5 unseen", "kar", "pix", 1, {"unseen": 5}),
    ("shapes contour->image", "shapes-contour", "shapes-image", 0, {}),
    (
        "activities gyroscope->accelerometer",
        "activities-gyroscope",
        "activities-accelerometer",
        0,
        {},
    ),
]

#: Run inside a subprocess with one package version on its path.
FIT = r"""
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
which, case, epochs, out = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import skcmkd
from skcmkd.datasets import hide_classes, load_unpaired

_, teacher, student, seed, options = case
data = load_unpaired(teacher, student, labels_per_class=5, random_state=seed)
y = data.y_student
if options.get("unseen"):
    y, _ = hide_classes(data.y_student_true, n_unseen=options["unseen"], labels_per_class=5,
                        random_state=1000 + seed)
build = skcmkd.CrossModalDistiller if which == "old" else skcmkd.make_safe_distiller
model = build(random_state=seed, max_epochs=epochs)
if which != "old" and "check_max_epochs" in model.get_params():
    # skcmkd 0.4 trains a cheaper held-out check; 0.3.0's is the one this probe compares
    model.set_params(
        stack_students=False, max_rows=2000, check_transport_every=1, check_max_epochs=None
    )
model.set_teacher(data.X_teacher, data.y_teacher, max_epochs=epochs)
start = time.perf_counter()
model.fit(data.X_student, y)
seconds = time.perf_counter() - start
if which == "old":
    c = model.checks_
    aligned = model.unlabeled_trust_ > 0
    named = None if c["unseen"] is None else c["unseen"]["named"]
    fallback = c["fallback"] is not None
else:
    aligned = model.decision_.aligned
    namer = model.estimator_.decision_
    named = namer.named if namer.unseen else None
    fallback = model.fallback_ is not None
np.save(out + ".npy", model.predict_proba(data.X_test))
json.dump(dict(aligned=bool(aligned), named=named, fallback=fallback, seconds=seconds,
               accuracy=float(np.mean(model.predict(data.X_test) == data.y_test))),
          open(out + ".json", "w"))
"""


def fit(which, path, case, epochs, folder):
    out = str(folder / f"{which}-{CASES.index(case)}")
    env = {"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-c", FIT, which, json.dumps(case), str(epochs), out],
        check=True,
        env=env,
        cwd=folder,  # not the repository: python -c puts the working directory on the path
    )
    return np.load(out + ".npy"), json.loads(Path(out + ".json").read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two cases, 5 epochs")
    parser.add_argument("--out", default=ROOT / "docs" / "one_model_equivalence.md", type=Path)
    args = parser.parse_args(argv)
    cases, epochs = (CASES[:1] + CASES[10:11], 5) if args.quick else (CASES, 100)
    start, rows = time.perf_counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = tmp / "old"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), OLD],
            check=True,
            capture_output=True,
        )
        try:
            for case in cases:
                before, b = fit("old", old, case, epochs, tmp)
                after, a = fit("new", ROOT, case, epochs, tmp)
                same = np.array_equal(before, after)
                rows.append((case[0], same, float(np.abs(before - after).max()), b, a))
                print(case[0], "identical" if same else "DIFFERENT", b, a, flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                check=False,
                capture_output=True,
            )
    minutes = (time.perf_counter() - start) / 60
    command = "python benchmarks/probes/one_model_equivalence.py" + (
        " --quick" if args.quick else ""
    )
    identical = sum(r[1] for r in rows)
    lines = [
        "# Probe: make_safe_distiller is the default fit of before issue 31",
        "",
        f"`CrossModalDistiller(random_state=s)` at commit {OLD} (its checks inside `fit`) against "
        f"`make_safe_distiller(random_state=s)` today, on the same unpaired split, {epochs} "
        "epochs, 5 labels per class: class probabilities on the held-out rows, compared bit "
        "for bit, and the decisions each made (alignment kept, unseen classes named, linear "
        "fall-back used). The script's docstring gives the method.",
        "",
        f"**{identical} of {len(rows)} cases give identical probabilities** (the largest "
        f"difference over all cases: {max(r[2] for r in rows):.1e}).",
        "",
        "| case | identical | aligned then / now | named then / now | fall-back then / now "
        "| accuracy then / now | fit seconds then / now |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, same, diff, b, a in rows:
        lines.append(
            f"| {name} | {'yes' if same else f'no ({diff:.1e})'} | {b['aligned']} / {a['aligned']} "
            f"| {b['named']} / {a['named']} | {b['fallback']} / {a['fallback']} "
            f"| {b['accuracy']:.3f} / {a['accuracy']:.3f} | {b['seconds']:.1f} / {a['seconds']:.1f} |"
        )
    lines += [
        "",
        "The fit times come from processes run one after the other while other work "
        "shared the machine: they are no comparison of speed, which "
        "[performance.md](performance.md) measures.",
        "",
        f"Wall time {minutes:.1f} min. Reproduce: `{command}`",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return identical == len(rows)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
