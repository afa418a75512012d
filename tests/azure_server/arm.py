"""What every ARM resource has in common: ids, the create-or-update / get / patch / delete
lifecycle, long-running operations in the provider's style, lists with nextLink paging,
and the checks ARM makes before a provider sees a request.

A resource type is described by a `ResourceType` (its schema definitions, name rule,
operation styles and hooks); the namespace modules (storage.py, servicebus.py, ...) list
theirs and `Engine` does the rest.

Operation styles, per provider as the real ones answer:
  "sync"     the request completes at once: PUT 200/201 with the body, DELETE 200
  "async"    PUT 201 (200 on update) with the body in its transient provisioningState and an
             Azure-AsyncOperation header (a status resource {"status": "InProgress" |
             "Succeeded" | "Failed"}); DELETE 202 with Azure-AsyncOperation and Location
  "location" PUT or DELETE 202 with a Location header: that URL answers 202 while the
             operation runs, then 200 with the resource (PUT) or 204 (DELETE)
  "async202" PUT or DELETE 202 with no body and both headers (the flexible database servers)
Every long-running answer carries `Retry-After: 0`.
"""

import base64
import copy
import re
import urllib.parse

from .errors import ArmError, bad_request, conflict, group_not_found, not_found, not_implemented, resource_not_found
from .store import Operation, now_iso

# The public regions ARM accepts (location names as ARM normalizes them).
REGIONS = (
    "eastus eastus2 westus westus2 westus3 centralus northcentralus southcentralus westcentralus "
    "canadacentral canadaeast brazilsouth mexicocentral northeurope westeurope uksouth ukwest "
    "francecentral germanywestcentral norwayeast switzerlandnorth swedencentral polandcentral "
    "italynorth spaincentral eastasia southeastasia japaneast japanwest australiaeast "
    "australiasoutheast centralindia southindia westindia koreacentral koreasouth uaenorth "
    "southafricanorth qatarcentral israelcentral newzealandnorth"
).split()

_TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def normalize_location(value):
    return value.replace(" ", "").lower() if isinstance(value, str) else value


