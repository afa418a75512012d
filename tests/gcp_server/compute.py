"""Compute Engine v1: instances, firewalls, networks, the HTTP load balancer chain
(backendBuckets -> urlMaps -> targetHttpProxies -> globalForwardingRules), operations and
image families."""

import copy
import json
import os
import re

from . import listing, refs
from .errors import ApiError, invalid, not_found
from .store import Operation, fingerprint, now_rfc3339, numeric_id

API = "compute"
ZONE = re.compile(r"[a-z]+-[a-z]+[0-9]+-[a-z]")

# Global collections: discovery resource -> (URL collection, path parameter, kind, required fields).
GLOBAL = {
    "firewalls": ("firewalls", "firewall", "compute#firewall", ["name"]),
    "networks": ("networks", "network", "compute#network", ["name"]),
    "backendBuckets": ("backendBuckets", "backendBucket", "compute#backendBucket", ["name", "bucketName"]),
    "urlMaps": ("urlMaps", "urlMap", "compute#urlMap", ["name", "defaultService"]),
    "targetHttpProxies": ("targetHttpProxies", "targetHttpProxy", "compute#targetHttpProxy", ["name", "urlMap"]),
    "globalForwardingRules": ("forwardingRules", "forwardingRule", "compute#forwardingRule", ["name", "target"]),
}
# The methods served; any other method of the discovery document is answered 501.
IMPLEMENTED = {
    "instances": {"insert", "get", "list", "delete", "setLabels", "setMetadata", "stop", "start", "setMachineType"},
    "firewalls": {"insert", "get", "list", "patch", "delete"},
    "networks": {"insert", "get", "list", "delete"},
    "backendBuckets": {"insert", "get", "list", "patch", "delete"},
    "urlMaps": {"insert", "get", "list", "patch", "delete"},
    "targetHttpProxies": {"insert", "get", "list", "patch", "delete"},
    "globalForwardingRules": {"insert", "get", "list", "patch", "delete"},
    "zoneOperations": {"get", "wait"},
    "globalOperations": {"get", "wait"},
    "images": {"getFromFamily", "get"},
}


def public(resource):
    """A resource as answered: without the server's own bookkeeping keys."""
    return {k: copy.deepcopy(v) for k, v in resource.items() if not k.startswith("__")}


