"""Speed-ups tried for issue 19 and not shipped, measured: writes docs/speed_alternatives.md (and .json).

    python benchmarks/probes/speed_alternatives.py           # a few minutes on 2 cores
    python benchmarks/probes/speed_alternatives.py --quick   # small sizes, a smoke test

docs/performance.md measures what the package does; this page measures what
it does not do, and why:

1. **The floor of the pre-training check.** The cluster check compares a
   logistic regression with label spreading over the neighbour graph on folds
   of at most 500 labelled rows, over at most 2,000 unlabelled ones. With
   those settings, the least it can do is one fold: one logistic regression,
   one graph, one spreading. That floor's cost, against one plain epoch of
   the same rows, says whether the bar "the checks cost at most one plain
   epoch at any size" can be met by this check with fewer folds.
2. **Every fold of the check's logistic regressions in one solve.** The
   folds' objectives summed (separable, so its minimum is each fold's) and
   solved by SciPy's L-BFGS-B with scikit-learn's stopping rule, against
   scikit-learn fitting the folds one by one.
3. **The exact transport as an assignment.** Between a student batch and a
   teacher batch of equal size and equal weights (batch 256 against the
   default teacher batch of 256, ``prior_correction=False``) the exact plan is
   a permutation; :func:`scipy.optimize.linear_sum_assignment` against POT's
   ``ot.emd`` on the problems a training run at batch 256 solves, and on
   random clouds of the same size.
4. **The exact transport beside the training steps.** POT's solver releases
   the GIL around its C++ network simplex, so a solve on a second thread could
   overlap the student's steps. Measured with real steps (the default MLP's
   forward, backward and Adam step on a batch of 256 rows and their
   neighbours, at torch's thread count) and real solves (recorded 256 x 256
   problems), one after the other and side by side.
"""

import argparse
import json
import os
import platform
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import ot
import scipy
import sklearn
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment, minimize
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, RepeatedStratifiedKFold
from sklearn.semi_supervised import LabelSpreading
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from performance import (  # noqa: E402
    LATENT,
    N_CLASSES,
    N_FEATURES,
    _median_seconds,
    _table,
    check_costs,
    make_data,
    make_voiced_data,
)

from skcmkd import CrossModalDistiller  # noqa: E402
from skcmkd._inputs import input_scaler  # noqa: E402
from skcmkd._net import build_student  # noqa: E402
from skcmkd.assumptions import _drawn_rows, _knn_graph  # noqa: E402

#: check_clusters' default draw of labelled rows.
CHECK_MAX_LABELLED = 500

#: scikit-learn's L-BFGS-B options for LogisticRegression(max_iter=2000), tol=1e-4.
SKLEARN_LBFGS = {"maxiter": 2000, "maxls": 50, "gtol": 1e-4, "ftol": 64 * np.finfo(float).eps}
#: A verdict "worth building" needs the alternative at most this share of the time.
WORTH = 0.8


@contextmanager
def _quiet_blas():
    """As the checks run: one BLAS thread, convergence warnings off."""
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- 1. the floor of the check -----------------------------------------------------


def _check_rows(X_scaled, y, seed=0):
    """The rows the cluster check works on (its own draw, :func:`skcmkd.assumptions._drawn_rows`), scaled."""
    labelled, unlabelled = _drawn_rows(
        y,
        np.flatnonzero(y >= 0),
        np.flatnonzero(y < 0),
        CHECK_MAX_LABELLED,
        2000,
        5,
        check_random_state(seed),
    )
    rows = np.r_[labelled, unlabelled]
    return input_scaler().fit_transform(np.asarray(X_scaled[rows], dtype=float)), y[labelled]


