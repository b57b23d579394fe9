"""The random draw's lottery cache (随机抽取): a lottery depends on the problem and q, not on the seed,
so it is built once and every draw after that is instant.

The solver keeps no cache and touches no file; this module keeps lotteries in memory (the last few)
and, with a `cache_dir`, as `cache_dir/lottery-<key>.npz`, keyed by `solver.lottery_key` (a hash of
the compiled problem's arrays, q, the build parameters and the lottery code version). A file that
cannot be read, or whose data do not fit the problem, is rebuilt and overwritten, never drawn from.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from solver.compile import compile_problem
from solver.lottery import Lottery, lottery_from_data, lottery_key, lottery_to_data
from solver.model import PanelProblem, Plan, SolveOptions
from solver.randomized import build_lottery

MEMORY_SIZE = 8
_MEMORY: "OrderedDict[str, Lottery]" = OrderedDict()
# what reading a damaged .npz can raise (np.load, the JSON meta, lottery_from_data's checks)
_UNREADABLE = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile)


def cache_path(cache_dir, key: str) -> Path:
    return Path(cache_dir) / f"lottery-{key}.npz"


def cached_lottery(problem: PanelProblem, q: float = 0.5, options: SolveOptions | None = None, cache_dir=None, *,
                   build: Callable = build_lottery, **params) -> Lottery | Plan:
    """`build(problem, q, options, comp=..., **params)` (default solver.build_lottery), or the same
    lottery from memory or from `cache_dir` when the inputs are the same. The result's `cache_hit`
    says where it came from (None = built now, "memory", "disk"); a draw reports it as
    info["lottery_cache"]. An INFEASIBLE Plan (no plan exists) is returned and not cached.
    A cache_dir that cannot be written leaves the lottery in memory only."""
    options = options or SolveOptions()
    comp = compile_problem(problem, options.scale, options.stages)
    key = lottery_key(comp, q, **params)
    lot = _MEMORY.get(key)
    if lot is not None:
        _MEMORY.move_to_end(key)
        # an equal problem (same key) may be another object with other stage names: draw over this one
        return replace(lot, comp=lot.comp if lot.comp.problem is problem else comp, cache_hit="memory")
    path = cache_path(cache_dir, key) if cache_dir is not None else None
    if path is not None:
        lot = _load(comp, path, key)
        if lot is not None:
            _remember(key, lot)
            return replace(lot, cache_hit="disk")
    lot = build(problem, q, options, comp=comp, **params)
    if isinstance(lot, Plan):
        return lot
    lot.key = key
    lot.cache_hit = None
    _remember(key, lot)
    if path is not None:
        try:
            _save(lot, path)
        except OSError:  # a read-only home: the lottery stays in memory
            pass
    return lot


def clear_cache(cache_dir=None) -> None:
    """Forget the lotteries in memory (and delete the lottery files of `cache_dir`, if given)."""
    _MEMORY.clear()
    if cache_dir is not None:
        for f in Path(cache_dir).glob("lottery-*.npz"):
            f.unlink()


def _remember(key: str, lot: Lottery) -> None:
    _MEMORY[key] = lot
    _MEMORY.move_to_end(key)
    while len(_MEMORY) > MEMORY_SIZE:
        _MEMORY.popitem(last=False)


def _load(comp, path: Path, key: str) -> Lottery | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return lottery_from_data(comp, {k: z[k] for k in z.files}, key=key)
    except _UNREADABLE:
        return None


def _save(lot: Lottery, path: Path) -> None:
    """Atomic write: a temporary file in the same folder, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lottery-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **lottery_to_data(lot))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
