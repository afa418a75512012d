"""The quickstart's function: greets, and counts its invocations in the stack's database.

On the local cloud the database is an SQLite file (DB_ENGINE=sqlite, DB_ENDPOINT is its
path), so the standard library is enough. On the clouds the engine is PostgreSQL: add a
driver (psycopg) to use it; the greeting works either way.
"""

import os
import sqlite3


def count_invocation(name):
    """Record this invocation; return how many there have been, or None without SQLite."""
    if os.environ.get("DB_ENGINE") != "sqlite" or not os.environ.get("DB_ENDPOINT"):
        return None
    db = sqlite3.connect(os.environ["DB_ENDPOINT"])
    try:
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS invocations ("
                       "at TEXT DEFAULT CURRENT_TIMESTAMP, name TEXT)")
            db.execute("INSERT INTO invocations (name) VALUES (?)", (name,))
        return db.execute("SELECT count(*) FROM invocations").fetchone()[0]
    finally:
        db.close()


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    name = str(event.get("name") or "world")
    return {
        "message": "%s, %s!" % (os.environ.get("GREETING", "Hello"), name),
        "invocations": count_invocation(name),
        "queue": os.environ.get("QUEUE_URL"),
    }
