r"""Measure the quantities of the bound on held-out data, and draw them.

The bound behind skcmkd (``docs/theory.md``) reads

.. math::

    \varepsilon_S \le \varepsilon_T + \tau\, W(D_S(z), D_T(z)) + LA.

:func:`diagnose` measures each term on held-out data of both modalities for
a fitted :class:`~skcmkd.CrossModalDistiller`: the teacher's error, the
student's error, feature alignment (the exact Wasserstein distance between
the two embedding distributions) and label alignment (how the student's
prediction differs from the teacher head's at the same embedding).
:func:`teacher_contribution` answers "does my teacher carry anything?" on a
user's own data: cross-validated accuracy with the real teacher against a
teacher of labelled noise, the teacher with its classes permuted, and no
teacher (:mod:`skcmkd.controls`).
:func:`plot_embeddings` and :func:`plot_history` draw the embeddings and the
loss terms with matplotlib (the optional ``benchmark`` extra).
"""

import numbers
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._inputs import labelled_mask
from ._meta import base_distiller, final_distiller
from ._safe_alignment import AlignmentDecision
from ._teacher import draw_seed, fit_teacher
from .alignment import label_alignment, measured_feature_alignment, prior_shift_correction
from .assumptions import relation_agreement
from .controls import noise_teacher_data, permuted_labels
from .model_selection import LabeledStratifiedKFold
from .unseen import UnseenNaming

__all__ = [
    "BoundReport",
    "ContributionReport",
    "alignment_decision",
    "decisions",
    "diagnose",
    "teacher_contribution",
    "plot_embeddings",
    "plot_history",
]


@dataclass(frozen=True)
class BoundReport:
    """The measured terms of the bound, side by side.

    ``str(report)`` is a small table; :meth:`to_dict` gives plain data.

    Attributes
    ----------
    teacher_error : float
        Error of the teacher on the held-out teacher rows.
    student_error : float
        Error of the student net (the bound's student: its head on its
        embeddings) on the held-out, labelled student rows. Where a
        :class:`~skcmkd.SafeAlignment` predicts with its linear fall-back
        (``fallback_``), its ``predict`` can differ from the net's own.
    teacher_head_error : float
        Error of the teacher's head applied to the student's embeddings: how
        well the teacher's classifier works in the place the student maps to.
    feature_alignment : float
        Exact squared 2-Wasserstein distance between the student's and the
        teacher's held-out embeddings, divided by the teacher bank's mean
        squared distance (the units of ``feature_weight``): 0 when the two
        clouds coincide, about 1 when they are as far apart as two random
        teacher points.
    label_alignment : float
        Mean KL divergence from the teacher head to the student head at the
        student's embeddings (what the ``label_weight`` term trains), with the
        teacher head corrected for the class priors when the distiller was
        fitted with ``prior_correction=True``.
    label_disagreement : float
        Share of held-out student rows on which the two heads predict
        different classes (the 0-1 form of label alignment in the bound).
    n_teacher, n_student : int
        Rows used on each side.
    unlabeled_trust : float
        The final distiller's ``unlabeled_trust``: the factor its fit put on
        the alignment terms (0: the student trained alone).
    decision : str
        Why, in words (:func:`alignment_decision`): what a
        :class:`~skcmkd.SafeAlignment` measured, or that the trust was given.
    """

    teacher_error: float
    student_error: float
    teacher_head_error: float
    feature_alignment: float
    label_alignment: float
    label_disagreement: float
    n_teacher: int
    n_student: int
    unlabeled_trust: float = 1.0
    decision: str = ""

    _ROWS = (
        ("teacher_error", "teacher error (held-out teacher rows)"),
        ("student_error", "student error (held-out student rows)"),
        ("teacher_head_error", "teacher head on student embeddings, error"),
        ("feature_alignment", "feature alignment, W2^2 / bank scale"),
        ("label_alignment", "label alignment, KL(teacher head || student)"),
        ("label_disagreement", "label alignment, share of rows the heads disagree on"),
    )

    def to_dict(self):
        """The report as a plain ``dict``."""
        return asdict(self)

    def __str__(self):
        width = max(len(label) for _, label in self._ROWS)
        lines = [f"{'quantity':<{width}}  value", f"{'-' * width}  -----"]
        lines += [f"{label:<{width}}  {getattr(self, key):.3f}" for key, label in self._ROWS]
        lines.append(f"({self.n_teacher} teacher rows, {self.n_student} student rows)")
        lines.append(f"alignment: unlabeled_trust = {self.unlabeled_trust:.2f}; {self.decision}")
        return "\n".join(lines)


