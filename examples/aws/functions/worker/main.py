def handler(event, context):
    """Consumes messages of the `jobs` queue (SQS event source mapping)."""
    for record in event.get("Records", []):
        print("job:", record.get("body"))
    return {"processed": len(event.get("Records", []))}
