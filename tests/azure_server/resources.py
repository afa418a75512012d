"""Microsoft.Resources: resource groups (PUT/GET/PATCH/DELETE/HEAD, list), the generic
resource lists of a subscription and of a group, with ARM's `$filter` and `$expand`, and the
subscription itself (Subscriptions_Get, its own document and api-version).

The generic lists hold the tracked resources: top-level ones and nested types that carry a
location and tags (a Front Door endpoint, `Microsoft.Cdn/profiles/afdendpoints`, is listed
in its group as ARM lists it; an untracked child such as a queue or a subnet is not).
`$expand=createdTime` (and `changedTime`, `provisioningState`) adds those fields to each
item, only when asked, as ARM does; the resource group list honours `createdTime` too.

A group is created at once; deleting it answers 202 with a Location URL and takes, when
that operation completes, every resource in it (nested ones too). While it is being
deleted, writes into it are refused (409 ResourceGroupBeingDeleted).
"""

import copy
import re

from .arm import REGIONS, check_tags, normalize_location
from .errors import ArmError, bad_request, conflict, group_not_found, not_implemented
from .store import Operation, now_iso

NAMESPACE = "Microsoft.Resources"
DOC = "Microsoft.Resources/stable/2022-09-01/resources.json"
SUBSCRIPTIONS_DOC = "Microsoft.Resources/stable/2022-12-01/subscriptions.json"
# Subscriptions_Get is in its own document (subscriptions.json) with its own api-versions;
# only the fixture's is served (a false refusal of an older one, never a false accept).
SUBSCRIPTIONS_API = "2022-12-01"

_FILTER_TERM = re.compile(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)


def check_group_name(schemas, name):
    param = schemas.parameter(DOC, "resourceGroupName")
    bad = "".join(sorted({c for c in name if not re.fullmatch(param["pattern"], c)}))
    if bad:
        raise bad_request(
            "InvalidResourceGroup",
            f"The provided resource group name '{name}' has these invalid characters: '{bad}'. The name can only be "
            "a letter, digit, '-', '.', '(', ')' or '_'.",
        )
    if not param["minLength"] <= len(name) <= param["maxLength"]:
        raise bad_request(
            "InvalidResourceGroup",
            f"The provided resource group name '{name}' is invalid: its length must be between "
            f"{param['minLength']} and {param['maxLength']} characters.",
        )
    if name.endswith("."):
        raise bad_request("InvalidResourceGroup", f"Resource group name '{name}' cannot end with period.")


