"""
A teacher you already ran: precomputed embeddings, memory-mapped
================================================================

Often the teacher is a large model (an image encoder, a sentence encoder)
that you ran once over its data set and whose embeddings sit on disk. Pass
them with ``set_teacher(..., encoder="precomputed")``: skcmkd fits only a linear head on
them and aligns the student into that embedding space. A ``.npy`` file opened
with ``np.load(mmap_mode="r")`` is used in place, not copied.

Here the "large model" is a stand-in: a PCA with whitening of the pixel view
(``pix``) of the UCI Multiple Features digits. The student sees the Zernike
moments (``zer``) of *other* digits, with 5 labels per class.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat_unpaired

data = load_mfeat_unpaired("pix", "zer", labels_per_class=5, random_state=0)
encoder = PCA(32, whiten=True, random_state=0).fit(data.X_teacher)
directory = Path(tempfile.mkdtemp())
np.save(directory / "teacher_embeddings.npy", encoder.transform(data.X_teacher).astype(np.float32))
np.save(directory / "teacher_labels.npy", data.y_teacher)

# %%
# Distil from the file
# --------------------
#
# The embeddings are opened as a memory map; the teacher keeps a view of it,
# and teacher batches are drawn from it row by row during training.

# %%
embeddings = np.load(directory / "teacher_embeddings.npy", mmap_mode="r")
labels = np.load(directory / "teacher_labels.npy")
distiller = CrossModalDistiller(random_state=0)
distiller.set_teacher(embeddings, labels, encoder="precomputed")
print(distiller.teacher)
print("bank shares the file's memory:", np.shares_memory(distiller.teacher.bank_, embeddings))

distiller.fit(data.X_student, data.y_student)
alone = CrossModalDistiller(random_state=0).fit(data.X_student, data.y_student)
print(f"student alone:     {alone.score(data.X_test, data.y_test):.3f}")
print(f"distilled student: {distiller.score(data.X_test, data.y_test):.3f}")

# %%
# The student's embeddings live in the teacher's space: ``transform`` gives
# 32 numbers per row, comparable with the file's embeddings.

# %%
print("student embeddings:", distiller.transform(data.X_test[:5]).shape)
print("names:", distiller.get_feature_names_out()[:3], "...")