class Compute:
    def __init__(self, api, store, images):
        self.api = api
        self.store = store
        self.images = images  # {(project, family): image dict}

    # --- helpers ---------------------------------------------------------------------

    def base(self, ctx):
        return f"{ctx['base_url']}/compute/v1/projects/{ctx['project']}"

    def coll(self, project, collection, zone=""):
        c = self.store.coll(API, project, collection, zone)
        if collection == "networks" and "default" not in c and not self.store.collections.get(
            (API, project, "__default_deleted", "")
        ):
            # Every project starts with the `default` auto-mode network.
            c["default"] = {
                "kind": "compute#network",
                "id": numeric_id(),
                "name": "default",
                "description": "Default network for the project",
                "autoCreateSubnetworks": True,
                "routingConfig": {"routingMode": "REGIONAL"},
                "creationTimestamp": now_rfc3339(),
                "selfLink": f"__SELF__/global/networks/default",
            }
        return c

    def visible(self, project, collection, name, zone="", path=""):
        res = self.coll(project, collection, zone).get(name)
        if res is None or res.get("__pending"):
            raise not_found(f"The resource '{path}' was not found")
        return res

    def render(self, resource, ctx):
        body = public(resource)
        return _fix_links(body, self.base(ctx))

    def operation(self, ctx, op_type, target_link, target_id, effect, zone=None, rollback=None):
        """Start an operation whose `effect` runs when it is DONE; `rollback` undoes what
        the request did at once (an inserted resource) when the operation is made to fail."""
        name = f"operation-{numeric_id()[:13]}-{os.urandom(6).hex()}"
        if zone:
            self_link = f"{self.base(ctx)}/zones/{zone}/operations/{name}"
        else:
            self_link = f"{self.base(ctx)}/global/operations/{name}"
        body = {
            "kind": "compute#operation",
            "id": numeric_id(),
            "name": name,
            "operationType": op_type,
            "targetLink": target_link,
            "targetId": target_id,
            "status": "PENDING",
            "user": "contract-test@overcast.invalid",
            "progress": 0,
            "insertTime": now_rfc3339(),
            "startTime": now_rfc3339(),
            "selfLink": self_link,
        }
        if zone:
            body["zone"] = f"{self.base(ctx)}/zones/{zone}"
        failure = self.store.take_failure()
        if failure:

            def effect():
                if rollback:
                    rollback()
                body["httpErrorStatusCode"] = 400
                body["httpErrorMessage"] = "BAD REQUEST"
                return {"errors": [{"code": failure["code"], "message": failure["message"]}]}

        op = Operation(body, self.store.polls, effect)
        self.store.add_operation(API, ctx["project"], op)
        rid = ctx["query"].get("requestId")
        if rid:
            self.store.request_ids[(ctx["project"], rid)] = name
        return 200, copy.deepcopy(body)

    def required(self, body, fields):
        for f in fields:
            if body.get(f) in (None, "", []):
                raise invalid(f"Invalid value for field 'resource.{f}': ''. The field is required.")

    # --- dispatch --------------------------------------------------------------------

    def handle(self, resource, method, params, query, body, base_url):
        if method not in IMPLEMENTED.get(resource, ()):
            raise ApiError(
                501,
                "notImplemented",
                f"compute.{resource}.{method} exists in Compute Engine v1 but the contract "
                "server does not implement it",
            )
        ctx = {"project": params["project"], "query": query, "base_url": base_url}
        if "zone" in params and not ZONE.fullmatch(params["zone"]):
            raise invalid(f"Invalid value for field 'zone': '{params['zone']}'. Unknown zone.")
        rid = query.get("requestId")
        if rid:
            refs.check_request_id(rid)
            first = self.store.request_ids.get((ctx["project"], rid))
            if first:
                # The same request again: the first operation, not a second change.
                return 200, copy.deepcopy(self.store.operations[(API, ctx["project"], first)].body)
        if resource in ("zoneOperations", "globalOperations"):
            return self.operations_get(resource, params, ctx)
        if resource == "images":
            return self.image(method, params, base_url)
        if resource == "instances":
            return self.instances(method, params, body, ctx)
        return self.global_resource(resource, method, params, body, ctx)

    # --- operations ------------------------------------------------------------------

    def operations_get(self, resource, params, ctx):
        op = self.store.operations.get((API, ctx["project"], params["operation"]))
        zone = params.get("zone")
        where = f"projects/{ctx['project']}/" + (f"zones/{zone}" if zone else "global") + f"/operations/{params['operation']}"
        if op is None or (op.body.get("zone", "").rsplit("/", 1)[-1] or None) != zone:
            raise not_found(f"The resource '{where}' was not found")
        return 200, copy.deepcopy(op.read())

    # --- images ----------------------------------------------------------------------

    def image(self, method, params, base_url):
        project = params["project"]
        if method == "getFromFamily":
            img = self.images.get((project, params["family"]))
            if img is None:
                raise not_found(f"The resource 'projects/{project}/global/images/family/{params['family']}' was not found")
            return 200, _rebase(img, base_url)
        for (p, _), img in self.images.items():
            if p == project and img["name"] == params["image"]:
                return 200, _rebase(img, base_url)
        raise not_found(f"The resource 'projects/{project}/global/images/{params['image']}' was not found")

    def resolve_image(self, value, project, field):
        p, name, family = refs.image_family_ref(value, field)
        p = p or project
        for (ip, fam), img in self.images.items():
            if ip == p and ((family and fam == name) or (not family and img["name"] == name)):
                return img
        kind = "images/family" if family else "images"
        raise not_found(f"The resource 'projects/{p}/global/{kind}/{name}' was not found")

    # --- references between resources ------------------------------------------------

    def refs_of(self, resource, collection, project):
        """(collection, name) of every resource `resource` uses."""
        out = []

        def add(coll, value):
            try:
                p, name = refs.global_ref(value, project, coll, "")
            except ApiError:
                return
            if p == project:
                out.append((coll, name))

        if collection == "instances":
            for nic in resource.get("networkInterfaces", []):
                add("networks", nic.get("network", ""))
        elif collection == "firewalls":
            add("networks", resource.get("network", ""))
        elif collection == "urlMaps":
            for value in _services(resource):
                add("backendBuckets", value)
        elif collection == "targetHttpProxies":
            add("urlMaps", resource.get("urlMap", ""))
        elif collection == "forwardingRules":
            add("targetHttpProxies", resource.get("target", ""))
        return out

    def check_refs(self, resource, collection, project):
        """Every resource `resource` names exists (404 as Compute answers otherwise)."""
        for coll, name in self.refs_of(resource, collection, project):
            self.visible(project, coll, name, path=f"projects/{project}/global/{coll}/{name}")

    def users_of(self, project, collection, name):
        """Resources that use `collection/name`, as 'collection/name' strings."""
        users = []
        for (api, p, coll, zone), items in list(self.store.collections.items()):
            if api != API or p != project or coll.startswith("__"):
                continue
            for other_name, res in items.items():
                if (collection, name) in self.refs_of(res, coll, project):
                    where = f"zones/{zone}/{coll}" if zone else f"global/{coll}"
                    users.append(f"projects/{project}/{where}/{other_name}")
        return users

    # --- instances -------------------------------------------------------------------

    def instances(self, method, params, body, ctx):
        project, zone = ctx["project"], params["zone"]
        items = self.coll(project, "instances", zone)
        path = f"projects/{project}/zones/{zone}/instances"
        if method == "list":
            return 200, listing.page(
                [self.render(r, ctx) for r in items.values()],
                ctx["query"],
                "compute#instanceList",
                f"{path}",
                f"{self.base(ctx)}/zones/{zone}/instances",
            )
        if method == "insert":
            return self.insert_instance(items, body, ctx, zone, path)
        name = params["instance"]
        inst = items.get(name)
        if inst is None:
            raise not_found(f"The resource '{path}/{name}' was not found")
        link = f"{self.base(ctx)}/zones/{zone}/instances/{name}"
        if method == "get":
            return 200, self.render(inst, ctx)
        if method == "delete":
            inst["status"] = "STOPPING"
            return self.operation(ctx, "delete", link, inst["id"], lambda: items.pop(name, None) and None, zone)
        if method == "setLabels":
            self.api.validate("InstancesSetLabelsRequest", body)
            if body.get("labelFingerprint") != inst["labelFingerprint"]:
                raise ApiError(412, "conditionNotMet", "Labels fingerprint either invalid or resource labels have changed")
            _check_labels(body.get("labels", {}))

            def set_labels():
                inst["labels"] = dict(body.get("labels", {}))
                inst["labelFingerprint"] = fingerprint()

            return self.operation(ctx, "setLabels", link, inst["id"], set_labels, zone)
        if method == "setMetadata":
            self.api.validate("Metadata", body)
            if body.get("fingerprint") != inst["metadata"]["fingerprint"]:
                raise ApiError(412, "conditionNotMet", "Supplied fingerprint does not match current metadata fingerprint.")
            _check_metadata(body)

            def set_metadata():
                inst["metadata"] = {"kind": "compute#metadata", "fingerprint": fingerprint()}
                if body.get("items"):
                    inst["metadata"]["items"] = copy.deepcopy(body["items"])

            return self.operation(ctx, "setMetadata", link, inst["id"], set_metadata, zone)
        if method == "stop":
            if inst["status"] not in ("TERMINATED", "STOPPED"):
                inst["status"] = "STOPPING"

            def stopped():
                inst["status"] = "TERMINATED"
                inst["lastStopTimestamp"] = now_rfc3339()

            return self.operation(ctx, "stop", link, inst["id"], stopped, zone)
        if method == "start":
            if inst["status"] != "RUNNING":
                inst["status"] = "STAGING"

            def started():
                inst["status"] = "RUNNING"
                inst["lastStartTimestamp"] = now_rfc3339()

            return self.operation(ctx, "start", link, inst["id"], started, zone)
        if method == "setMachineType":
            self.api.validate("InstancesSetMachineTypeRequest", body)
            self.required(body, ["machineType"])
            refs.machine_type(body["machineType"], project, zone, "machineType")
            if inst["status"] != "TERMINATED":
                raise invalid(
                    f"Invalid resource usage: 'The instance '{path}/{name}' must be stopped "
                    "before its machine type is changed.'"
                )
            new = body["machineType"]

            def set_type():
                inst["machineType"] = _full(new, self.base(ctx), ctx["project"])

            return self.operation(ctx, "setMachineType", link, inst["id"], set_type, zone)
        raise AssertionError(method)

    def insert_instance(self, items, body, ctx, zone, path):
        project = ctx["project"]
        self.api.validate("Instance", body)
        self.required(body, ["name", "machineType", "disks", "networkInterfaces"])
        refs.check_name(body["name"])
        refs.machine_type(body["machineType"], project, zone, "resource.machineType")
        boot = [d for d in body["disks"] if d.get("boot")]
        if len(boot) != 1:
            raise invalid("Invalid value for field 'resource.disks': ''. Exactly one boot disk must be specified.")
        for i, disk in enumerate(body["disks"]):
            init = disk.get("initializeParams")
            if not disk.get("source") and not (init and init.get("sourceImage")) and disk.get("boot"):
                raise invalid(
                    f"Invalid value for field 'resource.disks[{i}]': ''. Boot disk must have a source "
                    "or initializeParams.sourceImage."
                )
            if init and init.get("sourceImage"):
                self.resolve_image(init["sourceImage"], project, f"resource.disks[{i}].initializeParams.sourceImage")
        nics = copy.deepcopy(body["networkInterfaces"])
        for i, nic in enumerate(nics):
            nic.setdefault("network", "global/networks/default")
            refs.global_ref(nic["network"], project, "networks", f"resource.networkInterfaces[{i}].network")
        candidate = dict(body, networkInterfaces=nics)
        self.check_refs(candidate, "instances", project)
        name = body["name"]
        if name in items:
            raise ApiError(409, "alreadyExists", f"The resource '{path}/{name}' already exists")
        inst = copy.deepcopy(body)
        base = self.base(ctx)
        inst.update(
            kind="compute#instance",
            id=numeric_id(),
            status="PROVISIONING",
            creationTimestamp=now_rfc3339(),
            zone=f"{base}/zones/{zone}",
            selfLink=f"{base}/zones/{zone}/instances/{name}",
            machineType=_full(body["machineType"], base, project),
            labels=dict(body.get("labels", {})),
            labelFingerprint=fingerprint(),
            fingerprint=fingerprint(),
            cpuPlatform="Intel Broadwell",
        )
        _check_labels(inst["labels"])
        meta = {"kind": "compute#metadata", "fingerprint": fingerprint()}
        if body.get("metadata", {}).get("items"):
            _check_metadata(body["metadata"])
            meta["items"] = copy.deepcopy(body["metadata"]["items"])
        inst["metadata"] = meta
        octet = len(items) + 2
        for i, nic in enumerate(nics):
            nic["kind"] = "compute#networkInterface"
            nic["name"] = f"nic{i}"
            nic["network"] = _full(nic["network"], base, project)
            nic["networkIP"] = f"10.128.0.{octet}"
            for ac in nic.get("accessConfigs", []):
                ac.setdefault("type", "ONE_TO_ONE_NAT")
                ac.setdefault("name", "External NAT")
                ac["kind"] = "compute#accessConfig"
                ac.setdefault("natIP", f"203.0.113.{octet}")
        inst["networkInterfaces"] = nics
        disks = []
        for i, disk in enumerate(body["disks"]):
            out = {k: v for k, v in disk.items() if k != "initializeParams"}
            dev = disk.get("deviceName") or (name if i == 0 else f"persistent-disk-{i}")
            out.update(
                kind="compute#attachedDisk",
                index=i,
                deviceName=dev,
                type=disk.get("type", "PERSISTENT"),
                mode=disk.get("mode", "READ_WRITE"),
                autoDelete=disk.get("autoDelete", False),
                source=disk.get("source") or f"{base}/zones/{zone}/disks/{dev}",
            )
            disks.append(out)
        inst["disks"] = disks
        items[name] = inst

        def running():
            inst["status"] = "RUNNING"
            inst["lastStartTimestamp"] = now_rfc3339()

        return self.operation(ctx, "insert", inst["selfLink"], inst["id"], running, zone, lambda: items.pop(name, None))

    # --- global collections ----------------------------------------------------------

    def global_resource(self, resource, method, params, body, ctx):
        collection, param, kind, required = GLOBAL[resource]
        project = ctx["project"]
        items = self.coll(project, collection)
        path = f"projects/{project}/global/{collection}"
        base = self.base(ctx)
        schema = self.api.doc["resources"][resource]["methods"]["insert"]["request"]["$ref"]
        if method == "list":
            visible = [self.render(r, ctx) for r in items.values() if not r.get("__pending")]
            return 200, listing.page(visible, ctx["query"], kind + "List", path, f"{base}/global/{collection}")
        if method == "insert":
            self.api.validate(schema, body)
            self.required(body, required)
            refs.check_name(body["name"])
            res = copy.deepcopy(body)
            if collection == "firewalls":
                if bool(body.get("allowed")) == bool(body.get("denied")):
                    raise invalid(
                        "Invalid value for field 'resource.allowed': ''. Exactly one of allowed or denied must be specified."
                    )
                res.setdefault("network", "global/networks/default")
                res.setdefault("direction", "INGRESS")
                res.setdefault("priority", 1000)
                res.setdefault("disabled", False)
                if res["direction"] == "INGRESS" and not (body.get("sourceRanges") or body.get("sourceTags") or body.get("sourceServiceAccounts")):
                    res["sourceRanges"] = ["0.0.0.0/0"]
            if collection == "networks" and body.get("autoCreateSubnetworks") is None and not body.get("IPv4Range"):
                raise invalid(
                    "Invalid value for field 'resource.autoCreateSubnetworks': ''. "
                    "Legacy networks are not supported; set autoCreateSubnetworks."
                )
            self._check_global_refs(res, collection, project)
            name = body["name"]
            if name in items:
                raise ApiError(409, "alreadyExists", f"The resource '{path}/{name}' already exists")
            res.update(kind=kind, id=numeric_id(), creationTimestamp=now_rfc3339(), selfLink=f"{base}/global/{collection}/{name}", __pending=True)
            if collection == "urlMaps":
                res["fingerprint"] = fingerprint()
            if collection == "targetHttpProxies":
                res["fingerprint"] = fingerprint()
            if collection == "forwardingRules":
                res.setdefault("IPAddress", "198.51.100.10")
                res.setdefault("IPProtocol", "TCP")
                res.setdefault("portRange", "80-80")
                res.setdefault("loadBalancingScheme", "EXTERNAL")
                res["labelFingerprint"] = fingerprint()
                res.setdefault("labels", {})
            for key in ("network", "urlMap", "target", "defaultService"):
                if key in res:
                    res[key] = _full(res[key], base, project)
            items[name] = res
            return self.operation(
                ctx, "insert", res["selfLink"], res["id"], lambda: res.pop("__pending", None) and None,
                rollback=lambda: items.pop(name, None),
            )
        name = params[param]
        res = items.get(name)
        if res is None or (res.get("__pending") and method != "delete"):
            raise not_found(f"The resource '{path}/{name}' was not found")
        if method == "get":
            return 200, self.render(res, ctx)
        if method == "delete":
            users = self.users_of(project, collection, name)
            if users:
                raise ApiError(
                    400,
                    "resourceInUseByAnotherResource",
                    f"The {_singular(collection)} resource '{path}/{name}' is already being used by '{users[0]}'",
                )

            def gone():
                items.pop(name, None)
                if collection == "networks" and name == "default":
                    # A marker that is true: an empty dict would read as never deleted.
                    self.store.collections[(API, project, "__default_deleted", "")] = {"default": True}

            return self.operation(ctx, "delete", res["selfLink"], res["id"], gone)
        if method == "patch":
            self.api.validate(schema, body)
            if "name" in body and body["name"] != name:
                raise invalid(f"Invalid value for field 'resource.name': '{body['name']}'. The name cannot be changed.")
            if "fingerprint" in res and "fingerprint" in body and body["fingerprint"] != res["fingerprint"]:
                raise ApiError(412, "conditionNotMet", "Invalid fingerprint.")
            merged = dict(res, **copy.deepcopy(body))
            self._check_global_refs(merged, collection, project)

            def patched():
                for key, value in body.items():
                    res[key] = _full(value, base, project) if key in ("network", "urlMap", "target", "defaultService") else copy.deepcopy(value)
                if "fingerprint" in res:
                    res["fingerprint"] = fingerprint()

            return self.operation(ctx, "patch", res["selfLink"], res["id"], patched)
        raise AssertionError(method)

    def _check_global_refs(self, res, collection, project):
        for field, coll in (("network", "networks"), ("urlMap", "urlMaps"), ("target", "targetHttpProxies")):
            if field in res and collection in ("firewalls", "targetHttpProxies", "forwardingRules"):
                refs.global_ref(res[field], project, coll, f"resource.{field}")
        if collection == "urlMaps":
            for value in _services(res):
                refs.global_ref(value, project, "backendBuckets", "resource.defaultService")
        self.check_refs(res, collection, project)