class Groups:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.engine = app.engine

    def body(self, ctx, g):
        out = copy.deepcopy(g["body"])
        out["properties"] = {"provisioningState": "Deleting" if g["op"] and not g["op"].complete else "Succeeded"}
        return out

    def handle(self, ctx, method, rg):
        key = (ctx.sub, rg.lower())
        g = self.store.groups.get(key)
        if method in ("GET", "HEAD"):
            if g is None:
                if method == "HEAD":
                    return 404, None, {}
                raise group_not_found(rg)
            if g["op"] and not g["op"].complete:
                g["op"].read()
                g = self.store.groups.get(key)
                if g is None:
                    if method == "HEAD":
                        return 404, None, {}
                    raise group_not_found(rg)
            return (204, None, {}) if method == "HEAD" else (200, self.body(ctx, g), {})
        if method == "PUT":
            check_group_name(self.app.schemas, rg)
            body = self.app.engine.parse_body(ctx)
            self.app.schemas.validate(DOC, "ResourceGroup", body)
            loc = normalize_location(body["location"])
            if loc not in REGIONS:
                raise bad_request(
                    "LocationNotAvailableForResourceGroup",
                    f"The provided location '{body['location']}' is not available for resource group. List of available "
                    f"regions is '{','.join(REGIONS)}'.",
                )
            check_tags(body.get("tags"))
            if g is not None:
                if g["op"] and not g["op"].complete:
                    raise conflict(
                        "ResourceGroupBeingDeleted",
                        f"The resource group '{g['name']}' is in deprovisioning state and cannot perform this operation.",
                    )
                if g["body"]["location"] != loc:
                    raise conflict(
                        "InvalidResourceGroupLocation",
                        f"Invalid resource group location '{loc}'. The Resource group already exists in location "
                        f"'{g['body']['location']}'.",
                    )
            name = g["name"] if g else rg
            stored = {"id": f"/subscriptions/{ctx.sub}/resourceGroups/{name}", "name": name,
                      "type": "Microsoft.Resources/resourceGroups", "location": loc}
            if body.get("tags") is not None:
                stored["tags"] = copy.deepcopy(body["tags"])
            if body.get("managedBy") is not None:
                stored["managedBy"] = body["managedBy"]
            created = g is None
            g = {"name": name, "body": stored, "op": None, "created": now_iso()}
            self.store.groups[key] = g
            return (201 if created else 200), self.body(ctx, g), {}
        if g is None:
            if method == "PATCH":
                self.app.schemas.validate(DOC, "ResourceGroupPatchable", self.app.engine.parse_body(ctx))
            raise group_not_found(rg)
        if g["op"] and not g["op"].complete:
            if method == "DELETE":
                return 202, None, self.delete_headers(ctx, g["op"])
            raise conflict(
                "ResourceGroupBeingDeleted",
                f"The resource group '{g['name']}' is in deprovisioning state and cannot perform this operation.",
            )
        if method == "PATCH":
            body = self.app.engine.parse_body(ctx)
            self.app.schemas.validate(DOC, "ResourceGroupPatchable", body)
            if body.get("name") is not None and body["name"].lower() != g["name"].lower():
                raise bad_request("InvalidResourceGroup", "The resource group name in the body does not match the URL.")
            check_tags(body.get("tags"))
            if "tags" in body:
                if body["tags"] is None:
                    g["body"].pop("tags", None)
                else:
                    g["body"]["tags"] = copy.deepcopy(body["tags"])
            if body.get("managedBy") is not None:
                g["body"]["managedBy"] = body["managedBy"]
            return 200, self.body(ctx, g), {}
        if method == "DELETE":
            def gone():
                prefix = f"/subscriptions/{ctx.sub}/resourcegroups/{g['name'].lower()}/"
                for k in [k for k in self.store.resources if k.startswith(prefix)]:
                    del self.store.resources[k]
                self.store.groups.pop(key, None)

            failure = self.store.take_failure()
            op = Operation(self.store.polls, "delete", None, NAMESPACE, gone, None, lambda: None, failure)
            op.sub = ctx.sub
            g["op"] = self.store.add_operation(op)
            return 202, None, self.delete_headers(ctx, op)
        raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")

    def delete_headers(self, ctx, op):
        return {"Location": f"{ctx.base_url}/subscriptions/{ctx.sub}/operationresults/{op.id}?api-version={ctx.api_version}",
                "Retry-After": "0"}

    def list(self, ctx):
        groups = [g for (sub, _), g in sorted(self.store.groups.items()) if sub == ctx.sub]
        tag_filter = self.filter(ctx, allowed={"tagname", "tagvalue"})
        expand = _expand(ctx)
        items = []
        for g in groups:
            if tag_filter and not _tags_match(g["body"].get("tags") or {}, tag_filter):
                continue
            item = self.body(ctx, g)
            if "createdtime" in expand:
                item["createdTime"] = g["created"]
            items.append(item)
        return 200, self.app.engine.page(ctx, items), {}

    def filter(self, ctx, allowed):
        """{field lower: value} of a `$filter` of `eq` terms joined by `and`."""
        text = ctx.query.get("$filter")
        if not text:
            return {}
        if re.search(r"\b(substringof|startswith|or|ne)\b", text, re.IGNORECASE):
            raise not_implemented(f"the contract server does not implement this $filter: {text}")
        terms = {}
        for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
            m = _FILTER_TERM.fullmatch(part)
            if not m or m.group(1).lower() not in allowed:
                raise bad_request("InvalidFilterInQueryString", f"Invalid $filter '{text}' specified in the query string.")
            terms[m.group(1).lower()] = m.group(2).replace("''", "'")
        if "tagvalue" in terms and "tagname" not in terms:
            raise bad_request("InvalidFilterInQueryString", f"Invalid $filter '{text}': tagValue needs tagName.")
        return terms

    def list_resources(self, ctx, rg=None):
        """Resources_List / Resources_ListByResourceGroup: the tracked resources (top-level
        ones and tracked nested ones)."""
        if rg is not None:
            self.app.engine.group(ctx, rg)
        terms = self.filter(ctx, allowed={"tagname", "tagvalue", "resourcetype", "name", "location", "resourcegroup"})
        expand = _expand(ctx)
        items = []
        for key, rec in sorted(self.store.resources.items()):
            rtype = rec["rtype"]
            if rec["sub"] != ctx.sub or not (len(rtype.path) == 1 or rtype.tracked):
                continue
            if rg is not None and rec["rg"] != rg.lower():
                continue
            body = rec["body"]
            if "resourcetype" in terms and terms["resourcetype"].lower() != rtype.full_type.lower():
                continue
            if "name" in terms and terms["name"].lower() != body["name"].lower():
                continue
            if "location" in terms and normalize_location(terms["location"]) != body.get("location"):
                continue
            if "resourcegroup" in terms and terms["resourcegroup"].lower() != rec["rg"]:
                continue
            if "tagname" in terms and not _tags_match(body.get("tags") or {}, terms):
                continue
            item = {"id": body["id"], "name": body["name"], "type": rtype.full_type}
            for field in ("sku", "kind", "managedBy", "location", "tags", "identity"):
                if body.get(field) is not None:
                    item[field] = copy.deepcopy(body[field])
            if "tagname" in terms:
                # ARM: a list filtered by tag does not return the resources' tags.
                item.pop("tags", None)
            if "createdtime" in expand:
                item["createdTime"] = rec["created"]
            if "changedtime" in expand:
                item["changedTime"] = rec["changed"]
            if "provisioningstate" in expand:
                item["provisioningState"] = body.get("properties", {}).get("provisioningState", "Succeeded")
            items.append(item)
        return 200, self.app.engine.page(ctx, items), {}


