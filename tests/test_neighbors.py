"""The neighbour table: exact up to EXACT_MAX_ROWS, approximate (faiss HNSW) beyond."""

import sys

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

import skcmkd.neighbors as neighbors
from skcmkd import CrossModalDistiller
from skcmkd.neighbors import neighbor_table


def _rows(n=600, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 4
    return (4 * np.eye(8)[y] + rng.randn(n, 8)).astype(np.float32), y


def _exact(X, k):
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)


def test_small_data_gets_the_exact_neighbours():
    X, _ = _rows()
    assert np.array_equal(neighbor_table(X, 5), _exact(X, 5))


def test_large_data_gets_approximate_neighbours_from_faiss(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setattr(neighbors, "EXACT_MAX_ROWS", 100)
    X, y = _rows()
    table = neighbor_table(X, 5)
    assert table.shape == (600, 5) and table.dtype == np.int64
    assert not (table == np.arange(600)[:, None]).any()  # never the row itself
    exact = _exact(X, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(table, exact, strict=True)])
    assert recall > 0.8
    assert (y[table] == y[:, None]).mean() > 0.95  # close rows: the term's need
    assert np.array_equal(table, neighbor_table(X, 5))  # the same graph on every run


def test_without_faiss_large_data_is_searched_exactly_with_a_warning(monkeypatch):
    monkeypatch.setattr(neighbors, "EXACT_MAX_ROWS", 100)
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    X, _ = _rows()
    with pytest.warns(UserWarning, match=r"skcmkd\[scale\]"):
        table = neighbor_table(X, 5)
    assert np.array_equal(table, _exact(X, 5))


def test_a_single_row_is_its_own_neighbour():
    assert np.array_equal(neighbor_table(np.zeros((1, 3)), 5), [[0]])


def test_a_fit_beyond_the_exact_size_trains_with_approximate_neighbours(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setattr(neighbors, "EXACT_MAX_ROWS", 100)
    X, y = _rows()
    model = CrossModalDistiller(unlabeled_trust=1.0, max_epochs=2, random_state=0)
    model.fit(X, np.where(np.arange(600) < 40, y, -1))
    assert "nc" in model.history_[-1] and np.isfinite(model.history_[-1, "nc"])


def test_approximate_neighbours_of_duplicated_rows_are_other_rows(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setattr(neighbors, "EXACT_MAX_ROWS", 100)
    X = np.repeat(_rows(n=60)[0], 10, axis=0)  # every row ten times
    table = neighbor_table(X, 5)
    assert not (table == np.arange(600)[:, None]).any()
    assert all(len(set(row)) == 5 for row in table)
