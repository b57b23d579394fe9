"""Alembic environment of the review store.

Works two ways: from the command line (`alembic upgrade head` with alembic.ini at the repository
root, database URL from `-x db=URL`, $REVIEWER_DB_URL or the default local SQLite file), and
programmatically (`reviewer.store.engine.upgrade`, which passes an open connection in
`config.attributes["connection"]`).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from reviewer.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    from reviewer.store.engine import resolve_url
    x = context.get_x_argument(as_dictionary=True)
    return resolve_url(x.get("db"))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