def _expand(ctx):
    """The lowercase fields of `$expand` (createdTime, changedTime, provisioningState)."""
    return {e.strip().lower() for e in (ctx.query.get("$expand") or "").split(",") if e.strip()}


class Subscriptions:
    """GET /subscriptions/{id} (Subscriptions_Get): every well-formed id is a subscription
    of the caller's tenant, Enabled, with the configured display name."""

    def __init__(self, app):
        self.app = app
        self.store = app.store

    def get(self, ctx, sub):
        version = ctx.query.get("api-version")
        if version is None:
            raise bad_request("MissingApiVersionParameter",
                              "The api-version query parameter (?api-version=) is required for all requests.")
        if version != SUBSCRIPTIONS_API:
            raise bad_request(
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are '{SUBSCRIPTIONS_API}'.",
            )
        # The answer holds only properties the fixture's `Subscription` definition names.
        known = self.app.schemas.definition(SUBSCRIPTIONS_DOC, "Subscription")["properties"]
        body = {
            "id": f"/subscriptions/{sub}",
            "subscriptionId": sub,
            "displayName": self.store.subscription_name,
            "tenantId": "00000000-0000-4000-8000-00000000feed",
            "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "authorizationSource": "RoleBased",
        }
        return 200, {k: v for k, v in body.items() if k in known}, {}


def _tags_match(tags, terms):
    name = terms.get("tagname")
    if name is None:
        return True
    for k, v in tags.items():
        if k.lower() == name.lower():
            return "tagvalue" not in terms or v == terms["tagvalue"]
    return False
