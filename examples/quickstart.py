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

from skcmkd import CrossModalDistiller, make_safe_distiller
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
# the same student net with the alignment terms added. Each ``fit`` trains one
# net with the parameters it is given (``n_trainings_``).

# %%
alone = CrossModalDistiller(random_state=0).fit(X_student, y_student)
distiller = CrossModalDistiller(random_state=0).set_teacher(X_teacher, y_teacher)
distiller.fit(X_student, y_student)
print(f"student alone:     {alone.score(X_test, y_test):.3f}")
print(f"distilled student: {distiller.score(X_test, y_test):.3f} ({distiller.n_trainings_} net)")

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
# The recommended default: checked, with a fall-back
# --------------------------------------------------
#
# The alignment helps where rows that lie close in the student's input space
# share a class, and hurts where they share something else (a voice, a
# sensor). ``make_safe_distiller`` wraps the distiller in ``SafeAlignment``,
# which checks that on the labelled rows before the final fit (a cluster
# check, then students trained with and without the alignment on held-out
# folds) and otherwise falls back to the student alone combined with a
# logistic regression, and in ``UnseenClassNamer``, which names classes that
# have no labelled row. ``decision_`` says what was decided and on what
# numbers; the teacher fitted above is reused.

# %%
safe = make_safe_distiller(teacher=distiller.teacher, random_state=0)
safe.fit(X_student, y_student)
print(f"safe default:      {safe.score(X_test, y_test):.3f} ({safe.n_trainings_} nets)")
print(safe.decision_.branch, "-", safe.decision_.reason)

# %%
# Grid-searching the alignment weight
# -----------------------------------
#
# Every candidate is a clone that shares the fitted teacher: the teacher is
# trained once, not once per candidate and fold, and each candidate is one
# net with its own weight. ``LabeledStratifiedKFold`` folds the labelled rows
# only: every unlabelled row stays in every training fold for the alignment,
# and no validation fold holds a row labelled -1, so any ``scoring=`` is right.

# %%
search = GridSearchCV(
    distiller.set_params(max_epochs=30),
    {"feature_weight": [0.0, 1.0, 5.0]},
    cv=LabeledStratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X_student, y_student)
print("best feature_weight:", search.best_params_["feature_weight"])
print("same teacher object:", search.best_estimator_.teacher is distiller.teacher)
print("embeddings in the teacher's space:", distiller.transform(X_test[:3]).shape)
