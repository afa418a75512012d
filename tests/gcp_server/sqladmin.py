"""Cloud SQL Admin v1: instances (read replicas through masterInstanceName), databases and
users under an instance, and operations.

Cloud SQL runs one operation at a time per instance: a mutation while another operation
on the same instance is not DONE is answered 409 operationInProgress, as the real API
does (a client must wait for an instance's creation before adding databases or users).
An instance name stays taken for a while after deletion on the real API; here it stays
taken for the life of the server (or until POST /__contract/reset).
"""

import copy
import re
import uuid

from .errors import ApiError, invalid, not_found
from .refs import NAME
from .store import Operation, fingerprint, now_rfc3339

API = "sqladmin"
IMPLEMENTED = {
    "instances": {"insert", "get", "list", "patch", "delete"},
    "databases": {"insert", "get", "list", "patch", "delete"},
    "users": {"insert", "get", "list", "update", "delete"},
    "operations": {"get"},
}
# Machine tiers by edition: shared-core and custom tiers are Enterprise only; Enterprise
# Plus takes the performance-optimized ones.
_ENTERPRISE_TIER = re.compile(r"db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+|n1-(standard|highmem)-[0-9]+)")
_ENTERPRISE_PLUS_TIER = re.compile(r"db-perf-optimized-N-[0-9]+")
# Versions whose new instances default to Enterprise Plus when no edition is given.
_PLUS_BY_DEFAULT = {"POSTGRES_16", "POSTGRES_17", "POSTGRES_18", "MYSQL_8_4"}


def _busy():
    return ApiError(409, "operationInProgress", "Operation failed because another operation was already in progress.", "ABORTED")


def _no_instance():
    return ApiError(404, "instanceDoesNotExist", "The Cloud SQL instance does not exist.")


def _merge(into, patch):
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