def check_floor(n_student, rounds):
    """performance.py's check costs by size, and the check's floor: one fold of it."""
    (row,) = check_costs([n_student], rounds)
    X, y, _, _ = make_voiced_data(n_student, 10)
    X_check, y_labelled = _check_rows(input_scaler().fit_transform(X).astype(np.float32), y)
    train, _ = next(KFold(5).split(y_labelled))  # one fold's training rows
    spread = np.full(len(X_check), -1)
    spread[train] = y_labelled[train]
    with _quiet_blas():
        row["logistic"] = _median_seconds(
            rounds, lambda: LogisticRegression(max_iter=2000).fit(X_check[train], y_labelled[train])
        )
        row["graph"] = _median_seconds(rounds, _knn_graph, X_check, 10)
        graph = _knn_graph(X_check, 10)
        row["spreading"] = _median_seconds(
            rounds, lambda: LabelSpreading(kernel=graph).fit(X_check, spread)
        )
    row["floor"] = row["logistic"] + row["graph"] + row["spreading"]
    row["check_rows"] = len(X_check)
    return row


# -- 2. the folds in one solve -----------------------------------------------------


def joint_fold_fit(X, y, splits):
    """Every split's ``LogisticRegression(C=1)`` on its training rows, as one L-BFGS-B problem.

    Each fold's objective is scikit-learn's: the mean multinomial log loss of
    its training rows plus ``||W||^2 / (2 n_train)``, the intercept
    unpenalised. The folds' objectives are summed: the sum is separable, so
    its minimum is every fold's. Folds of unequal size are padded with rows
    of weight zero. Needs more than two classes, each in every fold's
    training rows (stratified folds).

    Returns
    -------
    coef : ndarray of shape (n_splits, n_features + 1, n_classes)
        Each fold's weights, the intercept last.
    iterations : int
    """
    inputs = np.hstack([X, np.ones((len(X), 1))])
    n_classes, width = int(y.max()) + 1, inputs.shape[1]
    size = max(len(train) for train, _ in splits)
    rows = np.zeros((len(splits), size), dtype=np.int64)
    weights = np.zeros((len(splits), size))
    for p, (train, _) in enumerate(splits):
        rows[p, : len(train)], weights[p, : len(train)] = train, 1.0 / len(train)
    fold_inputs, onehot = inputs[rows], np.eye(n_classes)[y[rows]]  # (folds, size, ...)
    penalty = np.array([1.0 / len(train) for train, _ in splits])[:, None, None]
    penalty = penalty * np.r_[np.ones(width - 1), 0.0][None, :, None]

    def objective(flat):
        coef = flat.reshape(len(splits), width, n_classes)
        logits = fold_inputs @ coef
        norm = logsumexp(logits, axis=2, keepdims=True)
        value = (weights * (norm[..., 0] - (logits * onehot).sum(2))).sum()
        residual = (np.exp(logits - norm) - onehot) * weights[..., None]
        grad = fold_inputs.transpose(0, 2, 1) @ residual + penalty * coef
        return value + 0.5 * (penalty * coef**2).sum(), grad.ravel()

    start = np.zeros(len(splits) * width * n_classes)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options=SKLEARN_LBFGS)
    return result.x.reshape(len(splits), width, n_classes), int(result.nit)