def _rebase(image, base_url):
    """An image as this server answers it: its links name this server, as every other
    link it gives does, so a client that follows one never reaches Google."""
    text = json.dumps(image).replace("https://www.googleapis.com", base_url)
    return json.loads(text)


def _services(url_map):
    out = []
    if url_map.get("defaultService"):
        out.append(url_map["defaultService"])
    for pm in url_map.get("pathMatchers", []):
        if pm.get("defaultService"):
            out.append(pm["defaultService"])
        for rule in pm.get("pathRules", []):
            if rule.get("service"):
                out.append(rule["service"])
    return out


def _singular(collection):
    return {"networks": "network", "firewalls": "firewall", "backendBuckets": "backend bucket",
            "urlMaps": "url map", "targetHttpProxies": "target http proxy",
            "forwardingRules": "forwarding rule"}.get(collection, collection)


def _full(value, base, project):
    """A partial URL made full (Compute answers references as full URLs)."""
    if not isinstance(value, str) or "://" in value:
        return value
    value = value.lstrip("/")
    prefix = base.rsplit("/projects/", 1)[0] + "/"
    if value.startswith("projects/"):
        return prefix + value
    return f"{base}/{value}"


def _fix_links(body, base):
    if isinstance(body, dict):
        return {k: _fix_links(v, base) for k, v in body.items()}
    if isinstance(body, list):
        return [_fix_links(v, base) for v in body]
    if isinstance(body, str) and body.startswith("__SELF__"):
        return base + body[len("__SELF__"):]
    return body