def deep_merge(into, patch):
    """JSON merge patch (RFC 7396): objects merge, null removes, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def check_tags(tags):
    if not isinstance(tags, dict):
        return
    if len(tags) > 50:
        raise bad_request("InvalidTagCount", f"The tag count {len(tags)} exceeds the limit of 50 tags per resource.")
    for name, value in tags.items():
        if len(name) > 512:
            raise bad_request("InvalidTagNameLength", f"The tag name '{name[:40]}...' exceeds the maximum length of 512 characters.")
        if set(name) & _TAG_NAME_FORBIDDEN:
            raise bad_request("InvalidTagNameCharacters", f"The tag names '{name}' have reserved characters '<,>,%,&,\\,?,/' or control characters.")
        if isinstance(value, str) and len(value) > 256:
            raise bad_request("InvalidTagValueLength", f"The tag value of tag '{name}' exceeds the maximum length of 256 characters.")


def name_rule(pattern, low, high, code="InvalidResourceName", message=None):
    """A name check: `pattern` (full match) and length bounds, else 400 `code`."""
    rx = re.compile(pattern)

    def check(name, rtype):
        if not (low <= len(name) <= high) or not rx.fullmatch(name):
            text = message.format(name=name) if message else (
                f"The Resource '{rtype}/{name}' has an invalid name. Names of this type must be {low} to {high} "
                f"characters long and match '{pattern}'."
            )
            raise bad_request(code, text)

    return check


class ResourceType:
    """One resource type of a namespace.

    put_def / patch_def: (document suffix, definition) the body is validated against
    (patch_def None: PATCH is not an operation of the type, 405; put_def None: a type the
    server makes itself, such as a VM's OS disk, 501 to a client's PUT). tracked: the resource has
    a location (required, a region). put_style / update_style / delete_style: see the
    module doc. provisioning: the transient state a PUT shows while it runs (None: the type
    has no provisioningState). singleton: the only name the type takes (blobServices
    'default'); implicit: such a child exists as soon as its parent does.
    Hooks (all optional): validate(ctx, name, body, existing, parent) for the provider's
    own rules; build(ctx, name, body, existing, parent) -> the stored body; stored(ctx, rec,
    created) once the record holds it;
    render(rec) -> what GET answers; check_delete(ctx, rec) to refuse a delete;
    actions {lowercase name: fn(ctx, rec) -> (status, body)}.
    """

    def __init__(self, namespace, path, put_def, patch_def=None, tracked=True, name=None, put_style="async",
                 update_style=None, delete_style="async", provisioning="Creating", singleton=None, implicit=False,
                 validate=None, build=None, render=None, check_delete=None, actions=None, locations=None,
                 parent_busy_code="Conflict", created_status=201, state_field="provisioningState", states=None,
                 stored=None, open_enums=()):
        self.namespace = namespace
        self.path = tuple(path)
        self.put_def = put_def
        self.patch_def = patch_def
        self.tracked = tracked
        self.name_check = name
        self.put_style = put_style
        self.update_style = update_style or put_style
        self.delete_style = delete_style
        self.provisioning = provisioning
        self.singleton = singleton
        self.implicit = implicit
        self.validate = validate
        self.build = build
        self.render_hook = render
        self.check_delete = check_delete
        self.actions = {k.lower(): v for k, v in (actions or {}).items()}
        self.locations = locations or REGIONS
        self.parent_busy_code = parent_busy_code
        self.created_status = created_status
        self.state_field = state_field
        self.states = states or {}
        self.stored = stored
        self.open_enums = tuple(open_enums)

    @property
    def full_type(self):
        return self.namespace + "/" + "/".join(self.path)

    def render(self, rec):
        if self.render_hook:
            return self.render_hook(rec)
        return copy.deepcopy(rec["body"])


class Ctx:
    """One request: where it points and what it carries."""

    def __init__(self, app, method, sub, query, body, base_url, api_version):
        self.app = app
        self.store = app.store
        self.method = method
        self.sub = sub
        self.query = query
        self.body = body
        self.base_url = base_url
        self.api_version = api_version
        self.rg = None  # the group's name as created


class Engine:
    """The generic lifecycle over the registered resource types."""

    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.types = {}  # (namespace lower, path lower tuple) -> ResourceType

    def register(self, rtype):
        self.types[(rtype.namespace.lower(), tuple(p.lower() for p in rtype.path))] = rtype

    def lookup(self, namespace, path):
        return self.types.get((namespace.lower(), tuple(p.lower() for p in path)))

    # --- ids and records -----------------------------------------------------------------

    def group(self, ctx, rg, for_write=False):
        g = self.store.groups.get((ctx.sub, rg.lower()))
        if g is None:
            raise group_not_found(rg)
        ctx.rg = g["name"]
        if for_write and g["op"] is not None and not g["op"].complete:
            raise conflict(
                "ResourceGroupBeingDeleted",
                f"The resource group '{g['name']}' is in deprovisioning state and cannot perform this operation.",
            )
        return g

    def resource_id(self, ctx, rtype, names):
        parts = []
        for t, n in zip(rtype.path, names):
            parts += [t, n]
        return f"/subscriptions/{ctx.sub}/resourceGroups/{ctx.rg}/providers/{rtype.namespace}/" + "/".join(parts)

    def find(self, rid):
        return self.store.resources.get(rid.lower())

    def parent_record(self, ctx, rtype, names):
        """The parent's record (None for a top-level type); 404 when it does not exist."""
        if len(rtype.path) == 1:
            return None
        ptype = self.lookup(rtype.namespace, rtype.path[:-1])
        pid = self.resource_id(ctx, ptype, names[:-1])
        rec = self.find(pid)
        if rec is None and ptype.implicit:
            grand = self.parent_record(ctx, ptype, names[:-1])
            if ptype.singleton and names[-2].lower() != ptype.singleton:
                grand = None
            if grand is not None:
                rec = self.materialize(ctx, ptype, names[:-1], grand)
        if rec is None:
            raise not_found(
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource '{'/'.join(names[:-1])}' not found.",
            )
        return rec

    def materialize(self, ctx, rtype, names, parent):
        """The record of an implicit singleton child (blobServices/default), made on first use."""
        rid = self.resource_id(ctx, rtype, names)
        body = {"id": rid, "name": names[-1], "type": rtype.full_type}
        if rtype.build:
            body = rtype.build(ctx, names[-1], {}, None, parent) or body
        rec = self.new_record(ctx, rtype, rid, body)
        self.store.resources[rid.lower()] = rec
        return rec

    def new_record(self, ctx, rtype, rid, body):
        return {"id": rid, "rtype": rtype, "sub": ctx.sub, "rg": ctx.rg.lower(), "body": body, "op": None,
                "created": now_iso(), "changed": now_iso(), "hidden": {}}

    def descendants(self, rec):
        prefix = rec["id"].lower() + "/"
        return [r for k, r in self.store.resources.items() if k.startswith(prefix)]

    def busy(self, rec):
        op = rec.get("op")
        return op is not None and not op.complete

    def set_state(self, rec, state):
        rtype = rec["rtype"]
        if rtype.provisioning is None:
            return
        rec["body"].setdefault("properties", {})[rtype.state_field] = rtype.states.get(state, state)

    # --- operations ------------------------------------------------------------------------

    def op_urls(self, ctx, namespace, location, op):
        base = f"{ctx.base_url}/subscriptions/{ctx.sub}/providers/{namespace}/locations/{location or 'global'}"
        q = urllib.parse.urlencode({"api-version": ctx.api_version})
        return f"{base}/operationStatuses/{op.id}?{q}", f"{base}/operationResults/{op.id}?{q}"

    def lro_headers(self, ctx, rtype, rec, op, style):
        status_url, result_url = self.op_urls(ctx, rtype.namespace, rec["body"].get("location"), op)
        headers = {"Retry-After": "0"}
        if style in ("async", "async202"):
            headers["Azure-AsyncOperation"] = status_url
            if op.kind == "delete" or style == "async202":
                headers["Location"] = result_url
        else:
            headers["Location"] = result_url
        return headers

    def start(self, ctx, rec, kind, effect, failed, result=None):
        failure = self.store.take_failure()
        op = Operation(self.store.polls, kind, rec["body"].get("location"), rec["rtype"].namespace, effect, failed,
                       result, failure)
        op.sub = ctx.sub
        rec["op"] = op
        return self.store.add_operation(op)

    def read_operation(self, ctx, namespace, op_id, kind):
        op = self.store.operations.get(op_id)
        if op is None or op.sub != ctx.sub or op.namespace.lower() != namespace.lower():
            raise not_found("OperationNotFound", f"The operation '{op_id}' could not be found.")
        op.read()
        if kind == "operationstatuses":
            return 200, op.status_body(), {}
        if not op.complete:
            return 202, None, {"Location": f"{ctx.base_url}{ctx.path}?{urllib.parse.urlencode({'api-version': ctx.api_version})}",
                               "Retry-After": "0"}
        if op.status == "Failed":
            f = op.failure
            return int(f.get("status", 400)), {"error": {"code": f["code"], "message": f["message"]}}, {}
        if op.result is None:
            return 204, None, {}
        return 200, op.result(), {}

    # --- the lifecycle -------------------------------------------------------------------------

    def put(self, ctx, rtype, names):
        self.group(ctx, ctx.rg_path, for_write=True)
        if rtype.put_def is None:
            raise not_implemented(f"{rtype.full_type} cannot be created or updated by a client here")
        name = names[-1]
        self.check_name(rtype, name)
        parent = self.parent_record(ctx, rtype, names)
        body = self.parse_body(ctx)
        self.app.schemas.validate(*rtype.put_def, body, open_enums=rtype.open_enums)
        if rtype.tracked:
            self.check_location(rtype, body)
        check_tags(body.get("tags"))
        rid = self.resource_id(ctx, rtype, names)
        existing = self.find(rid)
        if existing is not None and self.busy(existing):
            raise conflict("AnotherOperationInProgress",
                           f"Another operation on the resource '{rtype.full_type}/{name}' is in progress; retry when it completes.")
        if parent is not None and self.busy(parent):
            raise conflict(rtype.parent_busy_code,
                           f"The parent resource '{parent['body'].get('name')}' is not ready: an operation on it is in progress.")
        if existing is not None and rtype.tracked:
            was, now = existing["body"].get("location"), normalize_location(body.get("location"))
            if was and now != was:
                raise conflict("InvalidResourceLocation",
                               f"The resource '{name}' already exists in location '{was}' in resource group '{ctx.rg}'. "
                               f"A resource with the same name cannot be created in location '{now}'. Please select a new resource name.")
        if rtype.validate:
            rtype.validate(ctx, name, body, existing, parent)
        stored = self.build_body(ctx, rtype, rid, name, body, existing, parent)
        style = rtype.update_style if existing is not None else rtype.put_style
        created = existing is None
        if created:
            rec = self.new_record(ctx, rtype, rid, stored)
            self.store.resources[rid.lower()] = rec
        else:
            rec = existing
            previous = rec["body"]
            rec["body"] = stored
            rec["changed"] = now_iso()
        if rtype.stored:
            rtype.stored(ctx, rec, created)
        if style == "sync":
            self.set_state(rec, "Succeeded")
            return (rtype.created_status if created else 200), rtype.render(rec), {}
        self.set_state(rec, rtype.provisioning if created else "Updating")

        def done():
            self.set_state(rec, "Succeeded")

        def failed():
            if not created and rtype.provisioning is None:
                rec["body"] = previous
            self.set_state(rec, "Failed")

        op = self.start(ctx, rec, "put", done, failed, result=lambda: rtype.render(rec))
        headers = self.lro_headers(ctx, rtype, rec, op, style)
        if style in ("location", "async202"):
            return 202, None, headers
        return (rtype.created_status if created else 200), rtype.render(rec), headers

    def patch(self, ctx, rtype, names):
        self.group(ctx, ctx.rg_path, for_write=True)
        if rtype.patch_def is None:
            raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method 'PATCH'.")
        parent = self.parent_record(ctx, rtype, names)
        rid = self.resource_id(ctx, rtype, names)
        rec = self.find(rid)
        body = self.parse_body(ctx)
        self.app.schemas.validate(*rtype.patch_def, body, open_enums=rtype.open_enums)
        if rec is None:
            raise resource_not_found(rtype.full_type, names[-1], ctx.rg)
        if self.busy(rec):
            raise conflict("AnotherOperationInProgress",
                           f"Another operation on the resource '{rtype.full_type}/{names[-1]}' is in progress; retry when it completes.")
        if "location" in body and normalize_location(body["location"]) != rec["body"].get("location"):
            raise conflict("InvalidResourceLocation", f"The location of '{names[-1]}' cannot be changed.")
        check_tags(body.get("tags"))
        # ARM PATCH: the tags sent replace the resource's tags; everything else merges.
        merged = copy.deepcopy(rec["body"])
        tags = body.get("tags", merged.get("tags"))
        deep_merge(merged, {k: v for k, v in body.items() if k != "tags"})
        if tags is not None:
            merged["tags"] = copy.deepcopy(tags)
        request = {k: v for k, v in merged.items() if k not in ("id", "name", "type")}
        if rtype.validate:
            rtype.validate(ctx, names[-1], request, rec, parent)
        rec["body"] = self.build_body(ctx, rtype, rid, names[-1], request, rec, parent)
        rec["changed"] = now_iso()
        if rtype.stored:
            rtype.stored(ctx, rec, False)
        self.set_state(rec, "Succeeded")
        return 200, rtype.render(rec), {}

    def get(self, ctx, rtype, names):
        self.group(ctx, ctx.rg_path)
        rid = self.resource_id(ctx, rtype, names)
        rec = self.find(rid)
        if rec is None and rtype.implicit and (rtype.singleton is None or names[-1].lower() == rtype.singleton):
            parent = self.parent_record(ctx, rtype, names)
            rec = self.materialize(ctx, rtype, names, parent)
        if rec is None:
            raise resource_not_found(rtype.full_type, names[-1], ctx.rg)
        if self.busy(rec):
            rec["op"].read()  # time passes for whoever looks
            rec = self.find(rid)
            if rec is None:
                raise resource_not_found(rtype.full_type, names[-1], ctx.rg)
        return 200, rtype.render(rec), {}

    def delete(self, ctx, rtype, names):
        self.group(ctx, ctx.rg_path, for_write=True)
        rid = self.resource_id(ctx, rtype, names)
        rec = self.find(rid)
        if rec is None:
            return 204, None, {}
        if self.busy(rec):
            if rec["op"].kind == "delete":  # a repeated delete joins the running one
                return 202, None, self.lro_headers(ctx, rtype, rec, rec["op"], rtype.delete_style)
            raise conflict("AnotherOperationInProgress",
                           f"Another operation on the resource '{rtype.full_type}/{names[-1]}' is in progress; retry when it completes.")
        if rtype.check_delete:
            rtype.check_delete(ctx, rec)
        if rtype.delete_style == "sync":
            self.remove(rec)
            return 200, None, {}
        previous = rec["body"].get("properties", {}).get(rtype.state_field)
        self.set_state(rec, "Deleting")

        def failed():
            if previous is not None and rtype.provisioning is not None:
                rec["body"]["properties"][rtype.state_field] = previous

        op = self.start(ctx, rec, "delete", lambda: self.remove(rec), failed)
        return 202, None, self.lro_headers(ctx, rtype, rec, op, rtype.delete_style)

    def remove(self, rec):
        for r in self.descendants(rec) + [rec]:
            self.store.resources.pop(r["id"].lower(), None)
        on_removed = rec["hidden"].get("on_removed")
        if on_removed:
            on_removed()

    def action(self, ctx, rtype, names, action):
        self.group(ctx, ctx.rg_path)
        fn = rtype.actions.get(action.lower())
        if fn is None:
            raise bad_request("InvalidResourceType",
                              f"The resource type '{rtype.full_type}/{action}' could not be found in the namespace "
                              f"'{rtype.namespace}' for api version '{ctx.api_version}'.")
        rec = self.find(self.resource_id(ctx, rtype, names))
        if rec is None:
            raise resource_not_found(rtype.full_type, names[-1], ctx.rg)
        return fn(ctx, rec)

    def list_children(self, ctx, rtype, parent_names):
        """GET on a collection: every resource of `rtype` in the group (or under the parent)."""
        self.group(ctx, ctx.rg_path)
        if len(rtype.path) > 1:
            self.parent_record(ctx, rtype, parent_names + ["x"])
            prefix = self.resource_id(ctx, self.lookup(rtype.namespace, rtype.path[:-1]), parent_names).lower() + "/"
        else:
            prefix = f"/subscriptions/{ctx.sub}/resourcegroups/{ctx.rg.lower()}/providers/"
        depth = len(rtype.path)
        items = [r for k, r in sorted(self.store.resources.items())
                 if k.startswith(prefix) and r["rtype"] is rtype and len(r["rtype"].path) == depth]
        return 200, self.page(ctx, [rtype.render(r) for r in items]), {}

    def list_by_subscription(self, ctx, rtype):
        items = [r for k, r in sorted(self.store.resources.items()) if r["sub"] == ctx.sub and r["rtype"] is rtype]
        return 200, self.page(ctx, [rtype.render(r) for r in items]), {}

    # --- shared checks -------------------------------------------------------------------------

    def check_name(self, rtype, name):
        if rtype.singleton and name.lower() != rtype.singleton:
            raise bad_request("InvalidResourceName",
                              f"The resource name '{name}' is invalid for type '{rtype.full_type}': it must be '{rtype.singleton}'.")
        if rtype.name_check:
            rtype.name_check(name, rtype.full_type)

    def check_location(self, rtype, body):
        loc = normalize_location(body.get("location"))
        if loc not in rtype.locations:
            raise bad_request(
                "LocationNotAvailableForResourceType",
                f"The provided location '{body.get('location')}' is not available for resource type '{rtype.full_type}'. "
                f"List of available regions for the resource type is '{','.join(rtype.locations)}'.",
            )

    def parse_body(self, ctx):
        body = ctx.body
        if not isinstance(body, dict):
            raise bad_request("InvalidRequestFormat", "The request body must be a JSON object.")
        return body

    def build_body(self, ctx, rtype, rid, name, body, existing, parent):
        if rtype.build:
            stored = rtype.build(ctx, name, body, existing, parent)
        else:
            stored = {k: copy.deepcopy(v) for k, v in body.items() if v is not None}
            stored.setdefault("properties", {})
        stored["id"], stored["name"], stored["type"] = rid, name, rtype.full_type
        if rtype.tracked:
            stored["location"] = normalize_location(body.get("location"))
        return stored

    # --- lists ----------------------------------------------------------------------------------

    def page(self, ctx, items):
        """One page of `items` and, when more remain, a nextLink with a $skiptoken."""
        size = self.store.page_size
        top = ctx.query.get("$top")
        if top is not None:
            try:
                size = int(top)
                if size < 1:
                    raise ValueError(top)
            except ValueError:
                raise bad_request("InvalidTopValue", f"The value '{top}' of the query parameter '$top' is invalid: it must be a positive integer.")
        start = 0
        token = ctx.query.get("$skiptoken")
        if token:
            try:
                text = base64.urlsafe_b64decode(token.encode()).decode()
                if not text.startswith("offset:"):
                    raise ValueError(text)
                start = int(text[len("offset:"):])
            except (ValueError, UnicodeDecodeError):
                raise bad_request("InvalidSkipToken", f"The skip token '{token}' is invalid.")
        body = {"value": items[start:start + size]}
        if start + size < len(items):
            q = {k: v for k, v in ctx.query.items() if k != "$skiptoken"}
            q["$skiptoken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
            body["nextLink"] = f"{ctx.base_url}{ctx.path}?{urllib.parse.urlencode(q, safe='$')}"
        return body
