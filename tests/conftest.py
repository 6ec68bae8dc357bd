"""Shared fixtures: a small unpaired slice of the bundled mfeat data."""

import os

import numpy as np
import pytest
import torch

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat, unpaired_split

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist runs one worker per core (pyproject's addopts): one torch thread each,
    # or two workers' threads would contend for the same cores
    torch.set_num_threads(1)

#: Tiny training of one distiller; the meta-estimators' tests wrap it.
FAST = dict(max_epochs=3, batch_size=64, random_state=0)
#: set_teacher arguments of a quick "mlp" teacher.
TEACHER_FAST = dict(max_epochs=5)


@pytest.fixture(scope="session")
def unpaired():
    """Teacher on ``kar`` (64 features), student on ``zer`` (47), disjoint rows.

    300 teacher rows, 150 student training rows (3 labels per class, the
    rest -1) and 100 held-out student rows.
    """
    data = load_mfeat(["kar", "zer"])
    rng = np.random.RandomState(0)
    keep = np.sort(rng.choice(2000, size=550, replace=False))
    y = data.target[keep]
    (teacher, student, test), y_student = unpaired_split(
        y, sizes=[300 / 550, 150 / 550, 100 / 550], labels_per_class=3, random_state=0
    )
    kar, zer = data.views["kar"][keep], data.views["zer"][keep]
    return {
        "X_teacher": kar[teacher],
        "y_teacher": y[teacher],
        "X_student": zer[student],
        "y_student": y_student.astype(np.int64),
        "y_student_true": y[student],
        "X_test": zer[test],
        "y_test": y[test],
    }


@pytest.fixture(scope="session")
def fitted(unpaired):
    """A distiller with an MLP teacher and a fitted student; do not mutate."""
    distiller = CrossModalDistiller(**FAST)
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    return distiller.fit(unpaired["X_student"], unpaired["y_student"])