def diagnose(
    distiller, X_teacher, y_teacher, X_student, y_student, *, max_rows=2000, random_state=0
):
    """Measure the terms of the bound for a fitted distiller on held-out data.

    Parameters
    ----------
    distiller : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted, with a teacher; a meta-estimator is measured through the
        student net it predicts with.
    X_teacher, y_teacher : array-like
        Held-out teacher-modality rows and their labels (not the rows the
        teacher was fitted on, or the teacher's error will look too good).
    X_student, y_student : array-like
        Held-out student-modality rows and their labels; rows labelled ``-1``
        count in feature and label alignment but not in the student error.
    max_rows : int, default=2000
        At most this many rows per side enter the exact transport (its cost
        grows with the square of the rows); a random subset beyond that.
    random_state : int, RandomState instance or None, default=0
        Draws that subset.

    Returns
    -------
    report : BoundReport

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd import CrossModalDistiller
    >>> from skcmkd.diagnostics import diagnose
    >>> rng = np.random.RandomState(0)
    >>> y_t = np.arange(80) % 2; X_t = rng.randn(80, 4) + 2 * y_t[:, None]
    >>> y_s = np.arange(60) % 2; X_s = rng.randn(60, 3) + 2 * y_s[:, None]
    >>> d = CrossModalDistiller(max_epochs=5, random_state=0).set_teacher(X_t[:40], y_t[:40])
    >>> d = d.fit(X_s[:30], np.where(np.arange(30) < 6, y_s[:30], -1))
    >>> report = diagnose(d, X_t[40:], y_t[40:], X_s[30:], y_s[30:])
    >>> 0 <= report.student_error <= 1 and report.feature_alignment >= 0
    True
    >>> print(report)  # doctest: +ELLIPSIS
    quantity ...
    """
    model, distiller = distiller, final_distiller(distiller)
    teacher = distiller.teacher
    if teacher is None:
        raise ValueError(
            "diagnose needs a distiller with a teacher (set_teacher): without one there is "
            "no teacher error and nothing to align to."
        )
    rng = check_random_state(random_state)
    y_teacher, y_student = np.asarray(y_teacher), np.asarray(y_student)
    z_teacher = teacher.transform(X_teacher)
    teacher_error = 1.0 - float(np.mean(teacher.predict(X_teacher) == y_teacher))
    logits, z_student = distiller.forward(X_student)
    # columns of the student's classes, which may include classes the teacher lacks
    q = torch.as_tensor(teacher.predict_proba_latent(z_student, classes=distiller.classes_))
    if distiller.prior_ratio_ is not None:  # prior_correction: the teacher as training saw it
        q = prior_shift_correction(q, torch.as_tensor(distiller.prior_ratio_, dtype=q.dtype))
    student_pred = distiller.classes_[np.argmax(logits, axis=1)]
    head_pred = distiller.classes_[np.argmax(q.numpy(), axis=1)]

    labelled = labelled_mask(y_student)
    if not labelled.any():
        raise ValueError("y_student has no labelled row (all -1): the student error needs labels.")
    student_error = 1.0 - float(np.mean(student_pred[labelled] == y_student[labelled]))
    head_error = 1.0 - float(np.mean(head_pred[labelled] == y_student[labelled]))

    feature = measured_feature_alignment(
        z_student, z_teacher, teacher.cost_scale_, max_rows=max_rows, random_state=rng
    )
    return BoundReport(
        teacher_error=teacher_error,
        student_error=student_error,
        teacher_head_error=head_error,
        feature_alignment=feature,
        label_alignment=float(label_alignment(torch.from_numpy(logits).double(), q)),
        label_disagreement=float(np.mean(student_pred != head_pred)),
        n_teacher=min(len(z_teacher), max_rows),
        n_student=min(len(z_student), max_rows),
        unlabeled_trust=float(distiller.unlabeled_trust),
        decision=alignment_decision(model),
    )


