"""The neighbour table: exact, or approximate (faiss HNSW) beyond max_exact_rows."""

import sys

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

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


def test_large_data_gets_approximate_neighbours_from_faiss():
    pytest.importorskip("faiss")
    X, y = _rows()
    table = neighbor_table(X, 5, max_exact_rows=100)
    assert table.shape == (600, 5) and table.dtype == np.int64
    assert not (table == np.arange(600)[:, None]).any()  # never the row itself
    exact = _exact(X, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(table, exact, strict=True)])
    assert recall > 0.8
    assert (y[table] == y[:, None]).mean() > 0.95  # close rows: the term's need
    assert np.array_equal(table, neighbor_table(X, 5, algorithm="faiss"))  # the same graph


def test_without_faiss_large_data_is_searched_exactly_with_a_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    X, _ = _rows()
    with pytest.warns(UserWarning, match=r"skcmkd\[scale\]") as record:
        table = neighbor_table(X, 5, max_exact_rows=100)
    assert np.array_equal(table, _exact(X, 5))
    assert record[0].filename == __file__  # it names the caller's line
    with pytest.raises(ImportError, match=r"needs faiss: pip install 'skcmkd\[scale\]'"):
        neighbor_table(X, 5, algorithm="faiss")


def test_a_single_row_is_its_own_neighbour():
    assert np.array_equal(neighbor_table(np.zeros((1, 3)), 5), [[0]])


def test_a_fit_with_approximate_neighbours_trains_and_says_so():
    pytest.importorskip("faiss")
    X, y = _rows()
    model = CrossModalDistiller(neighbor_algorithm="faiss", max_epochs=2, random_state=0)
    model.fit(X, np.where(np.arange(600) < 40, y, -1))
    assert "nc" in model.history_[-1] and np.isfinite(model.history_[-1, "nc"])
    assert model.neighbor_algorithm_ == "faiss"
    model.set_params(neighbor_algorithm="auto").fit(X, np.where(np.arange(600) < 40, y, -1))
    assert model.neighbor_algorithm_ == "exact"  # 600 rows: within the exact size
    assert model.fit(X, y).neighbor_algorithm_ is None  # every row labelled: no neighbour term


def test_approximate_neighbours_of_duplicated_rows_are_other_rows():
    pytest.importorskip("faiss")
    X = np.repeat(_rows(n=60)[0], 10, axis=0)  # every row ten times
    table = neighbor_table(X, 5, algorithm="faiss")
    assert not (table == np.arange(600)[:, None]).any()
    assert all(len(set(row)) == 5 for row in table)
