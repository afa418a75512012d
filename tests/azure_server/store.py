"""The server's state: resource groups, resources, long-running operations, the request log.

A long-running operation answers as still running on the request that starts it and on
its first `polls` reads (of its Azure-AsyncOperation or Location URL, or of the resource
itself: time passes for whoever looks); the read after that finds it done, and only then
does its effect happen (the resource's provisioningState becomes Succeeded, or the
resource goes). A client that does not wait therefore sees what it would see on Azure.
"""

import datetime
import threading
import uuid


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Operation:
    """One long-running operation.

    `effect` runs when it completes and returns nothing; `failed` runs instead when the
    operation was made to fail (POST /__contract/fail-next). `result` gives the body the
    Location URL answers once done (None: 204)."""

    def __init__(self, polls, kind, location, namespace, effect, failed=None, result=None, failure=None):
        self.id = str(uuid.uuid4())
        self.kind = kind  # "put" | "delete" | "action"
        self.location = location
        self.namespace = namespace
        self.remaining = polls
        self.effect = effect
        self.failed = failed
        self.result = result
        self.failure = failure
        self.status = "InProgress"
        self.start = now_iso()
        self.end = None

    @property
    def complete(self):
        return self.status != "InProgress"

    def read(self):
        """Advance by one read (time passes)."""
        if not self.complete:
            if self.remaining <= 0:
                self.finish()
            else:
                self.remaining -= 1

    def finish(self):
        if self.complete:
            return
        if self.failure:
            self.status = "Failed"
            if self.failed:
                self.failed()
        else:
            self.status = "Succeeded"
            if self.effect:
                self.effect()
        self.end = now_iso()

    def status_body(self):
        body = {"id": self.id, "name": self.id, "status": self.status, "startTime": self.start}
        if self.end:
            body["endTime"] = self.end
        if self.status == "Failed":
            body["error"] = {"code": self.failure["code"], "message": self.failure["message"]}
        return body


class Store:
    """Everything the server holds, behind one lock (requests run on several threads)."""

    def __init__(self, polls, page_size):
        self.lock = threading.RLock()
        self.polls = polls
        self.page_size = page_size
        # The displayName of every subscription (configuration: survives a reset).
        self.subscription_name = "overcast contract lab"
        self.reset()

    def reset(self):
        # (subscription, group name lower) -> {"name", "body", "op"}
        self.groups = {}
        # resource id lower -> record (see arm.Resource)
        self.resources = {}
        # operation id -> Operation
        self.operations = {}
        self.requests = []
        # {"code", "message", "status"}: the next long-running operation fails with it
        self.fail_next = None

    def take_failure(self):
        failure, self.fail_next = self.fail_next, None
        return failure

    def add_operation(self, op):
        self.operations[op.id] = op
        return op
