"""Alembic: empty -> head on SQLite and PostgreSQL, models match migrations, back to base."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

import app as app_package
from app.cli import alembic_config, downgrade_database, upgrade_database
from app.db import Base
from app.models import import_all_models

ROOT = Path(app_package.__file__).resolve().parent.parent
CORE_TABLES = {"users", "oauth_tokens", "sessions"}


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_have_a_single_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"


def test_empty_database_upgrades_to_head(db_url):
    assert tables(db_url) == set()
    upgrade_database(db_url)
    assert CORE_TABLES | {"alembic_version"} <= tables(db_url)


def test_models_match_migrations(db_url):
    upgrade_database(db_url)
    import_all_models()
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ: add a migration (see README)"


def test_downgrade_to_base_removes_every_table(db_url):
    upgrade_database(db_url)
    downgrade_database(db_url, "base")
    assert tables(db_url) - {"alembic_version"} == set()
    upgrade_database(db_url)  # and up again
    assert CORE_TABLES <= tables(db_url)


def test_cli_migrate_upgrades_the_configured_database(db_url, tmp_path):
    env = {**os.environ, "FERRY_DATABASE_URL": db_url, "FERRY_INSTANCE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert CORE_TABLES <= tables(db_url)