class SqlAdmin:
    def __init__(self, api, store):
        self.api = api
        self.store = store

    def handle(self, resource, method, params, query, body, base_url):
        if method not in IMPLEMENTED.get(resource, ()):
            raise ApiError(
                501,
                "notImplemented",
                f"sql.{resource}.{method} exists in Cloud SQL Admin v1 but the contract server does not implement it",
            )
        project = params["project"]
        ctx = {"project": project, "query": query, "base": f"{base_url}/v1/projects/{project}"}
        if resource == "operations":
            op = self.store.operations.get((API, project, params["operation"]))
            if op is None:
                raise not_found(f"The Cloud SQL operation {params['operation']} does not exist.")
            return 200, copy.deepcopy(op.read())
        instances = self.store.coll(API, project, "instances")
        if resource == "instances":
            return self.instances(method, params, body, ctx, instances)
        inst = instances.get(params["instance"])
        if inst is None:
            raise _no_instance()
        if resource == "databases":
            return self.databases(method, params, body, ctx, inst)
        return self.users(method, params, body, ctx, inst)

    # --- operations ------------------------------------------------------------------

    def operation(self, ctx, op_type, inst, effect, rollback=None):
        """Start an operation on instance `inst` (which is busy until it is DONE);
        `rollback` undoes what the request did at once when the operation is made to fail."""
        name = str(uuid.uuid4())
        body = {
            "kind": "sql#operation",
            "name": name,
            "status": "PENDING",
            "operationType": op_type,
            "targetId": inst["name"],
            "targetLink": f"{ctx['base']}/instances/{inst['name']}",
            "targetProject": ctx["project"],
            "selfLink": f"{ctx['base']}/operations/{name}",
            "user": "contract-test@overcast.invalid",
            "insertTime": now_rfc3339(),
            "startTime": now_rfc3339(),
        }
        failure = self.store.take_failure()
        if failure:

            def effect():
                if rollback:
                    rollback()
                return {"kind": "sql#operationErrors",
                        "errors": [{"kind": "sql#operationError", "code": failure["code"], "message": failure["message"]}]}

        op = Operation(body, self.store.polls, effect)
        self.store.add_operation(API, ctx["project"], op)
        inst["__busy"] = op
        return 200, copy.deepcopy(body)

    def check_idle(self, inst):
        op = inst.get("__busy")
        if op is not None and not op.complete:
            raise _busy()

    # --- instances -------------------------------------------------------------------

    def render(self, inst):
        return {k: copy.deepcopy(v) for k, v in inst.items() if not k.startswith("__")}

    def instances(self, method, params, body, ctx, instances):
        project = ctx["project"]
        if method == "list":
            items = [self.render(i) for i in sorted(instances.values(), key=lambda i: i["name"])]
            out = {"kind": "sql#instancesList"}
            if items:
                out["items"] = items
            return 200, out
        if method == "insert":
            return self.insert_instance(body, ctx, instances)
        inst = instances.get(params["instance"])
        if inst is None:
            raise _no_instance()
        if method == "get":
            return 200, self.render(inst)
        self.check_idle(inst)
        if method == "delete":
            if inst["settings"].get("deletionProtectionEnabled"):
                raise invalid(
                    "The instance is protected. Please disable the deletion protection and try again."
                )
            live_replicas = [r for r in inst.get("replicaNames", []) if r in instances]
            if live_replicas:
                # Google's answer names neither the replicas nor what to do: the caller
                # reads `replicaNames` (cloud.google.com/sql/docs/postgres/delete-instance:
                # "You cannot delete an instance that has any replicas").
                raise ApiError(
                    400,
                    "errorReplicationMasterInvalidOperation",
                    "The requested operation is not valid for a replication master instance.",
                )
            inst["state"] = "PENDING_DELETE"

            def gone():
                instances.pop(inst["name"], None)
                self.store.coll(API, project, "__deleted")[inst["name"]] = True
                master = instances.get(inst.get("masterInstanceName", "").split(":")[-1])
                if master:
                    master["replicaNames"] = [r for r in master.get("replicaNames", []) if r != inst["name"]]

            return self.operation(ctx, "DELETE", inst, gone)
        if method == "patch":
            self.api.validate("DatabaseInstance", body)
            for fixed in ("name", "region", "masterInstanceName"):
                if fixed in body and body[fixed] != inst.get(fixed):
                    raise invalid(f"Invalid request: {fixed} cannot be changed.")
            tier = body.get("settings", {}).get("tier")
            if tier:
                self.check_tier(tier, inst["settings"].get("edition"), inst["databaseVersion"])
            patch = copy.deepcopy(body)

            def patched():
                _merge(inst, patch)
                inst["settings"]["settingsVersion"] = str(int(inst["settings"]["settingsVersion"]) + 1)
                inst["etag"] = fingerprint()

            return self.operation(ctx, "UPDATE", inst, patched)
        raise AssertionError(method)

    def check_tier(self, tier, edition, version):
        ok = _ENTERPRISE_PLUS_TIER if edition == "ENTERPRISE_PLUS" else _ENTERPRISE_TIER
        if not ok.fullmatch(tier):
            raise invalid(
                f"Invalid request: Invalid Tier ({tier}) for ({edition}) Edition. Use the Cloud SQL API "
                f"to list tiers and get the valid tiers for each edition ({version})."
            )

    def insert_instance(self, body, ctx, instances):
        project = ctx["project"]
        self.api.validate("DatabaseInstance", body)
        name = body.get("name")
        if not name:
            raise invalid("Invalid request: instance name is required.")
        if not NAME.fullmatch(name):
            raise invalid(f"Invalid request: instance name ({name}) does not match [a-z]([-a-z0-9]{{0,61}}[a-z0-9])?.")
        settings = body.get("settings") or {}
        if not settings.get("tier"):
            raise invalid("Invalid request: settings.tier is required.")
        master = None
        if body.get("masterInstanceName"):
            master_name = body["masterInstanceName"].split(":")[-1]
            master = instances.get(master_name)
            if master is None or master["state"] != "RUNNABLE":
                raise _no_instance() if master is None else _busy()
            if body.get("databaseVersion", master["databaseVersion"]) != master["databaseVersion"]:
                raise invalid("Invalid request: a read replica must have its primary's databaseVersion.")
        version = body.get("databaseVersion") or (master["databaseVersion"] if master else "MYSQL_8_0")
        edition = settings.get("edition") or ("ENTERPRISE_PLUS" if version in _PLUS_BY_DEFAULT else "ENTERPRISE")
        self.check_tier(settings["tier"], edition, version)
        if name in instances or name in self.store.coll(API, project, "__deleted"):
            raise ApiError(
                409,
                "instanceAlreadyExists",
                "The Cloud SQL instance already exists. When you delete an instance, you can't reuse "
                "the name of the deleted instance until one week from the deletion date.",
            )
        region = body.get("region", "us-central1")
        inst = copy.deepcopy(body)
        inst_settings = inst.setdefault("settings", {})
        inst_settings.update(kind="sql#settings", settingsVersion="1", edition=edition)
        inst_settings.setdefault("availabilityType", "ZONAL")
        inst_settings.setdefault("activationPolicy", "ALWAYS")
        inst_settings.setdefault("dataDiskType", "PD_SSD")
        inst_settings.setdefault("dataDiskSizeGb", "10")
        octet = len(instances) + 2
        inst.update(
            kind="sql#instance",
            name=name,
            project=project,
            state="PENDING_CREATE",
            databaseVersion=version,
            region=region,
            gceZone=f"{region}-a",
            backendType="SECOND_GEN",
            connectionName=f"{project}:{region}:{name}",
            selfLink=f"{ctx['base']}/instances/{name}",
            serviceAccountEmailAddress=f"p123456789-abcdef@gcp-sa-cloud-sql.iam.gserviceaccount.com",
            ipAddresses=[{"type": "PRIMARY", "ipAddress": f"192.0.2.{octet}"}],
            instanceType="READ_REPLICA_INSTANCE" if master else "CLOUD_SQL_INSTANCE",
            etag=fingerprint(),
            createTime=now_rfc3339(),
        )
        if master:
            inst["masterInstanceName"] = master["name"]
        # The databases and users every new instance has.
        if version.startswith("POSTGRES"):
            inst["__databases"] = {"postgres": {"charset": "UTF8", "collation": "en_US.UTF8"}}
            inst["__users"] = {("postgres", ""): {}}
        else:
            inst["__databases"] = {
                n: {"charset": "utf8mb4", "collation": "utf8mb4_0900_ai_ci"}
                for n in ("information_schema", "mysql", "performance_schema", "sys")
            }
            inst["__users"] = {("root", "%"): {}}
        instances[name] = inst

        def created():
            inst["state"] = "RUNNABLE"
            if master is not None:
                master.setdefault("replicaNames", []).append(name)

        return self.operation(
            ctx, "CREATE_REPLICA" if master else "CREATE", inst, created, lambda: instances.pop(name, None)
        )

    # --- databases -------------------------------------------------------------------

    def database_body(self, inst, name, ctx):
        d = inst["__databases"][name]
        return {
            "kind": "sql#database",
            "name": name,
            "instance": inst["name"],
            "project": ctx["project"],
            "charset": d["charset"],
            "collation": d["collation"],
            "etag": d.setdefault("etag", fingerprint()),
            "selfLink": f"{ctx['base']}/instances/{inst['name']}/databases/{name}",
        }

    def databases(self, method, params, body, ctx, inst):
        dbs = inst["__databases"]
        if method == "list":
            return 200, {"kind": "sql#databasesList", "items": [self.database_body(inst, n, ctx) for n in sorted(dbs)]}
        if method == "insert":
            self.api.validate("Database", body, "database")
            if not body.get("name"):
                raise invalid("Invalid request: database name is required.")
            self.check_paths(body, inst, ctx)
            self.check_idle(inst)
            if inst["state"] != "RUNNABLE":
                raise _busy()
            if body["name"] in dbs:
                raise ApiError(409, "alreadyExists", f"Database \"{body['name']}\" already exists.")
            new = {"charset": body.get("charset", "UTF8" if inst["databaseVersion"].startswith("POSTGRES") else "utf8mb4"),
                   "collation": body.get("collation", "en_US.UTF8" if inst["databaseVersion"].startswith("POSTGRES") else "utf8mb4_0900_ai_ci")}
            return self.operation(ctx, "CREATE_DATABASE", inst, lambda: dbs.__setitem__(body["name"], new))
        name = params["database"]
        if name not in dbs:
            raise not_found(f"Database \"{name}\" does not exist on instance {inst['name']}.")
        if method == "get":
            return 200, self.database_body(inst, name, ctx)
        self.check_idle(inst)
        if method == "delete":
            return self.operation(ctx, "DELETE_DATABASE", inst, lambda: dbs.pop(name, None) and None)
        if method == "patch":
            self.api.validate("Database", body, "database")
            if body.get("name", name) != name:
                raise invalid("Invalid request: the database name cannot be changed.")
            self.check_paths(body, inst, ctx)
            patch = {k: body[k] for k in ("charset", "collation") if k in body}
            return self.operation(ctx, "UPDATE_DATABASE", inst, lambda: dbs[name].update(patch, etag=fingerprint()))
        raise AssertionError(method)

    def check_paths(self, body, inst, ctx):
        if body.get("instance", inst["name"]) != inst["name"] or body.get("project", ctx["project"]) != ctx["project"]:
            raise invalid("Invalid request: the instance or project in the body does not match the URL.")

    # --- users -----------------------------------------------------------------------

    def user_body(self, inst, key, ctx):
        name, host = key
        out = {"kind": "sql#user", "name": name, "instance": inst["name"], "project": ctx["project"],
               "etag": inst["__users"][key].setdefault("etag", fingerprint())}
        if host:
            out["host"] = host
        return out

    def users(self, method, params, body, ctx, inst):
        users = inst["__users"]
        mysql = not inst["databaseVersion"].startswith("POSTGRES")
        if method == "list":
            return 200, {"kind": "sql#usersList", "items": [self.user_body(inst, k, ctx) for k in sorted(users)]}
        if method == "insert":
            self.api.validate("User", body, "user")
            if not body.get("name"):
                raise invalid("Invalid request: user name is required.")
            self.check_paths(body, inst, ctx)
            self.check_idle(inst)
            if inst["state"] != "RUNNABLE":
                raise _busy()
            key = (body["name"], body.get("host", "%") if mysql else "")
            if key in users:
                raise ApiError(409, "alreadyExists", f"User \"{body['name']}\" already exists.")
            return self.operation(ctx, "CREATE_USER", inst, lambda: users.__setitem__(key, {}))
        if method == "get":
            name, host = params["name"], ctx["query"].get("host", "%" if mysql else "")
        else:
            name, host = ctx["query"].get("name"), ctx["query"].get("host", "%" if mysql else "")
            if not name:
                raise invalid("Invalid request: the user name is required (query parameter name).")
        key = (name, host if mysql else "")
        if key not in users:
            raise not_found(f"User \"{name}\" does not exist on instance {inst['name']}.")
        if method == "get":
            return 200, self.user_body(inst, key, ctx)
        self.check_idle(inst)
        if method == "delete":
            return self.operation(ctx, "DELETE_USER", inst, lambda: users.pop(key, None) and None)
        if method == "update":
            self.api.validate("User", body, "user")
            self.check_paths(body, inst, ctx)
            return self.operation(ctx, "UPDATE_USER", inst, lambda: users[key].update(etag=fingerprint()))
        raise AssertionError(method)