def decisions(model):
    """The decision record of every meta-estimator in a fitted model's chain, outermost first.

    Parameters
    ----------
    model : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted.

    Returns
    -------
    records : dict
        Class name -> its ``decision_`` (``"SafeAlignment"``: an
        :class:`~skcmkd.AlignmentDecision`; ``"UnseenClassNamer"``: an
        :class:`~skcmkd.unseen.UnseenNaming`); empty for a distiller alone.
        A class met twice in the chain is named with its path the second
        time (``"SafeAlignment (estimator_)"``).

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd import make_safe_distiller
    >>> from skcmkd.diagnostics import decisions
    >>> X, y = np.random.RandomState(0).randn(40, 3), np.arange(40) % 2
    >>> model = make_safe_distiller(max_epochs=2, random_state=0).fit(X, y)
    >>> sorted(decisions(model))
    ['SafeAlignment', 'UnseenClassNamer']
    >>> decisions(model)["SafeAlignment"].branch
    'nothing_to_align'
    """
    check_is_fitted(model)
    records, path = {}, ""
    while isinstance(getattr(model, "decision_", None), AlignmentDecision | UnseenNaming):
        name = type(model).__name__
        records[name if name not in records else f"{name} ({path.rstrip('.')})"] = model.decision_
        model, path = model.estimator_, path + "estimator_."
    return records


def alignment_decision(model):
    """What set the alignment of a fitted model, in one sentence.

    Parameters
    ----------
    model : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted. The decisions of every meta-estimator in its chain are
        joined; a distiller alone says that its trust was given.

    Returns
    -------
    decision : str
    """
    said = [f"{name}: {record.reason}" for name, record in decisions(model).items()]
    if not said:
        return f"given (unlabeled_trust={final_distiller(model).unlabeled_trust}), nothing checked"
    return "; ".join(said)


# -- does the teacher carry anything? ------------------------------------------------

#: The fits :func:`teacher_contribution` compares, in its report's order.
CONTRIBUTION_RUNS = ("real teacher", "noise teacher", "permuted teacher", "no teacher")


@dataclass(frozen=True)
class ContributionReport:
    """Cross-validated accuracy with the real teacher and with the controls.

    Attributes
    ----------
    scores : dict of str to ndarray
        Per-fold accuracy on held-out labelled rows for each of
        ``"real teacher"``, ``"noise teacher"`` (labelled Gaussian noise with
        the teacher's class counts), ``"permuted teacher"`` (the teacher's data,
        classes renamed) and ``"no teacher"`` (the same estimator without one).
    contribution : float
        Mean over folds of real minus noise teacher, in accuracy points
        (0-100): what the teacher's content adds beyond a prior any
        labelled clusters give.
    relation_agreement : float
        :func:`skcmkd.assumptions.relation_agreement` of the real teacher on
        the labelled rows: whether its class relations hold for the student.
    """

    scores: dict = field(repr=False)
    contribution: float
    relation_agreement: float

    def mean(self, run):
        """Mean accuracy of one run over the folds."""
        return float(np.mean(self.scores[run]))

    def to_dict(self):
        """The report as plain data."""
        return {
            "scores": {k: v.tolist() for k, v in self.scores.items()},
            "contribution": self.contribution,
            "relation_agreement": self.relation_agreement,
        }

    def __str__(self):
        real = self.scores["real teacher"]
        lines = ["run                 accuracy  real minus this (points)"]
        for run in CONTRIBUTION_RUNS:
            gap = 100 * (real - self.scores[run])
            against = (
                ""
                if run == "real teacher"
                else f"{gap.mean():+.1f} (folds {gap.min():+.1f}..{gap.max():+.1f})"
            )
            lines.append(f"{run:<18}  {self.mean(run):.3f}     {against}")
        lines.append(
            f"The teacher's content adds {self.contribution:+.1f} points over a teacher of "
            f"labelled noise; class-relation agreement {self.relation_agreement:.2f}."
        )
        return "\n".join(lines)


