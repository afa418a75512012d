"""Stage 2 of the event-driven stack: handle the events that `ingest` put on the queue.

Accepted event shapes:
  local queue trigger:  {"trigger": "queue", "queue": ..., "message": {"id": ..., "body": <json>}}
  AWS SQS batch:        {"Records": [{"body": "<json>", "messageId": ...}]}
  Pub/Sub push:         {"message": {"data": "<base64 json>"}}
  plain (local invoke): {"body": "<json>"} or {"messages": ["<json>", ...]} or the event itself
"""

import base64
import json


def messages(event):
    """The decoded bodies of every message in the delivery."""
    event = event or {}
    if isinstance(event.get("Records"), list):
        raw = [r.get("body") for r in event["Records"]]
    elif isinstance(event.get("message"), dict) and "body" in event["message"]:
        raw = [event["message"]["body"]]
    elif isinstance(event.get("message"), dict) and "data" in event["message"]:
        raw = [base64.b64decode(event["message"]["data"]).decode()]
    elif isinstance(event.get("messages"), list):
        raw = event["messages"]
    elif "body" in event:
        raw = [event["body"]]
    else:
        raw = [event]
    for body in raw:
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                body = {"text": body}
        yield body


def handle(message):
    """The actual work for one event: here, a summary line."""
    key = message.get("key", "?")
    size = message.get("size")
    return "%s (%s bytes)" % (key, size if size is not None else "unknown")


def handler(event, context):
    done = [handle(m) for m in messages(event) if isinstance(m, dict)]
    for line in done:
        print("processed", line)
    # A raised exception makes the queue redeliver the batch (then dead-letter it).
    return {"processed": len(done), "items": done}