_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")


def _check_labels(labels):
    if len(labels) > 64:
        raise invalid("Invalid value for field 'labels': at most 64 labels are allowed.")
    for k, v in labels.items():
        if not _LABEL_KEY.fullmatch(k):
            raise invalid(f"Invalid value for field 'labels': '{k}'. Label keys must match [a-z][a-z0-9_-]{{0,62}}.")
        if not isinstance(v, str) or not _LABEL_VALUE.fullmatch(v):
            raise invalid(f"Invalid value for field 'labels.{k}': '{v}'. Label values must match [a-z0-9_-]{{0,63}}.")


_META_KEY = re.compile(r"[a-zA-Z0-9_-]{1,128}")


def _check_metadata(meta):
    seen = set()
    total = 0
    for i, item in enumerate(meta.get("items", [])):
        key = item.get("key")
        if not isinstance(key, str) or not _META_KEY.fullmatch(key):
            raise invalid(f"Invalid value for field 'resource.metadata.items[{i}].key': '{key}'.")
        if key in seen:
            raise invalid(f"Invalid value for field 'resource.metadata.items[{i}].key': '{key}'. Duplicate key.")
        seen.add(key)
        total += len(item.get("value") or "")
        if len(item.get("value") or "") > 256 * 1024:
            raise invalid(f"Invalid value for field 'resource.metadata.items[{i}].value': more than 256 KB.")
    if total > 512 * 1024:
        raise invalid("Invalid value for field 'resource.metadata': the metadata is larger than 512 KB.")
