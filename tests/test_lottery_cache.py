"""The random draw's lottery cache (reviewer.panels.lottery_cache): hits, misses, damaged files."""
from dataclasses import replace

import numpy as np
import pytest

from reviewer.panels import lottery_cache
from reviewer.panels.lottery_cache import cache_path, cached_lottery, clear_cache
from solver import SolveOptions, check_plan, lottery_key
from solver.randomized import build_lottery
from solver.lottery import LOTTERY_VERSION
from solver.synthetic import guangxi_round

PARAMS = dict(time_limit=30, spread_plans=2, n_decompositions=2, method="fast")  # small and quick


@pytest.fixture(scope="module")
def round_():
    return guangxi_round(6, 100, (6, 3), (5, 7), seed=11)


@pytest.fixture
def builds(monkeypatch):
    """Counts the real builds behind the cache; every test starts with an empty memory."""
    calls = []

    def build(*a, **k):
        calls.append(k)
        return build_lottery(*a, **k)

    clear_cache()
    yield calls, build
    clear_cache()


def _same(a, b):
    return np.array_equal(a.weights, b.weights) and all(np.array_equal(x, y) for x, y in zip(a.plans, b.plans))


def test_hit_in_memory_then_on_disk(round_, tmp_path, builds):
    calls, build = builds
    a = cached_lottery(round_, 0.5, SolveOptions(), tmp_path, build=build, **PARAMS)
    assert a.cache_hit is None and len(calls) == 1 and "comp" in calls[0]  # compiled once, handed to the build
    key = lottery_key(round_, 0.5, **PARAMS)
    assert a.key == key and cache_path(tmp_path, key).exists()
    assert [f.name for f in tmp_path.iterdir()] == [f"lottery-{key}.npz"]  # no temporary file left
    b = cached_lottery(round_, 0.5, SolveOptions(), tmp_path, build=build, **PARAMS)
    assert b.cache_hit == "memory" and len(calls) == 1 and _same(a, b)
    clear_cache()  # memory only
    c = cached_lottery(round_, 0.5, SolveOptions(), tmp_path, build=build, **PARAMS)
    assert c.cache_hit == "disk" and len(calls) == 1 and _same(a, c)
    for seed in (0, 5, 42):
        x, y = a.draw(seed), c.draw(seed)
        assert all(u.pairs() == v.pairs() for u, v in zip(x.stages, y.stages))
        assert check_plan(round_, y) == []
    assert c.draw(1).info["lottery_cache"] == "disk"


def test_equal_problem_object_draws_with_its_own_names(round_, tmp_path, builds):
    calls, build = builds
    cached_lottery(round_, 0.5, cache_dir=tmp_path, build=build, **PARAMS)
    renamed = replace(round_, stages=tuple(replace(s, name=f"阶段{i}") for i, s in enumerate(round_.stages)))
    lot = cached_lottery(renamed, 0.5, cache_dir=tmp_path, build=build, **PARAMS)
    assert lot.cache_hit == "memory" and len(calls) == 1  # stage names are not part of the problem's content
    assert lot.comp.problem is renamed and lot.draw(3).stages[0].name == "阶段0"


def test_changed_input_misses(round_, tmp_path, builds):
    calls, build = builds
    cached_lottery(round_, 0.5, cache_dir=tmp_path, build=build, **PARAMS)
    cached_lottery(round_, 0.6, cache_dir=tmp_path, build=build, **PARAMS)  # another q
    aff = np.asarray(round_.affinity).copy()
    aff[0, 0] += 0.5
    cached_lottery(replace(round_, affinity=aff), 0.5, cache_dir=tmp_path, build=build, **PARAMS)
    cached_lottery(round_, 0.5, cache_dir=tmp_path, build=build, **dict(PARAMS, spread_plans=0))  # another parameter
    assert len(calls) == 4 and len(list(tmp_path.glob("lottery-*.npz"))) == 4


@pytest.mark.parametrize("damage", ["garbage", "truncated", "inconsistent", "other_version"])
def test_damaged_file_is_rebuilt(round_, tmp_path, builds, damage):
    calls, build = builds
    a = cached_lottery(round_, 0.5, cache_dir=tmp_path, build=build, **PARAMS)
    path = cache_path(tmp_path, a.key)
    if damage == "garbage":
        path.write_bytes(b"not a lottery")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
        if damage == "inconsistent":
            data["seats"] = data["seats"] + 10 ** 9  # seats of no candidate
        else:
            data["meta"] = np.array(str(data["meta"]).replace(f'"{LOTTERY_VERSION}"', '"old-version"'))
        np.savez_compressed(path, **data)
    clear_cache()
    b = cached_lottery(round_, 0.5, cache_dir=tmp_path, build=build, **PARAMS)
    assert b.cache_hit is None and len(calls) == 2 and _same(a, b)
    clear_cache()
    c = cached_lottery(round_, 0.5, cache_dir=tmp_path, build=build, **PARAMS)  # the file was rewritten
    assert c.cache_hit == "disk" and len(calls) == 2


def test_unwritable_cache_dir_keeps_memory(round_, tmp_path, builds):
    calls, build = builds
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the folder should be
    a = cached_lottery(round_, 0.5, cache_dir=blocker / "cache", build=build, **PARAMS)
    assert a.cache_hit is None
    assert cached_lottery(round_, 0.5, cache_dir=blocker / "cache", build=build, **PARAMS).cache_hit == "memory"


def test_infeasible_problem_is_not_cached(tmp_path, builds):
    calls, build = builds
    p = guangxi_round(6, 100, (6,), (5,), seed=1, relax_small_panels=False)  # contradictory rules
    for _ in range(2):
        res = cached_lottery(p, 0.5, cache_dir=tmp_path, build=build, **PARAMS)
        assert res.status == "INFEASIBLE" and res.diagnostics
    assert len(calls) == 2 and not list(tmp_path.iterdir())


def test_memory_keeps_the_last_few(round_, builds, monkeypatch):
    calls, build = builds
    monkeypatch.setattr(lottery_cache, "MEMORY_SIZE", 1)
    cached_lottery(round_, 0.5, build=build, **PARAMS)
    cached_lottery(round_, 0.6, build=build, **PARAMS)
    cached_lottery(round_, 0.5, build=build, **PARAMS)
    assert len(calls) == 3
