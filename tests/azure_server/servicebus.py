"""Microsoft.ServiceBus 2021-11-01: namespaces (long-running: 201 + Azure-AsyncOperation,
deleted with 202), queues (synchronous 200) and the namespace's authorization rules with
their listKeys (every namespace is made with RootManageSharedAccessKey: Listen, Manage,
Send, as the service makes it).

Rules the real service applies and a client must respect: namespace names are global
(6-50 characters, a letter first, a letter or digit last, not ending in -sb or -mgmt);
queues cannot be made in a namespace still being created; Basic namespaces take no
sessions, duplicate detection, auto-delete-on-idle or forwarding; lockDuration is at most
PT5M (and at least PT5S); requiresSession and enablePartitioning cannot change once the
queue exists; maxSizeInMegabytes is one of 1024..5120 (Basic/Standard).
"""

import base64
import copy
import hashlib
import re

from .arm import ResourceType
from .errors import ArmError, bad_request, conflict
from .schema import duration_seconds
from .store import now_iso

NAMESPACE = "Microsoft.ServiceBus"
NS_DOC = "Microsoft.ServiceBus/stable/2021-11-01/namespace-preview.json"
QUEUE_DOC = "Microsoft.ServiceBus/stable/2021-11-01/Queue.json"
RULE_DOC = "Microsoft.ServiceBus/stable/2021-11-01/AuthorizationRules.json"
ROOT_RULE = "RootManageSharedAccessKey"
COMMON = "servicebus/resource-manager/common/v1/definitions.json"

_NAMESPACE_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]")
_RULE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}")
_QUEUE_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9._/-]{0,258}[a-zA-Z0-9_])?")
_MAX_TIMESPAN = "P10675199DT2H48M5.4775807S"


def _bad(message):
    return bad_request("BadRequest", message)


