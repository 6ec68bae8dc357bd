"""
Quick start: distil a teacher on one view into a student on another
===================================================================

The UCI Multiple Features data describe the same 2000 handwritten digits
with six feature extractors ("views"). We give the teacher the profile
correlations (``fac``) of some digits and the student the Fourier
coefficients (``fou``) of *other* digits, with only 5 labels per class: the
two sides never share a sample, exactly the unpaired setting.
"""

# %%
from sklearn.model_selection import GridSearchCV

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat, unpaired_split
from skcmkd.model_selection import LabeledStratifiedKFold

data = load_mfeat(["fac", "fou"])
(teacher_rows, student_rows, test_rows), y_student = unpaired_split(
    data.target, sizes=[0.4, 0.35, 0.25], labels_per_class=5, random_state=1
)
X_teacher, y_teacher = data.views["fac"][teacher_rows], data.target[teacher_rows]
X_student, y_student = data.views["fou"][student_rows], y_student.astype(int)
X_test, y_test = data.views["fou"][test_rows], data.target[test_rows]
print(f"{(y_student != -1).sum()} labelled and {(y_student == -1).sum()} unlabelled student rows")

# %%
# The student alone, then the distilled student
# ---------------------------------------------
#
# ``CrossModalDistiller()`` without a teacher trains the student net on the
# labelled rows only. ``set_teacher`` fits the teacher once; ``fit`` then trains
# the same student net with the alignment terms added.

# %%
alone = CrossModalDistiller(random_state=0).fit(X_student, y_student)
distiller = CrossModalDistiller(random_state=0).set_teacher(X_teacher, y_teacher)
distiller.fit(X_student, y_student)
print(f"student alone:     {alone.score(X_test, y_test):.3f}")
print(f"distilled student: {distiller.score(X_test, y_test):.3f}")

# %%
# Before training, ``fit`` checked the two assumptions the alignment rests on
# and set its weights from them: do rows that lie close in the student's input
# space share a class (``unlabeled_trust_``: 1 keeps the alignment at full
# weight, 0 trains as the student alone), and do the student's labelled rows
# confirm the teacher's class relations (the agreement in ``checks_``; near 0,
# expect no more from this teacher than from a teacher of labelled noise).
# Where the first check lets the alignment on, a held-out check follows:
# students trained with and without it on folds of the labelled rows predict
# the held-out labels, and the alignment stays only if it did not lose
# (``checks_["holdout"]``).

# %%
print("checks:", distiller.checks_)
print(f"trust {distiller.unlabeled_trust_:.2f}")

# %%
# The loss terms are in the skorch history, one value per epoch: cross-entropy,
# feature alignment and neighbour consistency (label alignment has weight 0
# by default, and a term of weight 0 is not computed).

# %%
history = distiller.history_
for epoch in (0, 9, len(history) - 1):
    row = history[epoch]
    terms = "  ".join(f"{name} {row[name]:.3f}" for name in ("ce", "fa", "nc"))
    print(f"epoch {epoch + 1:3d}: {terms}")

# %%
# Grid-searching the alignment weight
# -----------------------------------
#
# Every candidate is a clone that shares the fitted teacher: the teacher is
# trained once, not once per candidate and fold. ``LabeledStratifiedKFold``
# folds the labelled rows only: every unlabelled row stays in every training
# fold for the alignment, and no validation fold holds a row labelled -1, so
# any ``scoring=`` is right. The search's folds compare the candidates
# (weight 0, no alignment, among them) on held-out labels already, so
# ``unlabeled_trust=1.0`` skips the held-out check inside each fit.

# %%
search = GridSearchCV(
    distiller.set_params(max_epochs=30, unlabeled_trust=1.0),
    {"feature_weight": [0.0, 1.0, 5.0]},
    cv=LabeledStratifiedKFold(3, random_state=0),
)
search.fit(X_student, y_student)
print("best feature_weight:", search.best_params_["feature_weight"])
print("same teacher object:", search.best_estimator_.teacher is distiller.teacher)
print("embeddings in the teacher's space:", distiller.transform(X_test[:3]).shape)
