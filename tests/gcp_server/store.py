"""The server's state: resources by collection, and long-running operations.

An operation is answered as not DONE on the request that starts it and on its first
`polls` reads (get or wait); the read after that finds it DONE, and only then does its
effect happen (the resource appears, changes or goes). A client that does not wait for
its operations therefore sees what it would see on Google: a resource that is not there
yet, or is still provisioning.
"""

import base64
import datetime
import os
import random
import threading


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def fingerprint():
    """A fresh fingerprint: 8 random bytes in URL-safe base64, as Compute writes its
    `format: byte` fields (`-` and `_`, never `+` or `/`; google-cloud-rust's models
    decode them as URL-safe and refuse the standard alphabet's `+` and `/`)."""
    return base64.urlsafe_b64encode(os.urandom(8)).decode()


def numeric_id():
    """A 19-digit id as Compute gives resources (uint64, sent as a string)."""
    return str(random.randrange(10**18, 10**19))


class Operation:
    """One long-running operation: its public body, how many reads remain before DONE, and
    the effect to run when it completes."""

    def __init__(self, body, polls, effect, done_status="DONE", running="RUNNING"):
        self.body = body
        self.remaining = polls
        self.effect = effect
        self.done_status = done_status
        self.running = running
        self.complete = False

    def read(self):
        """Advance by one read and give the body to answer."""
        if not self.complete:
            if self.remaining <= 0:
                self.finish()
            else:
                self.remaining -= 1
                self.body["status"] = self.running
        return self.body

    def finish(self):
        if self.complete:
            return
        self.complete = True
        error = None
        if self.effect is not None:
            error = self.effect()
        self.body["status"] = self.done_status
        if "progress" in self.body:
            self.body["progress"] = 100
        self.body["endTime"] = now_rfc3339()
        if error:
            self.body["error"] = error


class Store:
    """Everything the server holds, behind one lock (requests run on several threads)."""

    def __init__(self, polls):
        self.lock = threading.RLock()
        self.polls = polls
        self.reset()

    def reset(self):
        # (api, project, collection, scope) -> {name: resource dict}
        self.collections = {}
        # (api, project, name) -> Operation
        self.operations = {}
        # (project, requestId) -> operation name (Compute's idempotency)
        self.request_ids = {}
        self.requests = []
        # {"code", "message"}: the next operation started fails with this error (set by
        # POST /__contract/fail-next), so tests can see how a client handles a failed one.
        self.fail_next = None

    def take_failure(self):
        failure, self.fail_next = self.fail_next, None
        return failure

    def coll(self, api, project, collection, scope=""):
        return self.collections.setdefault((api, project, collection, scope), {})

    def add_operation(self, api, project, op):
        self.operations[(api, project, op.body["name"])] = op
        return op