def teacher_contribution(
    distiller, X_teacher, y_teacher, X, y, *, cv=None, random_state=0, n_jobs=None
):
    """Does my teacher carry anything? Measured against a teacher of labelled noise.

    Fits the distiller (its parameters as they are) with four teachers on the
    same folds of ``(X, y)`` and scores each on the held-out labelled rows:
    the real teacher (fitted on ``X_teacher, y_teacher`` with the settings of
    ``distiller.teacher``), a teacher of labelled noise with the same class
    counts (:func:`skcmkd.controls.noise_teacher_data`, an ``"mlp"``
    teacher into the same latent width), the real teacher's data with its
    classes permuted, and no teacher. The real teacher's content is what it
    adds over the noise teacher; over no teacher it also adds the prior of
    any clustered target.

    Costs four fits per fold (twenty with the default five folds). A
    :class:`~skcmkd.SafeAlignment` (the model of
    :func:`~skcmkd.make_safe_distiller`) runs its checks in each fit, which
    may turn the alignment off for one teacher and not another: part of
    what the recommended default does with each. To ask what each teacher
    gives when used, pass a :class:`~skcmkd.CrossModalDistiller`.

    Parameters
    ----------
    distiller : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        With a teacher set (``set_teacher`` on ``X_teacher, y_teacher``); it
        is cloned, not changed.
    X_teacher, y_teacher : array-like
        The teacher's training data.
    X, y : array-like
        Student rows, ``-1`` for unlabelled ones.
    cv : int or cross-validation splitter, default=None
        ``None`` or an int: :class:`~skcmkd.model_selection.LabeledStratifiedKFold`
        with that many folds (5 by default), validation on labelled rows only.
    random_state : int, default=0
        Seeds the folds and the control teachers.
    n_jobs : int, default=None
        Folds fitted in parallel (``cross_val_score``).

    Returns
    -------
    report : ContributionReport
    """
    teacher, prefix = base_distiller(distiller)
    teacher = teacher.teacher
    if teacher is None:
        raise ValueError(
            "teacher_contribution needs a distiller with a teacher: call "
            "set_teacher(X_teacher, y_teacher) first; its settings fit the controls too."
        )
    seed = draw_seed(random_state)
    if cv is None or isinstance(cv, int):  # an int seed: every run on the same folds
        folds_seed = random_state if isinstance(random_state, numbers.Integral) else seed
        cv = LabeledStratifiedKFold(cv or 5, shuffle=True, random_state=folds_seed)
    settings = dict(teacher.settings)
    noise_settings = {k: v for k, v in settings.items() if k != "encoder"}
    if settings.get("encoder", "mlp") != "mlp":  # a fixed encoder cannot embed noise
        noise_settings = {}
    noise_settings["latent_dim"] = teacher.latent_dim_
    teachers = {
        "real teacher": teacher,
        "noise teacher": fit_teacher(
            noise_teacher_data(y_teacher, random_state=seed),
            y_teacher,
            random_state=seed,
            **noise_settings,
        ),
        "permuted teacher": fit_teacher(
            X_teacher, permuted_labels(y_teacher, random_state=seed), random_state=seed, **settings
        ),
        "no teacher": None,
    }
    scores = {
        run: cross_val_score(
            clone(distiller).set_params(**{f"{prefix}teacher": t}), X, y, cv=cv, n_jobs=n_jobs
        )
        for run, t in teachers.items()
    }
    gap = 100 * (scores["real teacher"] - scores["noise teacher"])
    return ContributionReport(
        scores=scores,
        contribution=float(gap.mean()),
        relation_agreement=relation_agreement(teacher, X, y),
    )


