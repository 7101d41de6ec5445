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

# A root account's key, or a CAM sub-user's key (then with the sub-user's Uin and name): one statement.
_QUERY = ("SELECT k.secret_key, a.uin, a.app_id, a.name, NULL, NULL, NULL FROM api_keys k JOIN accounts a ON a.uin = k.uin "
          "WHERE k.secret_id = {0} AND k.active "
          "UNION ALL SELECT c.secret_key, a.uin, a.app_id, a.name, u.uin, u.name, a.cam_generation FROM cam_access_keys c "
          "JOIN cam_users u ON u.uin = c.user_uin JOIN accounts a ON a.uin = u.owner_uin "
          "WHERE c.secret_id = {0} AND c.active")


class KeyReader:
    """Reads enabled keys; safe to call from any thread."""

    def __init__(self, db: Database):
        self.db = db
        # A local file read takes microseconds: the API runs it inline, without a thread hop.
        self.inline = db.is_sqlite
        self.query = _QUERY.format(self.placeholder)
        self.local = threading.local()

    def find_active(self, secret_id: str) -> tuple[str, str, int, str, str | None, str | None, int | None] | None:
        """(secret_key, owner uin, app_id, account name, sub-user uin, sub-user name, the owner's CAM
        generation) of an enabled key, or None."""
        rows = self.rows(self.query, (secret_id, secret_id))
        if not rows:
            return None
        row = rows[0]
        return row[0], row[1], int(row[2]), row[3], row[4], row[5], None if row[6] is None else int(row[6])

    def rows(self, query: str, args: tuple) -> list[tuple]:
        """Run one read-only statement (``{}`` placeholders already in the driver's style) outside any
        ORM session: the cheap path for the reads on every request (keys, CAM policy lists)."""
        if self.db.is_sqlite:
            return self.sqlite_connection().execute(query, args).fetchall()
        with self.db.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query, args).fetchall()]

    @property
    def placeholder(self) -> str:
        return "?" if self.db.is_sqlite else "%s"

    def sqlite_connection(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db.engine.url.database, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self.local.conn = conn
        return conn
