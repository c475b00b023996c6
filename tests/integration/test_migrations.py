"""Migrations: one head; upgrade → downgrade → upgrade; models and migrations agree."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from careplans.db import alembic_config, compare_type, is_sqlite, make_engine, normalise_url
from api import session_model  # noqa: F401  (registers the session table on DefaultBase.metadata)
from careplans.models import DefaultBase


@pytest.fixture()
def scratch_url(database_url, tmp_path):
    """An empty database of the same engine as the suite's."""
    if is_sqlite(database_url):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"careplans_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(database_url)).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_single_head(database_url):
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_downgrade_upgrade(scratch_url):
    cfg = alembic_config(scratch_url)
    command.upgrade(cfg, "head")
    engine = make_engine(scratch_url)
    assert "plan_versions" in inspect(engine).get_table_names()
    engine.dispose()
    command.downgrade(cfg, "base")
    engine = make_engine(scratch_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(cfg, "head")
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one() == 0
    engine.dispose()


def test_models_and_migrations_agree(database_url, engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        diff = compare_metadata(ctx, DefaultBase.metadata)
    assert diff == [], f"autogenerate would change the schema: {diff}"
