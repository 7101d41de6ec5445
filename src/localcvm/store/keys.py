"""The one query on every signed request's path: resolve a SecretId to its key and account.

It reads the committed state every time (no cache), so that a key disabled or
deleted by any process sharing the database is refused from the next request on.
To keep that cheap it is one indexed SELECT without an ORM session: on SQLite on a
read-only connection each thread keeps for itself (autocommit, so every read sees
the latest commit), cheap enough to run on the server's event loop; on PostgreSQL
on a pooled connection (a network round trip, so callers run it in a thread).
"""

from __future__ import annotations

import sqlite3
import threading

from .db import Database

_QUERY = ("SELECT k.secret_key, a.uin, a.app_id, a.name FROM api_keys k JOIN accounts a ON a.uin = k.uin "
          "WHERE k.secret_id = {} AND k.active")


class KeyReader:
    """Reads enabled keys; safe to call from any thread."""

    def __init__(self, db: Database):
        self.db = db
        # A local file read takes microseconds: the API runs it inline, without a thread hop.
        self.inline = db.is_sqlite
        self.query = _QUERY.format("?" if db.is_sqlite else "%s")
        self.local = threading.local()

    def find_active(self, secret_id: str) -> tuple[str, str, int, str] | None:
        """(secret_key, uin, app_id, account name) of an enabled key, or None."""
        if self.db.is_sqlite:
            row = self.sqlite_connection().execute(self.query, (secret_id,)).fetchone()
        else:
            with self.db.engine.connect() as conn:
                row = conn.exec_driver_sql(self.query, (secret_id,)).first()
        return None if row is None else (row[0], row[1], int(row[2]), row[3])

    def sqlite_connection(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db.engine.url.database, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self.local.conn = conn
        return conn