class ServiceBus:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.namespaces = ResourceType(
            NAMESPACE, ["namespaces"], (NS_DOC, "SBNamespace"), patch_def=(NS_DOC, "SBNamespaceUpdateParameters"),
            name=self.check_namespace_name, put_style="async", delete_style="async", provisioning="Created",
            validate=self.validate_namespace, build=self.build_namespace, render=self.render_namespace,
            stored=self.add_root_rule,
        )
        self.queues = ResourceType(
            NAMESPACE, ["namespaces", "queues"], (QUEUE_DOC, "SBQueue"), tracked=False, name=self.check_queue_name,
            put_style="sync", delete_style="sync", provisioning=None, validate=self.validate_queue,
            build=self.build_queue, render=self.render_queue, created_status=200,
        )

        self.rules = ResourceType(
            NAMESPACE, ["namespaces", "authorizationRules"], (RULE_DOC, "SBAuthorizationRule"), tracked=False,
            name=self.check_rule_name, put_style="sync", delete_style="sync", provisioning=None,
            build=self.build_rule, created_status=200, actions={"listKeys": self.list_keys},
        )

    def types(self):
        return [self.namespaces, self.queues, self.rules]

    # --- namespaces -------------------------------------------------------------------------

    def check_namespace_name(self, name, rtype):
        p = self.app.schemas.parameter(COMMON, "NamespaceNameParameter")
        if not (p["minLength"] <= len(name) <= p["maxLength"]) or not _NAMESPACE_NAME.fullmatch(name) \
                or name.lower().endswith(("-sb", "-mgmt")):
            raise bad_request(
                "InvalidResourceName",
                f"The specified namespace name '{name}' is invalid: it must be 6 to 50 characters long, start with a "
                "letter, end with a letter or number, contain only letters, numbers and hyphens, and not end with "
                "'-sb' or '-mgmt'.",
            )

    def validate_namespace(self, ctx, name, body, existing, parent):
        if existing is None:
            for rec in self.store.resources.values():
                if rec["rtype"] is self.namespaces and rec["body"]["name"].lower() == name.lower():
                    raise conflict("Conflict", f"Namespace name '{name}' is not available: the name is already in use.")
        sku = body.get("sku") or (existing["body"]["sku"] if existing else None)
        if not sku:
            raise _bad("The sku of the namespace is required.")
        tier = sku.get("tier")
        if tier and tier.lower() != sku["name"].lower():
            raise _bad(f"The sku tier '{tier}' does not match the sku name '{sku['name']}'.")
        cap = sku.get("capacity")
        if cap is not None:
            allowed = (1, 2, 4, 8, 16) if sku["name"].lower() == "premium" else (1,)
            if cap not in allowed:
                raise _bad(f"The capacity {cap} is not valid for the {sku['name']} sku: use one of {allowed}.")
        if (body.get("properties") or {}).get("zoneRedundant") and sku["name"].lower() != "premium" and existing is None:
            pass  # accepted and ignored outside Premium, as the service does

    def build_namespace(self, ctx, name, body, existing, parent):
        old = existing["body"] if existing else {}
        sku = copy.deepcopy(body.get("sku") or old.get("sku"))
        canonical = {"basic": "Basic", "standard": "Standard", "premium": "Premium"}[sku["name"].lower()]
        sku["name"] = sku["tier"] = canonical
        if canonical == "Premium":
            sku.setdefault("capacity", 1)
        props = copy.deepcopy(old.get("properties", {}))
        props.update(copy.deepcopy(body.get("properties") or {}))
        props.setdefault("zoneRedundant", False)
        props.setdefault("disableLocalAuth", False)
        props.update(
            serviceBusEndpoint=f"https://{name}.servicebus.windows.net:443/",
            metricId=f"{ctx.sub}:{name.lower()}",
            createdAt=props.get("createdAt") or now_iso(),
            updatedAt=now_iso(),
        )
        out = {"sku": sku, "properties": props}
        tags = body.get("tags", old.get("tags"))
        if tags is not None:
            out["tags"] = copy.deepcopy(tags)
        if body.get("identity") is not None:
            out["identity"] = copy.deepcopy(body["identity"])
        return out

    def add_root_rule(self, ctx, rec, created):
        """A new namespace has its RootManageSharedAccessKey rule from the start."""
        if not created:
            return
        rid = rec["id"] + "/authorizationRules/" + ROOT_RULE
        body = {"id": rid, "name": ROOT_RULE, "type": self.rules.full_type,
                "location": rec["body"].get("location"), "properties": {"rights": ["Listen", "Manage", "Send"]}}
        self.store.resources[rid.lower()] = self.app.engine.new_record(ctx, self.rules, rid, body)

    def render_namespace(self, rec):
        out = copy.deepcopy(rec["body"])
        props = out["properties"]
        state = props.get("provisioningState")
        props["status"] = {"Succeeded": "Active", "Created": "Activating", "Deleting": "Removing",
                           "Failed": "Failed", "Updating": "Active"}.get(state, "Active")
        return out

    # --- authorization rules -------------------------------------------------------------------

    def check_rule_name(self, name, rtype):
        if not _RULE_NAME.fullmatch(name):
            raise bad_request(
                "InvalidResourceName",
                f"The specified authorization rule name '{name}' is invalid: it must be 1 to 50 letters, numbers, "
                "periods, hyphens and underscores, starting with a letter or number.",
            )

    def build_rule(self, ctx, name, body, existing, parent):
        rights = list(dict.fromkeys((body.get("properties") or {}).get("rights") or []))
        if "Manage" in rights and not {"Listen", "Send"} <= set(rights):
            raise _bad("The 'Manage' right needs the 'Listen' and 'Send' rights too.")
        return {"location": parent["body"].get("location"), "properties": {"rights": rights}}

    def list_keys(self, ctx, rec):
        if ctx.method != "POST":
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{ctx.method}'.")
        ns = self.app.engine.find(rec["id"].rsplit("/authorizationRules/", 1)[0])
        if ns is not None and self.app.engine.busy(ns):
            raise conflict("Conflict", f"The namespace '{ns['body']['name']}' is not active yet (it is being provisioned); retry later.")
        name = rec["body"]["name"]
        namespace = rec["id"].split("/")[8]
        keys = [base64.b64encode(hashlib.sha256(f"{namespace}/{name}/{which}".encode()).digest()).decode()
                for which in ("primary", "secondary")]
        endpoint = f"Endpoint=sb://{namespace}.servicebus.windows.net/;SharedAccessKeyName={name};SharedAccessKey="
        return 200, {"primaryConnectionString": endpoint + keys[0], "secondaryConnectionString": endpoint + keys[1],
                     "primaryKey": keys[0], "secondaryKey": keys[1], "keyName": name}, {}

    # --- queues ------------------------------------------------------------------------------

    def check_queue_name(self, name, rtype):
        if not _QUEUE_NAME.fullmatch(name):
            raise bad_request(
                "InvalidResourceName",
                f"The specified queue name '{name}' is invalid: it must be 1 to 260 characters of letters, numbers, "
                "periods, hyphens, underscores and slashes, start with a letter or number and end with a letter, "
                "number or underscore.",
            )

    def validate_queue(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        tier = parent["body"]["sku"]["name"]
        ns = parent["body"]["name"]
        if parent["body"]["properties"].get("provisioningState") != "Succeeded":
            raise conflict("Conflict", f"The namespace '{ns}' is not active yet (it is being provisioned); retry later.")
        if tier == "Basic":
            for prop, label in (("requiresSession", "RequiresSession"), ("requiresDuplicateDetection", "RequiresDuplicateDetection")):
                if props.get(prop):
                    raise _bad(f"The property '{label}' cannot be set when creating a Queue because the namespace '{ns}' "
                               "is using 'Basic' tier.")
            for prop in ("autoDeleteOnIdle", "forwardTo", "forwardDeadLetteredMessagesTo"):
                if props.get(prop) and not (prop == "autoDeleteOnIdle" and props[prop] == _MAX_TIMESPAN):
                    raise _bad(f"The property '{prop}' is not supported in the 'Basic' tier (namespace '{ns}').")
        lock = props.get("lockDuration")
        if lock is not None:
            secs = duration_seconds(lock)
            if secs is None or secs > 300:
                raise _bad(f"The supplied lock time {lock} exceeds the allowed maximum of '5' minutes.")
            if secs < 5:
                raise _bad(f"The supplied lock time {lock} is below the allowed minimum of '5' seconds.")
        ttl = props.get("defaultMessageTimeToLive")
        if ttl is not None and (duration_seconds(ttl) or 0) < 1:
            raise _bad(f"The defaultMessageTimeToLive {ttl} is below the minimum of 1 second.")
        idle = props.get("autoDeleteOnIdle")
        if idle is not None and (duration_seconds(idle) or 0) < 300:
            raise _bad(f"The autoDeleteOnIdle {idle} is below the minimum of 5 minutes.")
        window = props.get("duplicateDetectionHistoryTimeWindow")
        if window is not None and not (20 <= (duration_seconds(window) or 0) <= 7 * 86400):
            raise _bad(f"The duplicateDetectionHistoryTimeWindow {window} must be between 20 seconds and 7 days.")
        count = props.get("maxDeliveryCount")
        if count is not None and count < 1:
            raise _bad(f"The maxDeliveryCount {count} must be at least 1.")
        size = props.get("maxSizeInMegabytes")
        if size is not None and tier != "Premium" and size not in (1024, 2048, 3072, 4096, 5120):
            raise _bad(f"The maxSizeInMegabytes {size} is invalid: use 1024, 2048, 3072, 4096 or 5120.")
        if props.get("maxMessageSizeInKilobytes") is not None and tier != "Premium":
            raise _bad("maxMessageSizeInKilobytes can only be set on Premium namespaces.")
        if existing is not None:
            old = existing["body"]["properties"]
            for prop in ("requiresSession", "enablePartitioning"):
                if prop in props and bool(props[prop]) != bool(old.get(prop)):
                    raise _bad(f"The value of '{prop}' cannot be changed after the queue is created.")

    def build_queue(self, ctx, name, body, existing, parent):
        old = existing["body"]["properties"] if existing else {}
        premium = parent["body"]["sku"]["name"] == "Premium"
        props = {
            "lockDuration": "PT1M", "maxSizeInMegabytes": 1024, "requiresDuplicateDetection": False,
            "requiresSession": False, "defaultMessageTimeToLive": _MAX_TIMESPAN,
            "deadLetteringOnMessageExpiration": False, "enableBatchedOperations": True,
            "duplicateDetectionHistoryTimeWindow": "PT10M", "maxDeliveryCount": 10, "status": "Active",
            "autoDeleteOnIdle": _MAX_TIMESPAN, "enablePartitioning": False, "enableExpress": False,
            "maxMessageSizeInKilobytes": 1024 if premium else 256,
        }
        props.update(copy.deepcopy(body.get("properties") or {}))
        props["createdAt"] = old.get("createdAt") or now_iso()
        props["updatedAt"] = now_iso()
        props["accessedAt"] = "0001-01-01T00:00:00Z"
        return {"location": parent["body"].get("location"), "properties": props}

    def render_queue(self, rec):
        out = copy.deepcopy(rec["body"])
        out["properties"].update(
            sizeInBytes=0, messageCount=0,
            countDetails={"activeMessageCount": 0, "deadLetterMessageCount": 0, "scheduledMessageCount": 0,
                          "transferMessageCount": 0, "transferDeadLetterMessageCount": 0},
        )
        return out
