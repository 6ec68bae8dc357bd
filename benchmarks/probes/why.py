"""Look inside one distillation: what the teacher's transport hands to unlabelled rows.

For one pair and split (fac -> fou, seed 0, 5 labels per class) this fits the
distiller with its defaults and measures, using the true labels of the
unlabelled student rows (hidden from the model, used here only to explain):

- the loss terms over training (from the history);
- how much of the transport plan between unlabelled student embeddings and
  teacher embeddings lands on a teacher point of the *right* class: the
  quality of the only signal the teacher sends to unlabelled rows;
- accuracy on the unlabelled rows of the student head and of the teacher
  head at the same student embeddings;
- a 2-D picture of teacher and student embeddings (PCA of the teacher bank),
  coloured by class.

Writes docs/why.md and docs/why.png.

    python benchmarks/probes/why.py
"""

from pathlib import Path

import numpy as np
import ot
import torch
from sklearn.decomposition import PCA

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat_unpaired

TEACHER_VIEW, STUDENT_VIEW, SEED = "fac", "fou", 0


def plan_class_accuracy(z_student, y_student, bank, bank_labels, scale, rng):
    """Share of exact-OT mass (features only) that joins rows of the same class."""
    take = rng.choice(len(bank), size=len(z_student), replace=False)
    cost = ot.dist(z_student, bank[take]) / scale
    plan = ot.emd(
        np.full(len(z_student), 1 / len(z_student)), np.full(len(take), 1 / len(take)), cost
    )
    same = y_student[:, None] == bank_labels[take][None, :]
    return float((plan * same).sum())


def main():
    data = load_mfeat_unpaired(TEACHER_VIEW, STUDENT_VIEW, labels_per_class=5, random_state=SEED)
    X_s, y_s, y_true = data.X_student, data.y_student, data.y_student_true
    unlabelled = y_s == -1
    rng = np.random.RandomState(0)

    rows, embeddings = [], {}
    distiller = CrossModalDistiller(random_state=SEED)
    distiller.set_teacher(data.X_teacher, data.y_teacher)
    teacher = distiller.teacher
    for name, params in [
        (
            "teacher head, no alignment",
            dict(feature_weight=0.0, neighbor_weight=0.0, head_init="teacher"),
        ),
        ("feature alignment, no neighbour consistency", dict(neighbor_weight=0.0)),
        ("skcmkd defaults (feature alignment + neighbour consistency)", {}),
    ]:
        model = CrossModalDistiller(teacher=teacher, random_state=SEED, **params).fit(X_s, y_s)
        z = model.transform(X_s)
        embeddings[name] = z
        # what the student was aligned to: the bank, its class arrangement
        # evened out by teacher_relations_, and the head refitted on it
        target = model.net_.criterion_.target or teacher.alignment_target(1.0)
        bank = target.bank if target.shift is None else target.bank + target.shift[target.labels]
        head = z[unlabelled] @ target.head_weight.numpy().T + target.head_bias.numpy()
        student_acc = np.mean(model.predict(X_s[unlabelled]) == y_true[unlabelled])
        teacher_head_acc = np.mean(teacher.classes_[head.argmax(1)] == y_true[unlabelled])
        plan_acc = plan_class_accuracy(
            z[unlabelled], y_true[unlabelled], bank, target.labels, target.cost_scale, rng
        )
        history = model.history_
        fa = [history[i].get("fa", np.nan) for i in (0, -1)]
        rows.append((name, student_acc, teacher_head_acc, plan_acc, *fa, history[-1]["ce"]))

    lines = [
        "# Inside one unpaired distillation",
        "",
        f"{TEACHER_VIEW} -> {STUDENT_VIEW}, seed {SEED}, 5 labels per class; measured on the "
        f"{unlabelled.sum()} unlabelled student training rows with their true labels "
        "(hidden from the model).",
        "",
        "| student | student head accuracy | teacher head at student embeddings | "
        "OT mass on the right class | FA first epoch | FA last epoch | CE last epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, *values in rows:
        cells = ("-" if np.isnan(v) else f"{v:.3f}" for v in values)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "'OT mass on the right class': exact transport (feature cost only) between the",
        "unlabelled student embeddings and as many teacher embeddings; the share of the",
        "plan's mass that joins two digits of the same class. It is the accuracy of the",
        "labels that transport could hand to the unlabelled rows. The teacher side is",
        "what each student was aligned to: the teacher's target, which with the default",
        "`teacher_relations=1` is the teacher's bank as it is. FA is not computed",
        "without alignment ('-').",
        "",
        "![teacher and student embeddings](why.png)",
        "",
        "Reproduce: `python benchmarks/probes/why.py`",
        "",
    ]
    out = Path(__file__).resolve().parents[2] / "docs"
    (out / "why.md").write_text("\n".join(lines))
    _plot(teacher, embeddings, y_true, out / "why.png")
    print("\n".join(lines))


def _plot(teacher, embeddings, y_true, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pca = PCA(2, random_state=0).fit(teacher.bank_)
    bank_2d = pca.transform(teacher.bank_)
    fig, axes = plt.subplots(
        1, len(embeddings) + 1, figsize=(4 * (len(embeddings) + 1), 4), sharex=True, sharey=True
    )
    colours = plt.get_cmap("tab10")
    axes[0].scatter(*bank_2d.T, c=colours(teacher.bank_labels_), s=4)
    axes[0].set_title(f"teacher bank ({TEACHER_VIEW})")
    for ax, (name, z) in zip(axes[1:], embeddings.items(), strict=True):
        ax.scatter(*bank_2d.T, c="lightgrey", s=3)
        ax.scatter(*pca.transform(z).T, c=colours(y_true), s=4)
        ax.set_title(f"student ({STUDENT_VIEW}): {name}", fontsize=9)
    fig.suptitle("PCA of the teacher's latent space; colour = true digit")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
