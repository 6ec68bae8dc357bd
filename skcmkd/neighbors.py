"""Each student row's nearest neighbours in the input space, for the neighbour term.

The neighbour consistency (:class:`~skcmkd.terms.NeighborConsistency`) pulls
each row's embedding toward one of its nearest neighbours, found once per
fit. Two searches find them (:func:`choose_algorithm`): scikit-learn's exact
:class:`~sklearn.neighbors.NearestNeighbors`, and an approximate HNSW graph
of faiss (``faiss.IndexHNSWFlat``, ``pip install "skcmkd[scale]"``). An exact
search costs the square of the rows: about a minute at 10^5 rows on two
cores, two hours at 10^6; the approximate one takes minutes, and the term
needs rows that lie close, not the very closest (``docs/performance.md``
measures both). ``"auto"`` searches exactly up to 50,000 rows and with faiss
beyond, where it is installed; without it the exact search runs, with a
warning that says how to make it fast.
"""

import numpy as np
from sklearn.neighbors import NearestNeighbors

from ._warnings import warn_user

__all__ = ["ALGORITHMS", "choose_algorithm", "neighbor_table", "warn_slow_search"]

#: The searches :func:`neighbor_table` runs, by name.
ALGORITHMS = ("auto", "exact", "faiss")
#: The HNSW graph's links per node, and the candidates kept while building and searching.
HNSW_LINKS, HNSW_BUILD, HNSW_SEARCH = 16, 40, 32


def choose_algorithm(n_rows, algorithm="auto", *, max_exact_rows=50_000):
    """The search ``"auto"`` picks for ``n_rows`` rows; the others as they are.

    Parameters
    ----------
    n_rows : int
    algorithm : {"auto", "exact", "faiss"}, default="auto"
        ``"auto"``: ``"exact"`` up to ``max_exact_rows`` rows, ``"faiss"``
        beyond where faiss is installed (``"exact"`` where it is not).
        ``"faiss"`` without faiss installed is an error that says what to
        install.
    max_exact_rows : int, default=50_000

    Returns
    -------
    algorithm : {"exact", "faiss"}
    """
    if algorithm == "faiss" and _faiss() is None:
        raise ImportError(
            "neighbor_algorithm='faiss' needs faiss: pip install 'skcmkd[scale]' (faiss-cpu), "
            "or use 'exact' or 'auto'."
        )
    if algorithm != "auto":
        return algorithm
    return "faiss" if n_rows > max_exact_rows and _faiss() is not None else "exact"


def neighbor_table(X, n_neighbors, *, algorithm="auto", max_exact_rows=50_000, warn=True):
    """Indices of each row's ``n_neighbors`` nearest other rows (Euclidean).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Standardised student rows.
    n_neighbors : int
        Neighbours per row; at most ``n_samples - 1`` are returned.
    algorithm : {"auto", "exact", "faiss"}, default="auto"
        The search (:func:`choose_algorithm`).
    max_exact_rows : int, default=50_000
        Beyond this many rows ``"auto"`` searches with faiss, where installed.
    warn : bool, default=True
        Warn where an exact search runs beyond ``max_exact_rows`` rows
        (:func:`warn_slow_search`). A caller that warns itself passes
        ``False``.

    Returns
    -------
    table : ndarray of shape (n_samples, k), int64
        Other rows' indices: a row's own index appears only where too few
        others were found (one row alone, or an approximate search that
        returned fewer than ``k``).

    Examples
    --------
    >>> import numpy as np
    >>> neighbor_table(np.array([[0.0], [1.0], [5.0], [5.5]]), 1).ravel()
    array([1, 0, 3, 2])
    """
    k = min(n_neighbors, len(X) - 1)
    if k < 1:
        return np.arange(len(X))[:, None]  # one row: its own neighbour
    if choose_algorithm(len(X), algorithm, max_exact_rows=max_exact_rows) == "faiss":
        return _hnsw_table(_faiss(), X, k)
    if warn:
        warn_slow_search(len(X), max_exact_rows=max_exact_rows)
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)


def warn_slow_search(n_rows, *, max_exact_rows=50_000):
    """Warn where ``n_rows`` rows, beyond ``max_exact_rows``, are searched exactly.

    The warning names the user's line that called into skcmkd.
    """
    if n_rows > max_exact_rows:
        warn_user(
            f"Finding exact nearest neighbours of {n_rows:,} rows costs the square of the "
            "rows (hours at a million). pip install 'skcmkd[scale]' (faiss) finds "
            "approximate ones in minutes; or set neighbor_weight=0 to skip the neighbour "
            "term.",
            UserWarning,
        )


def _faiss():
    """The faiss module, or ``None`` where it is not installed."""
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _hnsw_table(faiss, X, k):
    """Approximate neighbours from a faiss HNSW graph, each row's own index dropped."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    threads = faiss.omp_get_max_threads()
    index = faiss.IndexHNSWFlat(X.shape[1], HNSW_LINKS)
    index.hnsw.efConstruction = HNSW_BUILD
    faiss.omp_set_num_threads(1)  # built on one thread: the same graph on every run
    try:
        index.add(X)
    finally:
        faiss.omp_set_num_threads(threads)
    index.hnsw.efSearch = max(HNSW_SEARCH, k + 1)
    _, found = index.search(X, k + 1)
    # drop the row itself wherever it was found (else the farthest), keep the order
    others = (found != np.arange(len(X))[:, None]) & (found >= 0)
    order = np.argsort(~others, axis=1, kind="stable")[:, :k]
    table = np.take_along_axis(found, order, axis=1).astype(np.int64)
    return np.where(table >= 0, table, np.arange(len(X))[:, None])
