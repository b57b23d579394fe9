"""The Alembic migrations build exactly the schema the models declare, and form one straight chain.

Several branches add tables in parallel; a migration that forgets a column (or a model that drifts from its
migration) would only show up on a customer's upgraded store. This compares the migrated schema with the models.
"""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from reviewer.store import models
from reviewer.store.engine import Store


def _script() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", "reviewer.store:migrations")
    return ScriptDirectory.from_config(cfg)


def test_one_head_and_a_straight_chain():
    script = _script()
    assert len(script.get_heads()) == 1, f"several Alembic heads: {script.get_heads()}"
    revs = list(script.walk_revisions())
    assert all(len(r._all_down_revisions) <= 1 for r in revs), "a merge/branch point in the migration chain"


def test_store_version_is_the_head(tmp_path):
    st = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with st.engine.connect() as c:
        assert MigrationContext.configure(c).get_current_revision() == _script().get_current_head()


def test_migrated_schema_equals_the_models(tmp_path):
    st = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with st.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), models.Base.metadata)
    # SQLite cannot report some server defaults/types precisely: keep table/column/index level differences only
    significant = [d for d in diff if isinstance(d, tuple) and d[0] in
                   ("add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index")]
    assert not significant, significant


def test_a_store_written_by_a_newer_program_is_refused_clearly(tmp_path):
    import pytest
    from sqlalchemy import text

    from reviewer.errors import UserError
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    Store(url).dispose()
    st = Store(url, upgrade_schema=False)
    with st.engine.begin() as c:
        c.execute(text("update alembic_version set version_num = '9999'"))
    st.dispose()
    with pytest.raises(UserError, match="newer version") as e:
        Store(url)
    assert "Traceback" not in str(e.value)
