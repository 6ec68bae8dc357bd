"""Each student row's nearest neighbours in the input space, for the neighbour term.

The neighbour consistency (:class:`~skcmkd.terms.NeighborConsistency`) pulls
each row's embedding toward one of its nearest neighbours, found once per
fit. Up to :data:`EXACT_MAX_ROWS` rows, scikit-learn's exact
:class:`~sklearn.neighbors.NearestNeighbors` finds them. An exact search
costs the square of the rows: about a minute at 10^5 rows on two cores, two
hours at 10^6. Beyond that size, with faiss installed
(``pip install "skcmkd[scale]"``), an approximate HNSW graph
(``faiss.IndexHNSWFlat``) finds them in minutes; the term needs rows that lie
close, not the very closest (``docs/performance.md`` measures both). Without
faiss the exact search runs, with a warning that says how to make it fast.
"""

import warnings

import numpy as np
from sklearn.neighbors import NearestNeighbors

__all__ = ["EXACT_MAX_ROWS", "neighbor_table", "settings", "warn_slow_search"]

#: Rows up to which the neighbours are exact (scikit-learn), whatever is installed.
EXACT_MAX_ROWS = 50_000
#: The HNSW graph's links per node, and the candidates kept while building and searching.
HNSW_LINKS, HNSW_BUILD, HNSW_SEARCH = 16, 40, 32


def neighbor_table(X, n_neighbors, *, warn=True):
    """Indices of each row's ``n_neighbors`` nearest other rows (Euclidean).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Standardised student rows.
    n_neighbors : int
        Neighbours per row; at most ``n_samples - 1`` are returned.
    warn : bool, default=True
        Warn where the search is exact beyond :data:`EXACT_MAX_ROWS` rows
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
    if len(X) > EXACT_MAX_ROWS:
        faiss = _faiss()
        if faiss is not None:
            return _hnsw_table(faiss, X, k)
        if warn:
            warn_slow_search(len(X), stacklevel=2)
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)


def warn_slow_search(n_rows, stacklevel=1):
    """Warn where a table of ``n_rows`` rows would be searched exactly beyond :data:`EXACT_MAX_ROWS`.

    That is, where faiss is not installed. ``stacklevel`` counts as
    :func:`warnings.warn`'s does, from the caller of this function.
    """
    if n_rows > EXACT_MAX_ROWS and _faiss() is None:
        warnings.warn(
            f"Finding exact nearest neighbours of {n_rows:,} rows costs the square of the "
            "rows (hours at a million). pip install 'skcmkd[scale]' (faiss) finds "
            "approximate ones in minutes; or set neighbor_weight=0 to skip the neighbour "
            "term.",
            stacklevel=stacklevel + 1,
        )


def settings():
    """The module settings a table depends on besides its inputs (part of :mod:`skcmkd.cache`'s key)."""
    return (EXACT_MAX_ROWS, HNSW_LINKS, HNSW_BUILD, HNSW_SEARCH)


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