# -- pictures ----------------------------------------------------------------------


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The plots need matplotlib: pip install 'skcmkd[benchmark]' (or matplotlib)."
        ) from error
    return plt


def plot_embeddings(
    distiller, X_teacher, y_teacher, X_student, y_student, *, before=None, axes=None
):
    """Teacher and student embeddings in 2-D, coloured by class.

    The projection is a PCA of the teacher's embeddings, shared by every
    panel: teacher rows are faint dots, student rows crosses. With
    ``before`` (a distiller fitted without alignment, or the student alone
    with the same latent width) a first panel shows the student before
    distillation.

    Parameters
    ----------
    distiller : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted, with a teacher.
    X_teacher, y_teacher, X_student, y_student : array-like
        Rows to draw (labels colour them; ``-1`` rows are drawn grey).
    before : CrossModalDistiller, default=None
        The student before distillation.
    axes : matplotlib Axes or sequence of Axes, default=None
        Where to draw; new figure if ``None``.

    Returns
    -------
    axes : list of matplotlib Axes
    """
    plt = _pyplot()
    teacher = distiller.teacher
    if teacher is None:
        raise ValueError("plot_embeddings needs a distiller with a teacher (set_teacher).")
    models = [("before distillation", before)] if before is not None else []
    models.append(("after distillation", distiller))
    if axes is None:
        _, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.8), squeeze=False)
        axes = list(axes[0])
    axes = list(np.atleast_1d(axes))
    z_teacher = teacher.transform(X_teacher)
    pca = PCA(2, random_state=0).fit(z_teacher)
    teacher_2d = pca.transform(z_teacher)
    classes = list(teacher.classes_)
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    y_teacher, y_student = np.asarray(y_teacher), np.asarray(y_student)

    def colour(labels):
        return [colours(classes.index(v) % colours.N) if v in classes else "0.6" for v in labels]

    for ax, (title, model) in zip(axes, models, strict=False):
        student_2d = pca.transform(model.transform(X_student))
        ax.scatter(*teacher_2d.T, c=colour(y_teacher), s=8, alpha=0.25, label="teacher")
        ax.scatter(*student_2d.T, c=colour(y_student), s=18, marker="x", label="student")
        ax.set_title(f"{title}: teacher (dots), student (crosses)")
        ax.set_xlabel("PC 1 of the teacher embeddings")
        ax.set_ylabel("PC 2")
    return axes


def plot_history(distiller, *, ax=None):
    """The loss terms per epoch: cross-entropy, feature and label alignment, neighbours.

    Parameters
    ----------
    distiller : CrossModalDistiller, SafeAlignment or UnseenClassNamer
        Fitted.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    distiller = final_distiller(distiller)  # a meta-estimator: the net it predicts with
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    history = distiller.history_
    epochs = history[:, "epoch"]
    names = {
        "ce": "cross-entropy (labelled rows)",
        **{term.name: term.title for term in distiller.net_.criterion_.terms},
    }
    for key, label in names.items():
        if key in history[-1]:  # a term whose weight was zero was not computed
            ax.plot(epochs, history[:, key], label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss term (epoch mean)")
    ax.set_yscale("symlog", linthresh=1e-3)  # terms can be exactly 0
    ax.legend()
    return ax
