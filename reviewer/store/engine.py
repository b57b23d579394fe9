"""Where the store lives, opening it, and creating / upgrading its schema on first use.

The database is chosen by, in order: an explicit URL (`--db`), $REVIEWER_DB_URL, else the local
SQLite file `$REVIEWER_HOME/reviewer.sqlite`, where REVIEWER_HOME defaults to
`$XDG_DATA_HOME/mic-reviewer` (normally `~/.local/share/mic-reviewer`). A plain file path is taken
as a SQLite file. PostgreSQL: `postgresql+psycopg://user:password@host/dbname`.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from reviewer.errors import UserError, mask_url, redact
from reviewer.home import default_home, home_folder, private_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
AFTER_COMMIT = "reviewer.after_commit"   # conn.info key: {name: callable} run after a committed write
BEFORE_COMMIT = "reviewer.before_commit"  # session.info key: {name: callable(session)} run as a write's last act


def default_url() -> str:
    return f"sqlite:///{default_home() / 'reviewer.sqlite'}"


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get("REVIEWER_DB_URL") or default_url()
    if "://" not in url:  # a file path
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None   # we issue BEGIN ourselves (see _begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover
        # IMMEDIATE: a writer takes the write lock at BEGIN, so two writers queue instead of failing.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


class Store:
    """An open store: an engine plus transactions. Use `with store.write() as s:` for changes (one
    transaction: all or nothing) and `with store.read() as s:` for queries."""

    def __init__(self, url: str | None = None, *, upgrade_schema: bool = True, echo: bool = False):
        self.url = resolve_url(url)
        try:
            u = make_url(self.url)
        except ArgumentError:
            raise UserError(f"--db {mask_url(self.url)!r}: not a database URL (e.g. sqlite:///path/reviewer.sqlite "
                            "or postgresql+psycopg://user:password@host/dbname)") from None
        self.backend = u.get_backend_name()
        if self.backend == "sqlite" and u.database and u.database != ":memory:":
            if Path(u.database).parent == default_home():
                home_folder()
            private_file(u.database)   # 0600 in a 0700 folder: the store holds personal data
        try:
            self.engine = create_engine(self.url, echo=echo, future=True)
        except Exception as e:  # missing driver, bad option
            raise UserError(f"--db {self.display_url}: cannot open ({type(e).__name__}: {redact(str(e))})") from None
        if self.backend == "sqlite":
            _sqlite_pragmas(self.engine)
        if upgrade_schema:
            self.upgrade()

    @property
    def display_url(self) -> str:
        """The URL as every message shows it: the password masked (`reviewer.errors.mask_url`)."""
        return mask_url(self.url)

    def upgrade(self) -> None:
        """Create the schema on first use, or bring it to the newest migration."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
            if current == head:
                return
            script = ScriptDirectory.from_config(cfg)
            if current is not None and current not in {r.revision for r in script.walk_revisions()}:
                raise UserError(f"database {self.display_url}: its schema is at revision {current}, which this "
                                f"program does not know (its newest is {head}): it was written by a newer version "
                                "of reviewer. 数据库由更新版本的程序写入，请升级本程序后再打开 (upgrade reviewer; "
                                "nothing was changed)")
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as e:
            raise UserError(f"database {self.display_url}: cannot connect or create the schema "
                            f"({redact(str(e.orig).strip().splitlines()[0] if e.orig else str(e))})") from None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises. Work that
        must be the transaction's last act is queued in `session.info[BEFORE_COMMIT]`. Work that
        must follow the commit (the audit anchor file) is queued in `conn.info[AFTER_COMMIT]`, run
        only once the commit succeeded, and dropped on a rollback."""
        with self.engine.connect().execution_options(write=True) as conn:
            conn.info.pop(AFTER_COMMIT, None)
            try:
                with Session(bind=conn, expire_on_commit=False) as s:
                    with conn.begin():
                        yield s
                        s.flush()
                        for hook in list(s.info.pop(BEFORE_COMMIT, {}).values()):
                            hook(s)   # e.g. rows written after the last audit entry get their own entry
                        s.flush()
            except BaseException:
                conn.info.pop(AFTER_COMMIT, None)
                raise
            for hook in conn.info.pop(AFTER_COMMIT, {}).values():
                hook()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(bind=self.engine, expire_on_commit=False) as s:
            yield s  # closing the session ends the (read-only) transaction; loaded objects stay usable

    def tables(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    return Store(url)
