"""Runs on the local cloud for each message on `jobs`; knows the AWS bucket by name.

Accepts the local queue trigger's event ({"message": {"body": ...}}), an SQS-style batch
({"Records": [{"body": ...}]}) or a plain {"body": ...}.
"""

import json
import os


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    records = event.get("Records") or [event.get("message") or {"body": event.get("body", "{}")}]
    jobs = []
    for record in records:
        body = record.get("body")
        try:
            jobs.append(json.loads(body) if isinstance(body, str) else body)
        except ValueError:
            jobs.append({"text": body})
    return {
        "env": os.environ.get("APP_ENV"),
        "bucket": os.environ.get("ASSETS_BUCKET"),
        "jobs": jobs,
    }
