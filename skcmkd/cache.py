"""What a fit computes from the student rows alone, remembered for the next fit of the same rows.

Three steps of :meth:`CrossModalDistiller.fit <skcmkd.CrossModalDistiller.fit>`
depend only on the rows, the labels and the seed, not on any weight of the
loss: the cluster check (:func:`skcmkd.assumptions.check_clusters`), the
linear fall-back (:func:`skcmkd.fallback.fit_linear_fallback`) and the
neighbour table of the neighbour term (:func:`skcmkd.neighbors.neighbor_table`).
A grid search over the alignment weights fits the same rows once per
candidate, and one fit builds the same neighbour table for its held-out
check's students and, on small data, for its final model. Each result is kept
here under a hash of everything it was computed from, so that every later
call with the same inputs returns a copy of it instead of computing it again.
The result is the same either way: only time changes.

The memory holds at most :data:`MAX_ENTRIES` results per step, the most
recently used, in this process only (each worker of a parallel grid search
keeps its own). The checks' results are a few numbers and the fall-back a
few small arrays; a neighbour table is ``8 * n_rows * n_neighbors`` bytes
(40 MB for a million rows). :func:`clear_cache` empties it; :func:`cache_info`
counts.

Examples
--------
>>> from skcmkd.cache import cache_info, clear_cache
>>> clear_cache()
>>> cache_info()["entries"]
0
"""

import copy
import hashlib
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["MAX_ENTRIES", "cache_info", "clear_cache", "remembered"]

#: Results kept per step; ``0`` keeps none (every call computes).
MAX_ENTRIES = 8

_lock = threading.Lock()
_entries = {}  # step name -> OrderedDict(key -> result), most recent last
_counts = {"hits": 0, "misses": 0}


def remembered(step, inputs, compute):
    """``compute()``, or a copy of what it returned before for the same ``inputs``.

    Parameters
    ----------
    step : str
        Which step this is (its results are kept apart from other steps').
    inputs : tuple
        Everything the result depends on: arrays, numbers, strings, ``None``
        and tuples of them. Where one of them is anything else (a
        ``numpy.random.RandomState``, say), the result is computed, not kept.
    compute : callable
        Called without arguments; deterministic given ``inputs``.
    """
    key = _key(step, inputs)
    if key is None or MAX_ENTRIES <= 0:
        return compute()
    with _lock:
        kept = _entries.setdefault(step, OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            _counts["hits"] += 1
            return copy.deepcopy(kept[key])  # the caller may change what it gets
        _counts["misses"] += 1
    result = compute()
    with _lock:
        kept[key] = copy.deepcopy(result)
        while len(kept) > MAX_ENTRIES:
            kept.popitem(last=False)
    return result


def clear_cache():
    """Forget every kept result and reset the counts."""
    with _lock:
        _entries.clear()
        _counts.update(hits=0, misses=0)


def cache_info():
    """``{"hits": ..., "misses": ..., "entries": ...}`` since the last :func:`clear_cache`."""
    with _lock:
        return {**_counts, "entries": sum(len(kept) for kept in _entries.values())}


def _key(step, inputs):
    """A digest of the step and every input; ``None`` where one cannot be hashed."""
    digest = hashlib.blake2b(step.encode(), digest_size=20)
    try:
        _feed(digest, tuple(inputs))
    except TypeError:  # an object, or an array of objects
        return None
    return digest.hexdigest()


def _feed(digest, value):
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:  # its bytes are addresses, not values
            raise TypeError("cannot key an array of objects")
        array = np.ascontiguousarray(value)
        digest.update(f"array{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    elif value is None or isinstance(value, (bool, int, float, str, np.generic)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, tuple):
        digest.update(f"tuple{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        raise TypeError(f"cannot key a {type(value).__name__}")