def _voiced_labelled(n_labelled, seed=0):
    """Labelled rows like performance.py's: 10 classes, 200 voices wider than the classes."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, N_CLASSES, n_labelled)
    X = (
        rng.randn(N_CLASSES, N_FEATURES)[y]
        + 4.0 * rng.randn(200, N_FEATURES)[rng.randint(0, 200, n_labelled)]
    )
    X = X + rng.randn(n_labelled, N_FEATURES)
    return (X - X.mean(0)) / X.std(0), y


def folds_in_one_solve(n_labelled, rounds):
    """scikit-learn fold by fold against one joint solve: time, iterations, same predictions."""
    X, y = _voiced_labelled(n_labelled)
    splits = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=0).split(X, y))

    def one_by_one():
        return [LogisticRegression(max_iter=2000).fit(X[train], y[train]) for train, _ in splits]

    def joint():
        return joint_fold_fit(X, y, splits)

    with _quiet_blas():
        models, (coef, iterations) = one_by_one(), joint()
        row = {
            "n_labelled": n_labelled,
            "folds": len(splits),
            "sklearn": _median_seconds(rounds, one_by_one),
            "joint": _median_seconds(rounds, joint),
            "sklearn_iterations": float(np.mean([m.n_iter_[0] for m in models])),
            "joint_iterations": iterations,
        }
    inputs = np.hstack([X, np.ones((len(X), 1))])
    same = [
        model.predict(X[test]) == np.argmax(inputs[test] @ coef[p], axis=1)
        for p, (model, (_, test)) in enumerate(zip(models, splits, strict=True))
    ]
    row["agreement"] = float(np.mean(np.concatenate(same)))
    return row


# -- 3 and 4. the exact transport ----------------------------------------------------


def recorded_transports(n_student, batch, epochs):
    """The ``(a, b, cost)`` of every exact solve of a fit at this batch size (teacher batch 256)."""
    X, y, bank, y_bank = make_data(n_student, 10_000)
    teacher = CrossModalDistiller(random_state=0).set_teacher(bank, y_bank, encoder="precomputed")
    solves, emd = [], ot.emd

    def recording(a, b, cost, *args, **kwargs):
        solves.append((a, b, cost))
        return emd(a, b, cost, *args, **kwargs)

    ot.emd = recording
    try:
        CrossModalDistiller(
            teacher=teacher.teacher,
            batch_size=batch,
            max_epochs=epochs,
            warmup_epochs=0,
            unlabeled_trust=1.0,
            random_state=0,
        ).fit(X, y)
    finally:
        ot.emd = emd
    return solves


def agreement(a, b, cost):
    """Whether the assignment reaches ``ot.emd``'s optimum, and matches every row at its cost.

    Row by row: each student row's matched cost is the same under both plans.
    The teacher batch is drawn with replacement, so two of its columns can be
    the same point; swapping them changes the plan but no row's target.
    """
    plan = ot.emd(a, b, cost)
    rows, cols = linear_sum_assignment(cost)
    emd_rows, emd_cols = np.nonzero(plan)
    same_total = bool(np.isclose(cost[rows, cols] @ a[rows], (plan * cost).sum(), rtol=1e-9))
    if len(emd_rows) != len(a):  # a plan that splits a row: not a permutation
        return same_total, False
    per_row = np.empty(len(a))
    per_row[emd_rows] = cost[emd_rows, emd_cols]
    return same_total, bool(np.allclose(cost[rows, cols], per_row, rtol=1e-12, atol=0))


def assignment_against_emd(solves, rounds):
    """Seconds per solve of ``ot.emd`` and ``linear_sum_assignment`` on the square problems."""
    square = [(a, b, c) for a, b, c in solves if len(a) == len(b)]
    checks = [agreement(a, b, c) for a, b, c in square]
    per = max(len(square), 1)
    return {
        "problems": len(square),
        "emd": _median_seconds(rounds, lambda: [ot.emd(a, b, c) for a, b, c in square]) / per,
        "assignment": _median_seconds(
            rounds, lambda: [linear_sum_assignment(c) for *_, c in square]
        )
        / per,
        "same_cost": all(total for total, _ in checks),
        "same_rows": float(np.mean([rows for _, rows in checks])),
    }


def random_clouds(n, width, count):
    """``count`` problems between Gaussian clouds of ``n`` rows each, as wide as the joint embedding."""
    rng = np.random.RandomState(0)
    a = np.full(n, 1.0 / n)
    return [(a, a, ot.dist(rng.randn(n, width), rng.randn(n, width) + 0.5)) for _ in range(count)]


def solves_beside_steps(problems, n_steps, rounds, batch=256):
    """Median seconds of the solves alone, the steps alone, and both at once on two threads.

    The steps are the default student's (:func:`skcmkd._net.build_student`):
    forward, cross-entropy, backward and an Adam step on ``2 * batch`` rows
    (a batch and its neighbours), at torch's thread count.
    """
    torch.manual_seed(0)
    module = build_student(None, N_FEATURES, LATENT, N_CLASSES)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    X = torch.randn(batch, N_FEATURES)
    neighbor = X + 0.1 * torch.randn(batch, N_FEATURES)
    y = torch.randint(0, N_CLASSES, (batch,))

    def steps():
        for _ in range(n_steps):
            logits, z, z_neighbor = module(X, neighbor)
            loss = F.cross_entropy(logits, y) + (z - z_neighbor).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def solves():
        for a, b, cost in problems:
            ot.emd(a, b, cost)

    def side_by_side():
        thread = threading.Thread(target=solves)
        thread.start()
        steps()
        thread.join()

    times = {"solves": [], "steps": [], "side_by_side": []}
    functions = {"solves": solves, "steps": steps, "side_by_side": side_by_side}
    steps()  # warm
    for _ in range(rounds):  # interleaved: the machine's drift touches each alike
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    result = {name: float(np.median(t)) for name, t in times.items()}
    result["one_after_other"] = result["solves"] + result["steps"]
    result["perfect_overlap"] = max(result["solves"], result["steps"])
    result["n_steps"], result["n_solves"] = n_steps, len(problems)
    return result


# -- the page ------------------------------------------------------------------------


def folds_verdict(folds):
    """What section 2 concludes from its rows."""
    ratios = [r["joint"] / r["sklearn"] for r in folds]
    agree = min(r["agreement"] for r in folds)
    span = f"{min(ratios):.2f}-{max(ratios):.2f}x"
    if max(ratios) <= WORTH:
        return (
            f"One solve takes {span} the time of the folds one by one, with "
            f"{100 * agree:.1f}% or more of the held-out predictions the same: worth building. "
            "It cannot lower section 1's floor, which holds a single fit."
        )
    return (
        f"One solve takes {span} the time of the folds one by one (it runs more iterations "
        "than one fold needs, each on every fold's rows), with "
        f"{100 * agree:.1f}% or more of the held-out predictions the same. It cannot lower "
        "section 1's floor either, which holds a single fit. **Dropped.**"
    )


def transport_verdict(transport):
    """What section 3 concludes: the assignment is worth it only on training's own problems."""
    recorded, random = transport["recorded"], transport["random"]
    ratio = recorded["assignment"] / recorded["emd"]
    on_random = random["assignment"] / random["emd"]
    if ratio <= WORTH and recorded["same_cost"]:
        return (
            f"On training's problems the assignment takes {ratio:.2f}x the time of `ot.emd` "
            f"(on random clouds {on_random:.2f}x): worth building."
        )
    misleading = (
        " A benchmark on random costs alone would have kept it." if on_random <= WORTH else ""
    )
    return (
        f"On training's problems the assignment takes {ratio:.2f}x the time of `ot.emd` "
        f"(on random clouds {on_random:.2f}x): **dropped**.{misleading}"
    )


