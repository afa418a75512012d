"""HTTP API of the serverless-api stack: a tiny item store.

GET  /items          list the items
POST /items          add one; body: {"name": "..."}; the item is also queued for
                     follow-up work when a queue client is available
GET  /health         liveness

The event may be an AWS-style HTTP event (requestContext.http.method, rawPath, body)
or a plain one ({"method": "GET", "path": "/items", "body": "..."}), as used with
`overcast invoke api --payload ...` on the local cloud.
"""

import json
import os
import sqlite3
import time


def _request(event):
    event = event or {}
    http = (event.get("requestContext") or {}).get("http") or {}
    method = (event.get("method") or event.get("httpMethod") or http.get("method") or "GET").upper()
    path = event.get("path") or event.get("rawPath") or http.get("path") or "/"
    body = event.get("body") or ""
    if isinstance(body, str):
        try:
            body = json.loads(body) if body.strip() else {}
        except ValueError:
            body = {"raw": body}
    return method, path, body


def _response(status, payload):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload),
    }


def _db():
    """Open the database. The local cloud gives an SQLite file; on the clouds the engine
    is PostgreSQL and needs a driver (add psycopg to the function's dependencies)."""
    if os.environ.get("DB_ENGINE", "sqlite") != "sqlite":
        raise RuntimeError("this sample talks to SQLite only; add a PostgreSQL driver for %s"
                           % os.environ.get("DB_ENGINE"))
    db = sqlite3.connect(os.environ.get("DB_ENDPOINT", "api.sqlite3"))
    db.execute("CREATE TABLE IF NOT EXISTS items ("
               "id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
               "created TEXT DEFAULT CURRENT_TIMESTAMP)")
    return db


def _enqueue(message):
    """Send a message to the jobs queue when this sample has a client for it: the local
    cloud's queue file, or SQS through boto3. Returns whether it was sent."""
    url = os.environ.get("QUEUE_URL", "")
    body = json.dumps(message)
    if "://" not in url and os.path.isfile(url):
        # The local cloud's queue is an SQLite file; its url is the path. One row per
        # message (format: providers/local/src/queue.rs).
        now = int(time.time() * 1000)
        db = sqlite3.connect(url, timeout=10)
        try:
            with db:
                db.execute("INSERT INTO messages (body, sent_at, visible_at) VALUES (?, ?, ?)", (body, now, now))
        finally:
            db.close()
        return True
    if url.startswith("https://sqs."):
        try:
            import boto3  # present in the AWS Lambda Python runtime
        except ImportError:
            return False
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)
        return True
    return False


def handler(event, context):
    method, path, body = _request(event)
    if path.rstrip("/") == "/health":
        return _response(200, {"ok": True, "env": os.environ.get("APP_ENV")})
    if path.rstrip("/") != "/items":
        return _response(404, {"error": "no route for %s %s" % (method, path)})
    try:
        with _db() as db:
            if method == "POST":
                name = str(body.get("name") or "").strip() if isinstance(body, dict) else ""
                if not name:
                    return _response(400, {"error": "body must be JSON with a non-empty \"name\""})
                cur = db.execute("INSERT INTO items (name) VALUES (?)", (name,))
                item = {"id": cur.lastrowid, "name": name}
                item["queued"] = _enqueue({"type": "item.created", "item": item})
                return _response(201, item)
            if method == "GET":
                rows = db.execute("SELECT id, name, created FROM items ORDER BY id").fetchall()
                return _response(200, {"items": [
                    {"id": r[0], "name": r[1], "created": r[2]} for r in rows
                ]})
    except RuntimeError as err:
        return _response(501, {"error": str(err)})
    return _response(405, {"error": "method %s not allowed on /items" % method})
