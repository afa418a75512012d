"""Cloud Scheduler v1: jobs under projects/{p}/locations/{l}.

Jobs are not long-running operations: create, patch, pause and resume answer the job,
delete answers `{}`. As on the real API: a job name must be
`projects/{p}/locations/{l}/jobs/{id}` under the request's parent with an id of letters,
digits, hyphens and underscores (up to 500); create wants a schedule and exactly one target
(an HTTP target needs a `uri`); a duplicate is 409 ALREADY_EXISTS; patch changes exactly
the fields its `updateMask` names (snake_case or camelCase paths), and an unknown path is
400; a job that is not there is 404. Pagination: `pageSize` (at most 500) and an opaque
`pageToken`. `run` is not implemented (501): nothing is invoked here.
"""

import base64
import copy
import re

from .errors import ApiError, invalid, not_found
from .store import now_rfc3339

API = "cloudscheduler"
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
_TARGETS = ("httpTarget", "pubsubTarget", "appEngineHttpTarget")
# updateMask paths the server applies (camelCase; snake_case is accepted too).
_MASKABLE = {
    "description", "schedule", "timeZone", "attemptDeadline", "retryConfig",
    "httpTarget", "httpTarget.uri", "httpTarget.httpMethod", "httpTarget.headers",
    "httpTarget.body", "httpTarget.oidcToken", "httpTarget.oauthToken",
    "pubsubTarget", "appEngineHttpTarget",
}
MAX_PAGE = 500


def _camel(path):
    return ".".join(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p) for p in path.split("."))


def _job_not_found(name):
    return not_found(f"Job not found: {name}.")


class Scheduler:
    def __init__(self, api, store):
        self.api = api
        self.store = store

    def handle(self, resource, method, params, query, body, base_url):
        if resource != "jobs":
            raise ApiError(501, "notImplemented",
                           f"cloudscheduler.{resource}.{method} exists in Cloud Scheduler v1 but the contract server does not implement it")
        project, location = params["projectsId"], params["locationsId"]
        parent = f"projects/{project}/locations/{location}"
        jobs = self.store.coll(API, project, "jobs", location)
        if method == "create":
            return self.create(parent, jobs, body)
        if method == "list":
            return self.list(jobs, query)
        name = f"{parent}/jobs/{params['jobsId']}"
        job = jobs.get(params["jobsId"])
        if job is None:
            raise _job_not_found(name)
        if method == "get":
            return 200, copy.deepcopy(job)
        if method == "delete":
            del jobs[params["jobsId"]]
            return 200, {}
        if method == "patch":
            return self.patch(name, job, query, body)
        if method in ("pause", "resume"):
            self.api.validate("PauseJobRequest" if method == "pause" else "ResumeJobRequest", body, "")
            job["state"] = "PAUSED" if method == "pause" else "ENABLED"
            job["userUpdateTime"] = now_rfc3339()
            return 200, copy.deepcopy(job)
        raise ApiError(501, "notImplemented",
                       f"cloudscheduler.jobs.{method} exists in Cloud Scheduler v1 but the contract server does not implement it")

    def _enum_names(self, job):
        """Store enums by name, whichever form the request used (numbers index the enum)."""
        target = job.get("httpTarget")
        if isinstance(target, dict) and isinstance(target.get("httpMethod"), int):
            names = self.api.schemas["HttpTarget"]["properties"]["httpMethod"]["enum"]
            target["httpMethod"] = names[target["httpMethod"]]

    def _check_target(self, job):
        self._enum_names(job)
        targets = [t for t in _TARGETS if job.get(t) is not None]
        if len(targets) != 1:
            raise invalid("A job must have exactly one target: httpTarget, pubsubTarget or appEngineHttpTarget.")
        if targets[0] == "httpTarget":
            uri = job["httpTarget"].get("uri", "")
            if not re.match(r"https?://", uri):
                raise invalid(f"Invalid HTTP target URI '{uri}': must start with http:// or https://.")
            job["httpTarget"].setdefault("httpMethod", "POST")
            if job["httpTarget"]["httpMethod"] == "HTTP_METHOD_UNSPECIFIED":
                job["httpTarget"]["httpMethod"] = "POST"

    def _check_schedule(self, job):
        fields = str(job.get("schedule", "")).split()
        if len(fields) != 5:
            raise invalid(f"Schedule '{job.get('schedule', '')}' is not a valid unix-cron schedule.")

    def create(self, parent, jobs, body):
        self.api.validate("Job", body, "job")
        job = copy.deepcopy(body)
        name = job.get("name") or f"{parent}/jobs/{len(jobs) + 1:020d}"
        prefix = parent + "/jobs/"
        if not name.startswith(prefix) or not _JOB_ID.fullmatch(name[len(prefix):]):
            raise invalid(f"Job name '{name}' must be '{prefix}<id>' with an id of letters, digits, '-' and '_' (at most 500).")
        job_id = name[len(prefix):]
        if not job.get("schedule"):
            raise invalid("Job.schedule is required.")
        self._check_schedule(job)
        self._check_target(job)
        if job_id in jobs:
            raise ApiError(409, "alreadyExists", f"Job {name} already exists.")
        job["name"] = name
        job.setdefault("timeZone", "Etc/UTC")
        job["state"] = "ENABLED"
        job["userUpdateTime"] = now_rfc3339()
        job["scheduleTime"] = now_rfc3339()
        jobs[job_id] = job
        return 200, copy.deepcopy(job)

    def patch(self, name, job, query, body):
        self.api.validate("Job", body, "job")
        if body.get("name") not in (None, name):
            raise invalid(f"Job name '{body.get('name')}' in the body does not match '{name}'.")
        mask = [p for p in query.get("updateMask", "").split(",") if p]
        if not mask:
            raise invalid("updateMask is required: name the fields to change.")
        updated = copy.deepcopy(job)
        for raw in mask:
            path = _camel(raw)
            if path not in _MASKABLE:
                raise invalid(f"Invalid field mask path '{raw}'.")
            head, _, leaf = path.partition(".")
            if leaf:
                value = (body.get(head) or {}).get(leaf)
                target = updated.setdefault(head, {})
                if value is None:
                    target.pop(leaf, None)
                else:
                    target[leaf] = copy.deepcopy(value)
            elif body.get(head) is None:
                updated.pop(head, None)
            else:
                updated[head] = copy.deepcopy(body[head])
        self._check_schedule(updated)
        self._check_target(updated)
        updated["userUpdateTime"] = now_rfc3339()
        job.clear()
        job.update(updated)
        return 200, copy.deepcopy(job)

    def list(self, jobs, query):
        try:
            size = int(query.get("pageSize", MAX_PAGE))
        except ValueError:
            raise invalid(f"Invalid value for field 'pageSize': '{query['pageSize']}'.")
        if not 0 <= size <= MAX_PAGE:
            raise invalid(f"Invalid value for field 'pageSize': {size}. Must be at most {MAX_PAGE}.")
        size = size or MAX_PAGE
        start = 0
        if query.get("pageToken"):
            try:
                start = int(base64.urlsafe_b64decode(query["pageToken"].encode()).decode().split(":", 1)[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                raise invalid("Invalid page token.")
        items = [jobs[k] for k in sorted(jobs)]
        out = {"jobs": copy.deepcopy(items[start:start + size])} if items[start:start + size] else {}
        if start + size < len(items):
            out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
        return 200, out
