"""Research probe for issue 16: can the distilled student's embedding name classes it has no labels for?

    python benchmarks/probes/probe_unseen_classes.py       # about 15 minutes on 2 cores

Nothing in the package names unseen classes yet; this measures where a
transductive naming step could start from. Per mfeat pair and probe seed
(10-12): 5 of the 10 digits drawn as unseen (no label, only ``-1`` rows),
5 labels for each seen digit. The defaults are fitted with the real teacher
and with a teacher of labelled noise (``skcmkd.baselines.fit_teachers``, the
benchmark's controls). Then, in the student's embedding of its training rows
(``transform``), k-means with the seen classes' labelled means as 5 of 10
seeds (10 restarts, lowest inertia); seen clusters go to their classes by the
labelled rows (Hungarian); the other clusters are named:

- ``direct``: Hungarian between those clusters' centres and the teacher's
  unseen class means, in the shared latent space;
- ``relations``: the permutation that best preserves the teacher's class-mean
  distance matrix (all 10 classes, anchors included), as the crude probe of
  ``WHAT-CROSSES.md`` did on raw rows;
- ``best naming``: the best permutation on the test rows (the clusters'
  ceiling); ``random``: the mean over all permutations (chance for them).

``head`` is today's model: the student's own prediction. A second way
(``evened``) clusters the embedding of a student distilled from the same
teacher with its class arrangement evened out (``teacher_relations=0``:
equidistant class means, so the student's own structure decides its
clusters), then names them by ``relations`` computed from the clusters'
means in the student's standardised *input* space against the teacher's
class means; with the noise teacher, the same names from the noise
teacher's class means (chance). Unseen-class accuracy on held-out rows.
"""

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from skcmkd import CrossModalDistiller, SafeAlignment
from skcmkd.baselines import fit_teachers
from skcmkd.datasets import load_unpaired

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [("fac", "zer"), ("fac", "kar"), ("pix", "kar"), ("kar", "pix"), ("fac", "fou")]
SEEDS = range(10, 13)
NAMINGS = ("head", "direct", "relations", "best naming", "random", "evened", "evened best")


def _squared_distances(means):
    return ((means[:, None] - means[None]) ** 2).sum(-1)


def _name_clusters(Z, Z_test, labelled, y, seen, unseen, class_means, rng, X=None):
    """Cluster, anchor the seen clusters, and name the others each way.

    The relations of the clusters are those of their centres in ``Z``, or of
    their means in ``X`` when given."""
    n = len(seen) + len(unseen)
    seeds = np.stack([Z[labelled][y[labelled] == c].mean(0) for c in seen])
    best = None
    for restart in range(10):
        init = np.vstack([seeds, Z[rng.choice(len(Z), len(unseen), replace=False)]])
        km = KMeans(n, n_init=1, init=init, random_state=restart).fit(Z)
        if best is None or km.inertia_ < best.inertia_:
            best = km
    counts = np.zeros((n, len(seen)))
    for i, c in enumerate(seen):
        np.add.at(counts[:, i], best.labels_[labelled][y[labelled] == c], 1)
    rows, cols = linear_sum_assignment(-counts)
    anchors = {int(k): int(seen[i]) for k, i in zip(rows, cols, strict=True)}
    rest = [k for k in range(n) if k not in anchors]

    def naming(classes):
        return {**anchors, **{k: int(c) for k, c in zip(rest, classes, strict=True)}}

    centres = best.cluster_centers_
    cost = ((centres[rest][:, None] - class_means[unseen][None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(cost)
    direct = naming(unseen[c[np.argsort(r)]])
    if X is not None:
        centres = np.stack([X[best.labels_ == k].mean(0) for k in range(n)])
    A, B = _squared_distances(centres), _squared_distances(class_means)
    upper = np.triu_indices(n, 1)
    A, B = A / A[upper].mean(), B / B[upper].mean()

    def mismatch(perm):
        order = np.array([naming(perm)[k] for k in range(n)])
        return ((A - B[np.ix_(order, order)]) ** 2).sum()

    permutations = list(itertools.permutations(unseen))
    relations = naming(min(permutations, key=mismatch))
    return best.predict(Z_test), direct, relations, [naming(p) for p in permutations]


def run_split(pair, seed, n_unseen=5, labels_per_class=5):
    data = load_unpaired(*pair, labels_per_class=None, random_state=seed)
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
    is_labelled = y != -1
    unseen_test = np.isin(data.y_test, unseen)
    truth = data.y_test[unseen_test]
    teachers = fit_teachers({"real", "noise"}, data.X_teacher, data.y_teacher, random_state=seed)
    out = {"pair": "->".join(pair), "seed": seed}
    for kind, teacher in teachers.items():
        # the defaults of the time, without their naming step (which this probe led to)
        model = SafeAlignment(CrossModalDistiller(teacher=teacher, random_state=seed))
        model.fit(data.X_student, y)
        Z, Z_test = model.transform(data.X_student), model.transform(data.X_test)
        clusters, direct, relations, all_namings = _name_clusters(
            Z, Z_test, is_labelled, y, seen, unseen, teacher.class_means_, rng
        )

        def accuracy(naming, clusters=clusters):
            return float(np.mean(np.array([naming[k] for k in clusters])[unseen_test] == truth))

        every = [accuracy(n) for n in all_namings]
        out[kind] = {
            "head": float(np.mean(model.predict(data.X_test)[unseen_test] == truth)),
            "direct": accuracy(direct),
            "relations": accuracy(relations),
            "best naming": max(every),
            "random": float(np.mean(every)),
            "trust": model.decision_.unlabeled_trust,
        }
        evened = CrossModalDistiller(teacher=teacher, teacher_relations=0.0, random_state=seed)
        evened.fit(data.X_student, y)
        clusters, _, relations, all_namings = _name_clusters(
            evened.transform(data.X_student),
            evened.transform(data.X_test),
            is_labelled,
            y,
            seen,
            unseen,
            teacher.class_means_,
            rng,
            X=evened.scaler_.transform(data.X_student),
        )
        out[kind]["evened"] = accuracy(relations, clusters)
        out[kind]["evened best"] = max(accuracy(n, clusters) for n in all_namings)
    return out


def report(rows, seconds):
    lines = [
        "# Probe: naming the classes the student has no labels for (issue 16, research)",
        "",
        "`python benchmarks/probes/probe_unseen_classes.py`; the method is in the script's docstring. "
        "Unseen-class accuracy on held-out rows, mean over seeds "
        f"{min(r['seed'] for r in rows)}-{max(r['seed'] for r in rows)}; 5 of 10 digits unseen, "
        "5 labels per seen digit. Each cell: real teacher / teacher of labelled noise.",
        "",
        "| pair | " + " | ".join(NAMINGS) + " |",
        "|---|" + "---|" * len(NAMINGS),
    ]
    for pair in dict.fromkeys(r["pair"] for r in rows):
        sub = [r for r in rows if r["pair"] == pair]
        cells = [
            " / ".join(f"{np.mean([r[k][n] for r in sub]):.2f}" for k in ("real", "noise"))
            for n in NAMINGS
        ]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    lines += ["", f"Wall time {seconds / 60:.1f} min.", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=ROOT / "docs" / "probe_unseen_classes.md", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = Parallel(n_jobs=2)(delayed(run_split)(p, s) for p in PAIRS for s in SEEDS)
    args.out.write_text(report(rows, time.perf_counter() - start))
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
