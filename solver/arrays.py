"""Plain array helpers shared by the model, the compiler and the plan builder (no solver logic)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def values_at(M, rows, cols, default=0.0) -> np.ndarray:
    """Values of a dense or sparse matrix at (rows[i], cols[i]); `default` for None."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if M is None:
        return np.full(len(rows), default, dtype=type(default) if not isinstance(default, bool) else bool)
    if sp.issparse(M):
        return sparse_lookup(M, rows, cols)
    return np.asarray(M)[rows, cols]


def sparse_lookup(M, rows, cols) -> np.ndarray:
    """M[rows[i], cols[i]] for a scipy.sparse matrix, vectorised (0 where nothing is stored)."""
    M = M.tocsr()
    if not M.has_sorted_indices:
        M = M.sorted_indices()
    out = np.zeros(len(rows), dtype=M.dtype)
    if len(rows) == 0 or M.nnz == 0:
        return out
    A = M.shape[1]
    indptr, indices, data = M.indptr, M.indices, M.data
    keys = np.repeat(np.arange(M.shape[0], dtype=np.int64), np.diff(indptr)) * A + indices
    q = rows * A + cols
    pos = np.searchsorted(keys, q)
    pos_c = np.minimum(pos, len(keys) - 1)
    hit = keys[pos_c] == q
    out[hit] = data[pos_c[hit]]
    return out


def per_expert(x, E, what) -> np.ndarray:
    """int or int[E] -> int64[E] (ValueError naming `what` on another shape)."""
    arr = np.asarray(x)
    if arr.ndim == 0:
        return np.full(E, int(arr), dtype=np.int64)
    if arr.shape != (E,):
        raise ValueError(f"{what} must be an int or an array of length {E}")
    return arr.astype(np.int64)


def per_category(x, K, what) -> np.ndarray:
    """int or int[K] -> int64[K] (ValueError naming `what` on another shape)."""
    arr = np.asarray(x)
    if arr.ndim == 0:
        return np.full(K, int(arr), dtype=np.int64)
    if arr.shape != (K,):
        raise ValueError(f"{what} must be an int or a sequence of {K} ints (one per category)")
    return arr.astype(np.int64)
