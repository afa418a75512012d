import json
import os


def handler(event, context):
    """Answers the function URL (http trigger) with a greeting."""
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"hello": os.environ.get("GREETING", "world")}),
    }
