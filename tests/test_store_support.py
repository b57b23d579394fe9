"""Shared fixtures of the store tests (imported by tests/test_store*.py, test_audit*.py,
test_packs*.py, test_reproduce*.py).

`store_url` runs a test on SQLite always and on PostgreSQL when REVIEWER_TEST_PG_URL is set
(.ci/run starts a server and sets it). Without the URL the PostgreSQL variant is skipped with a
visible reason on a developer's machine, but FAILS under CI=true: CI never skips it silently.
Each PostgreSQL test gets its own schema (dropped afterwards), so tests can run in parallel.
"""
from __future__ import annotations

import os
import uuid
from functools import lru_cache
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"
AS_OF = "2026-11-01"
PG_ENV = "REVIEWER_TEST_PG_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pg_url_or_skip() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if in_ci():
            pytest.fail(f"CI=true but {PG_ENV} is not set: the PostgreSQL store tests must run in CI "
                        "(.ci/run starts PostgreSQL and sets it)")
        pytest.skip(f"PostgreSQL store tests need {PG_ENV}=postgresql+psycopg://user@host/db "
                    "(.ci/run sets it; SQLite variants ran)")
    return url


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
        return
    base = pg_url_or_skip()
    from sqlalchemy import create_engine, text
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(base)
    try:
        with eng.begin() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as e:
        pytest.fail(f"PostgreSQL at {PG_ENV} is not usable: {e}")
    try:
        yield _with_search_path(base, schema)
    finally:
        with eng.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        eng.dispose()


@lru_cache(maxsize=1)
def demo_loaded():
    """The demo round loaded once per test process (data, report)."""
    from reviewer.intake.io import load_round_from
    from reviewer.demo.pipeline import demo_policy
    from reviewer.policy import load_policy
    return load_round_from(DEMO / "round2026.xlsx", demo_policy(load_policy()))


def demo_store(url: str, code: str = "2026", user: str = "张三"):
    """A store with the demo round created and imported."""
    from reviewer.store import Store, repo
    st = Store(url)
    data, report = demo_loaded()
    with st.write() as s:
        r = repo.create_round(s, code, user=user, as_of=AS_OF)
        repo.record_import(s, r, data, report, user=user, source=str(DEMO / "round2026.xlsx"))
    return st


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """Run `reviewer ARGS` in-process; returns (exit code, stdout+stderr)."""
    from reviewer.cli.main import main
    code = 0
    try:
        main(args)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    return code, out.out + out.err


def planned_store(folder: Path, stage: str, settings: dict | None = None) -> tuple[Path, int]:
    """A SQLite store in `folder` with the demo round planned (all stages, seed 7, one worker) and
    `stage` published from that run; returns (file, run id). Built once per module, then copied.
    `settings`: round settings (meeting dates ...) recorded before planning, as staff would."""
    from reviewer.store import publishing, repo
    from reviewer.store.runs import run_planning
    path = folder / "base.sqlite"
    st = demo_store(f"sqlite:///{path}")
    if settings:
        with st.write() as s:
            repo.update_round_settings(s, repo.get_round(s, "2026"), settings, user="张三")
    run, _ = run_planning(st, "2026", user="张三", seed=7, time_limit=120, workers=1)
    assert run.status in ("OPTIMAL", "FEASIBLE")
    with st.write() as s:
        publishing.publish_run(s, repo.get_round(s, "2026"), stage, run.id, user="张三", reason="发布")
    st.dispose()
    return path, run.id


def store_copy(base: tuple[Path, int], tmp_path: Path):
    """A fresh copy of a `planned_store` for one test: (Store, file, run id); the caller disposes it."""
    import shutil

    from reviewer.store import Store
    path = tmp_path / "s.sqlite"
    shutil.copy(base[0], path)
    return Store(f"sqlite:///{path}"), path, base[1]
