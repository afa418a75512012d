"""Stage 1 of the event-driven stack: turn "object created" notifications into events.

Accepted event shapes (one or many objects):
  AWS S3 notification:  {"Records": [{"s3": {"bucket": {"name": ...}, "object": {"key": ..., "size": ...}}}]}
  GCS / CloudEvent:     {"bucket": ..., "name": ..., "size": ...}
  plain (local invoke): {"key": ..., "size": ...}
"""

import json
import os
import sqlite3
import time


def objects(event):
    """The (bucket, key, size) of every object the notification is about."""
    event = event or {}
    if isinstance(event.get("Records"), list):
        for record in event["Records"]:
            s3 = record.get("s3") or {}
            obj = s3.get("object") or {}
            yield (s3.get("bucket") or {}).get("name"), obj.get("key"), obj.get("size")
        return
    key = event.get("key") or event.get("name") or event.get("subject")
    if key:
        yield event.get("bucket"), key, event.get("size")


def send(message):
    """Put the event on the queue when this sample has a client for it: the local cloud's
    queue file, or SQS through boto3 (FIFO needs a group id). Returns whether it was sent;
    otherwise the event is only returned to the caller."""
    url = os.environ.get("EVENTS_QUEUE_URL", "")
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
    if not url.startswith("https://sqs."):
        return False
    try:
        import boto3  # present in the AWS Lambda Python runtime
    except ImportError:
        return False
    args = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        args["MessageGroupId"] = message["key"]
        args["MessageDeduplicationId"] = "%s-%s" % (message["key"], message.get("size"))
    boto3.client("sqs").send_message(**args)
    return True


def handler(event, context):
    emitted = []
    for bucket, key, size in objects(event):
        if not key:
            continue
        message = {"type": "object.created", "bucket": bucket, "key": key, "size": size}
        message["queued"] = send(message)
        emitted.append(message)
    print(json.dumps({"stage": "ingest", "events": len(emitted)}))
    return {"events": emitted}
