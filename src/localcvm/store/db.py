"""Engine and transactions for SQLite (WAL, default) and PostgreSQL (psycopg 3).

``Database.read()`` and ``Database.write()`` give a :class:`~localcvm.store.repo.Repo`
bound to one transaction. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so that concurrent writers queue up instead of failing
half-way; on PostgreSQL limits are enforced with ``SELECT ... FOR UPDATE``
inside the repo's methods.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .repo import Repo

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8,
            max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Let SQLAlchemy's "begin" event below issue BEGIN itself.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def read(self) -> Iterator[Repo]:
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield Repo(session, self)

    @contextmanager
    def write(self) -> Iterator[Repo]:
        """One write transaction: committed on success, rolled back on any error."""
        with Session(self._writer, expire_on_commit=False) as session:
            with session.begin():
                yield Repo(session, self)

    def dispose(self) -> None:
        self.engine.dispose()