def thread_verdict(threaded):
    """What section 4 concludes: whether a solve on a second thread overlaps the steps."""
    ratio = threaded["side_by_side"] / threaded["one_after_other"]
    saved = threaded["one_after_other"] - threaded["side_by_side"]
    if ratio <= WORTH:
        return (
            f"Side by side took {ratio:.2f}x the sum ({1000 * saved / threaded['n_solves']:.1f} ms "
            "saved per solve): the solves do overlap the steps. A solve epoch could then "
            "train on the previous cycle's targets while its own are solved, which changes "
            "what it trains: worth a probe of accuracy, not built here."
        )
    return (
        f"Side by side took {ratio:.2f}x the sum: the two threads compete for the same cores "
        "(torch's steps use both), so a solve on a second thread saves little. **Not built.**"
    )


def render(results, command, wall):
    floor, folds = results["floor"], results["folds"]
    transport, threaded = results["transport"], results["threaded"]
    ms = "{:.1f} ms".format
    lines = [
        "# Speed-ups tried and not shipped (issue 19)",
        "",
        f"Command: `{command}` (after the README's set-up). Machine: {results['machine']}. "
        f"Wall time {wall / 60:.1f} min. Times are medians of {results['rounds']} calls or "
        "rounds. [performance.md](performance.md) measures what the package does; this "
        "page, what it does not do and why.",
        "",
        "## 1. The floor of the pre-training check",
        "",
        "The cluster check (`skcmkd.assumptions.check_clusters`) compares a logistic regression "
        "with label spreading over the neighbour graph on folds of at most "
        f"{CHECK_MAX_LABELLED} labelled rows, over at most 2,000 unlabelled ones "
        f"({', '.join(str(r['check_rows']) for r in floor)} rows here). With those "
        "settings the least it can do is one fold: one logistic regression (on the fold's "
        "training rows), one neighbour graph, one spreading. Student rows as in "
        "performance.md's section 0 (64 features, 10 classes, 10% labelled, neighbours that "
        "share a voice); the plain epoch is the net alone, the check and the fall-back as "
        "the package runs them:",
        "",
        _table(
            [
                "student rows",
                "labelled",
                "plain epoch, batch 64",
                "batch 256",
                "one logistic regression",
                "graph",
                "one spreading",
                "floor (sum)",
                "the check",
                "the fall-back",
            ],
            [
                [
                    f"{r['n_student']:,}",
                    str(r["n_labelled"]),
                    ms(1000 * r["epoch_64"]),
                    ms(1000 * r["epoch_256"]),
                    ms(1000 * r["logistic"]),
                    ms(1000 * r["graph"]),
                    ms(1000 * r["spreading"]),
                    ms(1000 * r["floor"]),
                    ms(1000 * r["check"]),
                    ms(1000 * r["fallback"]),
                ]
                for r in floor
            ],
        ),
        "",
        *(
            f"At {r['n_student']:,} rows the floor is {r['floor'] / r['epoch_256']:.2f} plain "
            f"epochs at batch 256 and {r['floor'] / r['epoch_64']:.2f} at batch 64; the check "
            f"is {r['check'] / r['epoch_256']:.2f} and {r['check'] / r['epoch_64']:.2f}."
            for r in floor
        ),
        "",
        "Where the floor is above one plain epoch, no version of this check with fewer folds "
        'meets issue 19\'s bar "the checks cost at most one plain epoch at any size"; only '
        "not checking does, and without the check the alignment stays on where input-space "
        "neighbours share something other than a class, where it lost 10-20 points "
        "([probe_trust_check.md](probe_trust_check.md)).",
        "",
        "## 2. Every fold's logistic regression in one solve",
        "",
        "The check fits a logistic regression per fold, one after the other. Summing the "
        "folds' objectives (scikit-learn's for `LogisticRegression(C=1)`) gives one "
        "separable problem whose minimum is every fold's; SciPy's L-BFGS-B solves it with "
        "scikit-learn's stopping rule (the code is `joint_fold_fit` in this script). 5 "
        "stratified folds drawn 3 times, as the check draws them on few labels; labelled "
        "rows as in section 1:",
        "",
        _table(
            [
                "labelled rows",
                "folds",
                "scikit-learn, one by one",
                "its iterations per fold",
                "one joint solve",
                "its iterations",
                "same held-out predictions",
            ],
            [
                [
                    str(r["n_labelled"]),
                    str(r["folds"]),
                    ms(1000 * r["sklearn"]),
                    f"{r['sklearn_iterations']:.0f}",
                    ms(1000 * r["joint"]),
                    str(r["joint_iterations"]),
                    f"{100 * r['agreement']:.2f}%",
                ]
                for r in folds
            ],
        ),
        "",
        folds_verdict(folds),
        "",
        "## 3. The exact transport as an assignment",
        "",
        "Between a student batch and a teacher batch of equal size and equal weights "
        "(batch 256 against the default teacher batch of 256, with the default "
        "`prior_correction=False`) the exact plan is a permutation: an assignment "
        "problem. Time per solve, `ot.emd` (network simplex) against "
        "`scipy.optimize.linear_sum_assignment`, on the problems a fit solves "
        f"({transport['recorded']['problems']} recorded from a fit of "
        f"{results['transport_rows']:,} rows at batch 256 over {results['transport_epochs']} "
        "epochs, every solve epoch: the joint embedding and label cost of the defaults) and "
        "on as many Gaussian clouds of the same size and width:",
        "",
        _table(
            [
                "problems",
                "`ot.emd`",
                "assignment",
                "same optimal cost",
                "every row matched at the same cost",
            ],
            [
                [
                    label,
                    f"{1000 * transport[key]['emd']:.2f} ms",
                    f"{1000 * transport[key]['assignment']:.2f} ms",
                    "yes" if transport[key]["same_cost"] else "no",
                    f"{100 * transport[key]['same_rows']:.0f}% of problems",
                ]
                for key, label in (
                    ("recorded", "recorded from training"),
                    ("random", "random Gaussian clouds"),
                )
            ],
        ),
        "",
        transport_verdict(transport),
        "",
        "## 4. The exact transport beside the training steps",
        "",
        "POT's `ot.emd` releases the GIL around its C++ solver, so a solve on a second "
        f"thread could overlap the student's steps. {threaded['n_solves']} recorded "
        f"256 x 256 solves and {threaded['n_steps']} training steps of the default MLP "
        "(forward, cross-entropy, backward and an Adam step on 256 rows and their "
        f"neighbours; torch on {results['torch_threads']} threads), one after the other "
        "and side by side (the solves on a second thread):",
        "",
        _table(
            ["", "seconds"],
            [
                ["the solves alone", f"{threaded['solves']:.3f}"],
                ["the steps alone", f"{threaded['steps']:.3f}"],
                ["one after the other (the sum)", f"{threaded['one_after_other']:.3f}"],
                ["side by side, measured", f"{threaded['side_by_side']:.3f}"],
                [
                    "side by side, perfect overlap (the longer)",
                    f"{threaded['perfect_overlap']:.3f}",
                ],
            ],
        ),
        "",
        thread_verdict(threaded),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--out", default="docs/speed_alternatives.md")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.quick:
        floor_sizes, labelled, rounds, rows, epochs, steps = [600], [100], 1, 512, 2, 4
    else:
        floor_sizes, labelled, rounds, rows, epochs, steps = (
            [2_000, 20_000],
            [150, 500],
            5,
            8192,
            11,
            40,
        )
    recorded = recorded_transports(rows, 256, epochs)
    square = [(a, b, c) for a, b, c in recorded if len(a) == len(b)]
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, torch {torch.__version__}, POT {ot.__version__}, "
        f"scikit-learn {sklearn.__version__}, SciPy {scipy.__version__}",
        "torch_threads": torch.get_num_threads(),
        "rounds": rounds,
        "floor": [check_floor(n, rounds) for n in floor_sizes],
        "folds": [folds_in_one_solve(n, rounds) for n in labelled],
        "transport_rows": rows,
        "transport_epochs": epochs,
        "transport": {
            "recorded": assignment_against_emd(recorded, rounds),
            "random": assignment_against_emd(
                random_clouds(len(square[0][0]), LATENT + N_CLASSES, len(square)), rounds
            ),
        },
        "threaded": solves_beside_steps(square[: max(len(square) // 2, 1)], steps, rounds),
    }
    command = "python benchmarks/probes/speed_alternatives.py" + (" --quick" if args.quick else "")
    results["command"], results["wall_s"] = command, time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = render(results, command, results["wall_s"])
    out.write_text(page)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2))
    print(page)
    print(f"Wrote {out}. Reproduce: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
