"""The review store: rounds, imports, runs, publications, scores, evaluations and the audit log in
one database (SQLite file by default, PostgreSQL by URL). See `engine` for where it lives,
`models` for the tables, `repo` for reading and writing, `runs` for recorded runs."""
from reviewer.store.engine import Store, default_home, default_url, open_store, resolve_url
from reviewer.store.repo import ConcurrentEditError

__all__ = ["Store", "open_store", "default_home", "default_url", "resolve_url", "ConcurrentEditError"]
