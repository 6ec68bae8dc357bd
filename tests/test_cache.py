"""What a fit computes from the student rows alone is remembered for the next fit (issue 19)."""

import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skcmkd._distiller
import skcmkd.cache
from skcmkd import CrossModalDistiller, neighbors
from skcmkd.cache import cache_info, clear_cache, remembered

from .conftest import FAST, TEACHER_FAST


@pytest.fixture(autouse=True)
def empty_cache():
    clear_cache()
    yield
    clear_cache()


def _counted(calls, value):
    def compute():
        calls.append(1)
        return value

    return compute


def test_the_same_inputs_are_computed_once_and_each_caller_gets_its_own_copy():
    calls, X = [], np.arange(6.0).reshape(3, 2)
    first = remembered("step", (X, 3, "a", None), _counted(calls, {"table": np.zeros(2)}))
    first["table"][0] = 99  # a caller changing what it got
    again = remembered("step", (X.copy(), 3, "a", None), _counted(calls, None))
    assert len(calls) == 1 and again["table"][0] == 0
    assert cache_info() == {"hits": 1, "misses": 1, "entries": 1}


@pytest.mark.parametrize(
    "other",
    [
        (np.arange(6.0).reshape(2, 3), 3),  # same bytes, another shape
        (np.arange(6, dtype=np.float32).reshape(3, 2), 3),  # another dtype
        (np.arange(6.0).reshape(3, 2), 4),  # another setting
        (np.arange(6.0).reshape(3, 2), 3.0),  # 3 and 3.0 are other inputs
    ],
)
def test_other_inputs_are_computed_again(other):
    calls = []
    remembered("step", (np.arange(6.0).reshape(3, 2), 3), _counted(calls, 1))
    remembered("step", other, _counted(calls, 2))
    assert len(calls) == 2


def test_inputs_that_cannot_be_keyed_are_computed_every_time():
    calls = []
    for _ in range(2):
        remembered("step", (np.random.RandomState(0),), _counted(calls, 1))
        remembered("step", (np.array([object()]),), _counted(calls, 1))
    assert len(calls) == 4 and cache_info()["entries"] == 0


def test_only_the_most_recent_results_are_kept(monkeypatch):
    monkeypatch.setattr(skcmkd.cache, "MAX_ENTRIES", 2)
    calls = []
    for value in (1, 2, 3, 1):  # 1 was dropped when 3 came
        remembered("step", (value,), _counted(calls, value))
    assert len(calls) == 4 and cache_info()["entries"] == 2
    monkeypatch.setattr(skcmkd.cache, "MAX_ENTRIES", 0)
    remembered("step", (3,), _counted(calls, 3))
    assert len(calls) == 5  # 0 keeps nothing


def test_a_second_fit_of_the_same_rows_reuses_the_checks_and_predicts_the_same(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**{**FAST, "unlabeled_trust": "auto"}).fit(X, y)
    assert model.checks_["clusters"] is not None  # the neighbour term asked for the check
    misses = cache_info()["misses"]
    again = clone(model).fit(X, y)
    assert cache_info()["misses"] == misses and cache_info()["hits"] >= 1
    assert str(again.checks_) == str(model.checks_)
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    clear_cache()
    fresh = clone(model).fit(X, y)
    assert np.array_equal(fresh.predict_proba(X), model.predict_proba(X))


def test_one_fit_builds_a_neighbour_table_once_for_its_check_and_its_model(unpaired, monkeypatch):
    """150 rows: the held-out check's aligned students and the final model share one table."""
    built = []

    def counted(X, k, **options):
        built.append(len(X))
        return neighbors.neighbor_table(X, k, **options)

    monkeypatch.setattr(skcmkd._distiller, "neighbor_table", counted)
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**{**FAST, "unlabeled_trust": "auto"})
    model.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], **TEACHER_FAST)
    model.fit(X, y)
    assert model.checks_["holdout"] is not None  # three aligned students were trained
    assert built == [len(X)]  # 150 rows: the students see every row, in the same order


def test_changed_module_settings_are_other_inputs(unpaired, monkeypatch):
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**FAST)
    model.fit(X, y)
    misses = cache_info()["misses"]
    monkeypatch.setattr(neighbors, "EXACT_MAX_ROWS", 100)  # approximate search beyond 100 rows
    clone(model).fit(X, y)
    assert cache_info()["misses"] == misses + 1


def test_a_fit_that_reuses_a_neighbour_table_still_warns_of_the_exact_search(unpaired, monkeypatch):
    """The warning is about the rows, not about the search run: every fit says it, at the fit."""
    monkeypatch.setattr(neighbors, "EXACT_MAX_ROWS", 100)  # the 150 rows count as large
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    X, y = unpaired["X_student"], unpaired["y_student"]
    model = CrossModalDistiller(**FAST)
    for _ in range(2):
        with pytest.warns(UserWarning, match=r"skcmkd\[scale\]") as caught:
            clone(model).fit(X, y)
        assert [w.filename for w in caught if "skcmkd[scale]" in str(w.message)] == [__file__]
    assert cache_info()["hits"] >= 1  # the second fit reused the table


def test_a_grid_search_checks_each_training_fold_once(unpaired):
    X, y = unpaired["X_student"], unpaired["y_student"]
    search = GridSearchCV(
        CrossModalDistiller(**{**FAST, "unlabeled_trust": "auto"}),
        {"neighbor_weight": [50.0, 100.0, 200.0]},
        cv=2,
    )
    search.fit(X, y)
    # per fold, the first candidate runs the cluster check and the others reuse it
    assert cache_info()["hits"] >= 2 * 2
