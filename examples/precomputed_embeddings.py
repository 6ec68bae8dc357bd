"""
Embeddings from files on both sides: a walkthrough
==================================================

Many users come with embeddings their own encoders computed once: an image
model on the teacher's side, an audio or text model on the student's, each
saved to a file. This example walks that path end to end: the embedding
files, the teacher given as ``encoder="precomputed"``, the student trained
on its embeddings, a grid search over the alignment weight on its few
labels, and the controls that say whether the teacher carries anything.

No pretrained encoder is downloaded here (this example must run offline), so
two encoders trained on the bundled UCI Multiple Features digits stand in
for yours, and say so:

- the teacher's side: the 240 pixel averages (``pix``) of some digits,
  through the hidden layer of a small MLP classifier trained on them (a
  supervised image encoder);
- the student's side: the 76 Fourier coefficients (``fou``) of *other*
  digits, through a PCA fitted without labels (an unsupervised signal
  encoder), with 5 labels per class.

No digit is on both sides. With your own files, start at "Distil from the
files".
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat_unpaired
from skcmkd.diagnostics import teacher_contribution
from skcmkd.model_selection import LabeledStratifiedKFold

data = load_mfeat_unpaired("pix", "fou", labels_per_class=5, random_state=0)

# %%
# Two encoders write two files
# ----------------------------

# %%
image_model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
image_model.fit(data.X_teacher / 6.0, data.y_teacher)  # pixel averages range 0-6


def image_embeddings(X):
    """The MLP's hidden layer: ReLU(X W + b)."""
    return np.maximum(X / 6.0 @ image_model.coefs_[0] + image_model.intercepts_[0], 0.0)


signal_model = PCA(n_components=16, random_state=0).fit(data.X_student)  # no labels used

files = tempfile.TemporaryDirectory()  # removed when the script ends
directory = Path(files.name)
np.save(directory / "teacher_embeddings.npy", image_embeddings(data.X_teacher))
np.save(directory / "teacher_labels.npy", data.y_teacher)
np.save(directory / "student_embeddings.npy", signal_model.transform(data.X_student))
np.save(directory / "student_labels.npy", data.y_student)  # -1: no label
np.save(directory / "student_test_embeddings.npy", signal_model.transform(data.X_test))
print(sorted(p.name for p in directory.iterdir()))

# %%
# Distil from the files
# ---------------------
#
# The teacher's embeddings are opened as a memory map and used in place;
# ``encoder="precomputed"`` fits only a linear head on them. The student's
# embeddings are ordinary features for the distiller.

# %%
teacher_z = np.load(directory / "teacher_embeddings.npy", mmap_mode="r")
teacher_y = np.load(directory / "teacher_labels.npy")
X = np.load(directory / "student_embeddings.npy")
y = np.load(directory / "student_labels.npy")
X_test = np.load(directory / "student_test_embeddings.npy")

distiller = CrossModalDistiller(max_epochs=40, random_state=0)
distiller.set_teacher(teacher_z, teacher_y, encoder="precomputed")
print(distiller.teacher)
distiller.fit(X, y)
alone = CrossModalDistiller(max_epochs=40, random_state=0).fit(X, y)
print(f"student alone:     {alone.score(X_test, data.y_test):.3f}")
print(f"distilled student: {distiller.score(X_test, data.y_test):.3f}")

# %%
# A grid search on the few labels
# -------------------------------
#
# Each candidate is one net with its own weight, sharing the one fitted
# teacher; ``LabeledStratifiedKFold`` validates on labelled rows only and
# keeps every unlabelled row in every training fold.

# %%
search = GridSearchCV(
    distiller,
    {"feature_weight": [0.0, 1.0, 5.0]},
    cv=LabeledStratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X, y)
print("feature_weight chosen:", search.best_params_["feature_weight"])
print(f"its held-out accuracy: {search.score(X_test, data.y_test):.3f}")

# %%
# Does the teacher carry anything?
# --------------------------------
#
# A teacher of labelled random noise gives the student well-separated
# clusters too; only what the real teacher adds over it is the teacher's own
# knowledge. ``teacher_contribution`` fits the same distiller with the real
# teacher, the noise teacher, the teacher with its classes permuted, and no
# teacher, on the same folds of the labelled rows (the noise teacher is an
# ``"mlp"`` teacher of labelled noise, into the same latent width).

# %%
report = teacher_contribution(distiller, teacher_z, teacher_y, X, y, cv=3)
print(report)
