"""Cloud Functions v2: functions under projects/{p}/locations/{l}, and their operations.

Create (with `functionId`), patch and delete answer a google.longrunning.Operation that is
not `done` on the request that starts it and on its first `polls` reads
(operations.get); the read after that finds it done. Meanwhile the function is DEPLOYING
(create, patch) or DELETING (delete); at done it is ACTIVE with `serviceConfig.uri`
(pointing at this server, opaque), or gone. A create made to fail (/__contract/fail-next)
leaves the function FAILED with a state message, as a failed deployment does on Google. As on the real API: bodies are validated
against the discovery document (unknown fields, wrong types, bad enums and output-only
fields such as `state`, `updateTime`, `serviceConfig.uri` are 400); `buildConfig.runtime`,
`buildConfig.entryPoint` and `buildConfig.source` are required and the runtime must be one
Google offers; `availableMemory` is 128Mi..32Gi; `timeoutSeconds` is at most 3600 for an
HTTP function and 540 for an event function; a duplicate id is 409 ALREADY_EXISTS; a
function that is not there is 404; patch changes exactly the fields its `updateMask`
names (snake_case or camelCase; no mask: the body replaces every settable field). Lists paginate
(`pageSize`, opaque `pageToken`).
"""

import base64
import copy
import re
import uuid

from .errors import ApiError, invalid, not_found
from .store import Operation, now_rfc3339

API = "cloudfunctions"
_FUNCTION_ID = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
# cloud.google.com/functions/docs/runtime-support (2nd gen, current and deprecated ones
# still deployable).
RUNTIMES = {
    "nodejs18", "nodejs20", "nodejs22",
    "python38", "python39", "python310", "python311", "python312", "python313",
    "go121", "go122", "go123",
    "java11", "java17", "java21",
    "ruby32", "ruby33", "ruby34",
    "php82", "php83", "php84",
    "dotnet6", "dotnet8",
}
MIN_MEMORY_MIB, MAX_MEMORY_MIB = 128, 32 * 1024
MAX_HTTP_TIMEOUT, MAX_EVENT_TIMEOUT = 3600, 540
MAX_PAGE = 1000
_META = "type.googleapis.com/google.cloud.functions.v2.OperationMetadata"
_FUNCTION = "type.googleapis.com/google.cloud.functions.v2.Function"
# updateMask paths the server applies, camelCase (a prefix covers its sub-fields).
_MASKABLE = {
    "description", "labels", "environment", "kmsKeyName", "buildConfig", "serviceConfig",
    "eventTrigger",
}


def _camel(path):
    return ".".join(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p) for p in path.split("."))


def memory_mib(value):
    """MiB of an `availableMemory` value (k, M, G, Mi, Gi; bare: bytes), or None."""
    m = re.fullmatch(r"([0-9]+)(k|Ki|M|Mi|G|Gi)?", value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2) or ""
    factor = {"": 1, "k": 1000, "Ki": 1024, "M": 10**6, "Mi": 2**20, "G": 10**9, "Gi": 2**30}[unit]
    return n * factor / 2**20


class LongRunning(Operation):
    """A google.longrunning.Operation: `done` instead of Compute's `status`."""

    def __init__(self, body, polls, effect, failure=None, rollback=None):
        super().__init__(body, polls, effect)
        self.failure = failure
        self.rollback = rollback

    def read(self):
        if not self.complete:
            if self.remaining <= 0:
                self.finish()
            else:
                self.remaining -= 1
        return self.body

    def finish(self):
        if self.complete:
            return
        self.complete = True
        self.body["done"] = True
        self.body["metadata"]["endTime"] = now_rfc3339()
        if self.failure:
            if self.rollback:
                self.rollback()
            code = {"ALREADY_EXISTS": 6, "NOT_FOUND": 5, "INVALID_ARGUMENT": 3, "PERMISSION_DENIED": 7,
                    "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9, "INTERNAL": 13}.get(self.failure["code"], 2)
            self.body["error"] = {"code": code, "message": self.failure["message"]}
            return
        response = self.effect() if self.effect else None
        if response is not None:
            self.body["response"] = dict({"@type": _FUNCTION}, **response)


def _fn_not_found(name):
    return not_found(f"Resource '{name}' was not found")


class Functions:
    def __init__(self, api, store):
        self.api = api
        self.store = store

    def handle(self, resource, method, params, query, body, base_url):
        project, location = params["projectsId"], params["locationsId"]
        parent = f"projects/{project}/locations/{location}"
        if resource == "operations" and method == "get":
            name = f"{parent}/operations/{params['operationsId']}"
            op = self.store.operations.get((API, project, name))
            if op is None:
                raise not_found(f"Operation '{name}' was not found")
            return 200, copy.deepcopy(op.read())
        if resource != "functions" or method not in ("create", "get", "list", "patch", "delete"):
            raise ApiError(501, "notImplemented",
                           f"cloudfunctions.{resource}.{method} exists in Cloud Functions v2 but the contract server does not implement it")
        fns = self.store.coll(API, project, "functions", location)
        ctx = {"project": project, "parent": parent, "base": base_url}
        if method == "create":
            return self.create(ctx, fns, query, body)
        if method == "list":
            return self.list(fns, query)
        fid = params["functionsId"]
        name = f"{parent}/functions/{fid}"
        fn = fns.get(fid)
        if fn is None:
            raise _fn_not_found(name)
        if method == "get":
            return 200, copy.deepcopy(fn)
        if method == "delete":
            return self.delete(ctx, fns, fid, fn)
        return self.patch(ctx, fn, query, body)

    # --- operations ------------------------------------------------------------------

    def operation(self, ctx, verb, target, effect, rollback=None):
        name = f"{ctx['parent']}/operations/operation-{uuid.uuid4().hex}"
        body = {
            "name": name,
            "metadata": {"@type": _META, "createTime": now_rfc3339(), "target": target, "verb": verb,
                         "apiVersion": "v2"},
            "done": False,
        }
        op = LongRunning(body, self.store.polls, effect, self.store.take_failure(), rollback)
        self.store.add_operation(API, ctx["project"], op)
        return 200, copy.deepcopy(body)

    # --- validation ------------------------------------------------------------------

    def _enum_names(self, fn):
        """Store enums by name, whichever form the request used (numbers index the enum)."""
        for holder, schema, field in (
            (fn.get("eventTrigger"), "EventTrigger", "retryPolicy"),
            (fn.get("serviceConfig"), "ServiceConfig", "ingressSettings"),
            (fn.get("serviceConfig"), "ServiceConfig", "vpcConnectorEgressSettings"),
            (fn.get("serviceConfig"), "ServiceConfig", "securityLevel"),
            (fn, "Function", "environment"),
        ):
            if isinstance(holder, dict) and isinstance(holder.get(field), int):
                holder[field] = self.api.schemas[schema]["properties"][field]["enum"][holder[field]]

    def check(self, fn):
        """What Google refuses of a whole function beyond its schema."""
        self._enum_names(fn)
        build = fn.get("buildConfig") or {}
        for field in ("runtime", "entryPoint", "source"):
            if not build.get(field):
                raise invalid(f"Invalid function: buildConfig.{field} is required.")
        if build["runtime"] not in RUNTIMES:
            raise invalid(
                f"Invalid value for field 'buildConfig.runtime': '{build['runtime']}'. "
                f"Runtime is not supported; see https://cloud.google.com/functions/docs/runtime-support."
            )
        source = build["source"]
        storage = source.get("storageSource")
        if storage is not None and (not storage.get("bucket") or not storage.get("object")):
            raise invalid("Invalid function: buildConfig.source.storageSource needs a bucket and an object.")
        service = fn.get("serviceConfig") or {}
        if "availableMemory" in service:
            mib = memory_mib(service["availableMemory"])
            if mib is None or not MIN_MEMORY_MIB <= mib <= MAX_MEMORY_MIB:
                raise invalid(
                    f"Invalid value for field 'serviceConfig.availableMemory': '{service['availableMemory']}'. "
                    f"Memory must be between {MIN_MEMORY_MIB}Mi and 32Gi (units k, M, G, Mi, Gi)."
                )
        event = fn.get("eventTrigger") is not None
        limit = MAX_EVENT_TIMEOUT if event else MAX_HTTP_TIMEOUT
        timeout = service.get("timeoutSeconds")
        if timeout is not None and not 0 < int(timeout) <= limit:
            kind = "event-triggered" if event else "HTTP"
            raise invalid(
                f"Invalid value for field 'serviceConfig.timeoutSeconds': {timeout}. "
                f"The timeout of {kind} functions must be between 1 and {limit} seconds."
            )
        if event and not fn["eventTrigger"].get("eventType"):
            raise invalid("Invalid function: eventTrigger.eventType is required.")

    # --- functions -------------------------------------------------------------------

    def _deployed(self, ctx, fn):
        fn["state"] = "ACTIVE"
        fn["updateTime"] = now_rfc3339()
        fid = fn["name"].rsplit("/", 1)[1]
        service = fn.setdefault("serviceConfig", {})
        service["uri"] = f"{ctx['base']}/__functions/{ctx['project']}/{fid}"
        service.setdefault("availableMemory", "256M")
        service.setdefault("timeoutSeconds", 60)
        service["service"] = f"projects/{ctx['project']}/locations/{fn['name'].split('/')[3]}/services/{fid}"
        return copy.deepcopy(fn)

    def create(self, ctx, fns, query, body):
        fid = query.get("functionId", "")
        if not _FUNCTION_ID.fullmatch(fid):
            raise invalid(
                f"Invalid value for field 'functionId': '{fid}'. Must be lowercase letters, digits and "
                "hyphens, start with a letter, end with a letter or digit, at most 63 characters."
            )
        self.api.validate("Function", body, "function")
        fn = copy.deepcopy(body)
        name = f"{ctx['parent']}/functions/{fid}"
        if fn.get("name") not in (None, "", name):
            raise invalid(f"Function name '{fn['name']}' in the body does not match '{name}'.")
        self.check(fn)
        if fid in fns:
            raise ApiError(409, "alreadyExists", f"Function {fid} in region {name.split('/')[3]} in project "
                           f"{ctx['project']} already exists", "ALREADY_EXISTS")
        fn["name"] = name
        fn["state"] = "DEPLOYING"
        fn["createTime"] = fn["updateTime"] = now_rfc3339()
        fn["environment"] = "GEN_2"
        fns[fid] = fn
        def failed():
            # As on Google, a deployment that fails leaves the function FAILED (a create
            # repeated is ALREADY_EXISTS; a patch redeploys it; it can be deleted).
            fn["state"] = "FAILED"
            fn["stateMessages"] = [{"severity": "ERROR", "type": "DeploymentFailed",
                                    "message": "the deployment failed"}]

        return self.operation(ctx, "create", name, lambda: self._deployed(ctx, fn), failed)

    def patch(self, ctx, fn, query, body):
        self.api.validate("Function", body, "function")
        if body.get("name") not in (None, "", fn["name"]):
            raise invalid(f"Function name '{body.get('name')}' in the body does not match '{fn['name']}'.")
        if fn["state"] not in ("ACTIVE", "FAILED"):
            raise ApiError(409, "aborted", f"An operation on function {fn['name']} is in progress.", "ABORTED")
        mask = [p for p in query.get("updateMask", "").split(",") if p]
        if not mask:
            # "If no field mask is provided, all fields will be updated": the body replaces
            # every field a request may set.
            mask = sorted(_MASKABLE)
        updated = copy.deepcopy(fn)
        for raw in mask:
            path = _camel(raw)
            parts = path.split(".")
            if parts[0] not in _MASKABLE:
                raise invalid(f"Invalid field mask path '{raw}'.")
            src, dst = body, updated
            for p in parts[:-1]:
                src = src.get(p) if isinstance(src, dict) else None
                dst = dst.setdefault(p, {})
            leaf = parts[-1]
            if isinstance(src, dict) and src.get(leaf) is not None:
                dst[leaf] = copy.deepcopy(src[leaf])
            else:
                dst.pop(leaf, None)
        self.check(updated)
        before = copy.deepcopy(fn)
        fn.clear()
        fn.update(updated)
        fn["state"] = "DEPLOYING"
        fn.pop("stateMessages", None)
        fn["updateTime"] = now_rfc3339()

        def rollback():
            fn.clear()
            fn.update(before)

        return self.operation(ctx, "update", fn["name"], lambda: self._deployed(ctx, fn), rollback)

    def delete(self, ctx, fns, fid, fn):
        if fn["state"] == "DELETING":
            raise ApiError(409, "aborted", f"Function {fn['name']} is being deleted.", "ABORTED")
        before = fn["state"]
        fn["state"] = "DELETING"

        def gone():
            fns.pop(fid, None)
            return None

        def rollback():
            fn["state"] = before

        return self.operation(ctx, "delete", fn["name"], gone, rollback)

    def list(self, fns, query):
        try:
            size = int(query.get("pageSize", 0))
        except ValueError:
            raise invalid(f"Invalid value for field 'pageSize': '{query['pageSize']}'.")
        if size < 0:
            raise invalid(f"Invalid value for field 'pageSize': {size}. Must be non-negative.")
        size = min(size or MAX_PAGE, MAX_PAGE)
        start = 0
        if query.get("pageToken"):
            try:
                text = base64.urlsafe_b64decode(query["pageToken"].encode()).decode()
                if not text.startswith("offset:"):
                    raise ValueError(text)
                start = int(text[len("offset:"):])
            except (ValueError, UnicodeDecodeError):
                raise invalid("Invalid page token.")
        if query.get("filter"):
            raise ApiError(501, "notImplemented", "the contract server does not implement list filters")
        items = [fns[k] for k in sorted(fns)]
        chunk = items[start:start + size]
        out = {"functions": copy.deepcopy(chunk)} if chunk else {}
        if start + size < len(items):
            out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
        return 200, out
