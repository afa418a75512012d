"""Flexible database servers: Microsoft.DBforPostgreSQL 2024-08-01 and Microsoft.DBforMySQL
2023-12-30 (flexibleServers and their databases), one model with the differences of each.

As the real providers: creating a server or a database answers 202 with
Azure-AsyncOperation and Location (no body), and so does deleting one; the server's
`properties.state` is the visible lifecycle (Updating while it is created, Ready, Dropping).
`administratorLoginPassword` is write-only: it is never returned. A read replica is a PUT
with createMode Replica and sourceServerResourceId (an existing, Ready, non-Burstable
server of the subscription that is not itself a replica); the replica takes the source's
version and the source becomes a primary. Deleting a primary leaves its replicas as
standalone servers. Server names are global (they are DNS names).

Name rules: server names from the spec's ServerNameParameter (PostgreSQL's; MySQL's is the
same rule) and lower case, as Azure requires; PostgreSQL database names from its
DatabaseNameParameter, MySQL's 1-64 word characters and hyphens.
"""

import copy
import re

from .arm import ResourceType
from .errors import bad_request, conflict, not_found
from .store import now_iso

_ADMIN_RESERVED = {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public", "sa"}
_PG_STORAGE_GB = {32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767}
_TIER_PREFIX = {"burstable": "Standard_B", "generalpurpose": "Standard_D", "memoryoptimized": "Standard_E"}


def _invalid(message):
    return bad_request("InvalidParameterValue", message)


class Flexible:
    """One flexible-server provider (`engine` is "postgres" or "mysql")."""

    def __init__(self, app, engine):
        self.app = app
        self.store = app.store
        self.kind = engine
        if engine == "postgres":
            self.namespace = "Microsoft.DBforPostgreSQL"
            self.doc = "Microsoft.DBforPostgreSQL/stable/2024-08-01/FlexibleServers.json"
            self.db_doc = "Microsoft.DBforPostgreSQL/stable/2024-08-01/Databases.json"
            self.default_version, self.domain = "16", "postgres.database.azure.com"
            self.primary_role, self.replica_role = "Primary", "AsyncReplica"
            self.system_dbs = {"postgres": ("UTF8", "en_US.utf8"), "azure_maintenance": ("UTF8", "en_US.utf8"),
                               "azure_sys": ("UTF8", "en_US.utf8")}
            self.default_charset = ("UTF8", "en_US.utf8")
        else:
            self.namespace = "Microsoft.DBforMySQL"
            self.doc = "Microsoft.DBforMySQL/FlexibleServers/stable/2023-12-30/FlexibleServers.json"
            self.db_doc = "Microsoft.DBforMySQL/FlexibleServers/stable/2023-12-30/Databases.json"
            self.default_version, self.domain = "8.0.21", "mysql.database.azure.com"
            self.primary_role, self.replica_role = "Source", "Replica"
            self.system_dbs = {n: ("utf8mb4", "utf8mb4_0900_ai_ci") for n in
                               ("information_schema", "mysql", "performance_schema", "sys")}
            self.default_charset = ("utf8mb4", "utf8mb4_0900_ai_ci")
        states = {"Creating": "Updating", "Updating": "Updating", "Succeeded": "Ready", "Deleting": "Dropping",
                  "Failed": "Disabled"}
        self.servers = ResourceType(
            self.namespace, ["flexibleServers"], (self.doc, "Server"), patch_def=(self.doc, "ServerForUpdate"),
            name=self.check_server_name, put_style="async202", update_style="async202", delete_style="async202",
            provisioning="Creating", state_field="state", states=states,
            validate=self.validate_server, build=self.build_server, render=self.render_server,
            check_delete=self.before_delete, stored=self.stored,
        )
        self.databases = ResourceType(
            self.namespace, ["flexibleServers", "databases"], (self.db_doc, "Database"), tracked=False,
            name=self.check_database_name, put_style="async202", update_style="async202", delete_style="async202",
            provisioning=None, validate=self.validate_database, build=self.build_database,
            check_delete=self.before_database_delete, parent_busy_code="ServerIsBusy",
        )

    def types(self):
        return [self.servers, self.databases]

    # --- servers ---------------------------------------------------------------------------

    def check_server_name(self, name, rtype):
        p = self.app.schemas.parameter("postgresql/resource-manager/types/common-types.json", "ServerNameParameter")
        if not (p["minLength"] <= len(name) <= p["maxLength"]) or not re.fullmatch(p["pattern"].lstrip("^"), name) \
                or name != name.lower():
            raise bad_request(
                "InvalidResourceName",
                f"The server name '{name}' is invalid: it must be 3 to 63 characters of lower-case letters, digits "
                "and hyphens, and cannot start or end with a hyphen.",
            )

    def others(self, name):
        return [r for r in self.store.resources.values() if r["rtype"] is self.servers and r["body"]["name"] == name]

    def source_of(self, ctx, props):
        sid = props.get("sourceServerResourceId")
        if not sid:
            raise _invalid("sourceServerResourceId is required when createMode is Replica.")
        src = self.app.engine.find(sid)
        if src is None or src["rtype"] is not self.servers or src["sub"] != ctx.sub:
            raise not_found("ResourceNotFound", f"The source server '{sid}' was not found.")
        return src

    def validate_server(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        mode = (props.get("createMode") or "Default").lower()
        if existing is None:
            if self.others(name):
                raise conflict("ServerNameAlreadyExists", f"Specified server name '{name}' is already used.")
            if mode == "replica":
                src = self.source_of(ctx, props)
                sp = src["body"]["properties"]
                if sp.get("state") != "Ready":
                    raise conflict("ServerIsBusy", f"The source server '{src['body']['name']}' is not ready.")
                if sp.get("replicationRole") == self.replica_role:
                    raise _invalid("A replica cannot be the source of another replica.")
                if src["body"]["sku"]["tier"].lower() == "burstable":
                    raise _invalid("Read replicas are not supported for servers of the Burstable tier.")
                if props.get("administratorLogin") or props.get("administratorLoginPassword"):
                    raise _invalid("administratorLogin and administratorLoginPassword cannot be set on a replica.")
            elif mode in ("default", "create"):
                if not body.get("sku"):
                    raise _invalid("The sku of the server is required.")
                login, password = props.get("administratorLogin"), props.get("administratorLoginPassword")
                auth = props.get("authConfig") or {}
                if (auth.get("passwordAuth") or "Enabled").lower() == "enabled":
                    if not login:
                        raise _invalid("administratorLogin is required to create a server with password authentication.")
                    if not password:
                        raise _invalid("administratorLoginPassword is required to create a server.")
            else:
                raise _invalid(f"createMode '{props.get('createMode')}' is not supported by the contract server.")
        else:
            if props.get("administratorLogin") and props["administratorLogin"] != existing["hidden"].get("login"):
                raise _invalid("administratorLogin cannot be changed.")
        login = props.get("administratorLogin")
        if login and (login.lower() in _ADMIN_RESERVED or login.lower().startswith("pg_")
                      or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", login)):
            raise _invalid(f"The administrator login '{login}' is invalid or reserved.")
        password = props.get("administratorLoginPassword")
        if password is not None:
            classes = sum(bool(re.search(rx, password)) for rx in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
            if not (8 <= len(password) <= 128) or classes < 3 or (login and login.lower() in password.lower()):
                raise bad_request(
                    "PasswordNotComplex",
                    "The password does not meet policy requirements: 8 to 128 characters from three of upper case, "
                    "lower case, digits and symbols, not containing the login.",
                )
        sku = body.get("sku")
        if sku:
            prefix = _TIER_PREFIX.get(sku["tier"].lower())
            if not sku["name"].startswith(prefix):
                raise bad_request("SkuNotSupported", f"The sku '{sku['name']}' is not offered in the tier '{sku['tier']}'.")
        size = (props.get("storage") or {}).get("storageSizeGB")
        if size is not None:
            if self.kind == "postgres" and size not in _PG_STORAGE_GB:
                raise _invalid(f"storageSizeGB {size} is invalid: use one of {sorted(_PG_STORAGE_GB)}.")
            if self.kind == "mysql" and not 20 <= size <= 16384:
                raise _invalid(f"storageSizeGB {size} is invalid: use 20 to 16384.")
            if existing is not None:
                old = existing["body"]["properties"]["storage"]["storageSizeGB"]
                if size < old:
                    raise _invalid(f"storageSizeGB cannot shrink (from {old} to {size}).")
        days = (props.get("backup") or {}).get("backupRetentionDays")
        if days is not None and not 1 <= days <= 35:
            raise _invalid(f"backupRetentionDays {days} is invalid: use 1 to 35.")

    def build_server(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        old = copy.deepcopy(existing["body"]) if existing else {}
        hidden = existing["hidden"] if existing else {}
        mode = (props.pop("createMode", None) or "Default").lower()
        password = props.pop("administratorLoginPassword", None)
        if password is not None:
            hidden["password"] = password
        for write_only in ("pointInTimeUTC", "restorePointInTime"):
            props.pop(write_only, None)
        replica = props.get("replica") or {}
        replica.pop("promoteMode", None)
        replica.pop("promoteOption", None)
        merged = old.get("properties", {})
        merged.update(props)
        props = merged
        sku = copy.deepcopy(body.get("sku") or old.get("sku"))
        if existing is None and mode == "replica":
            src = self.source_of(ctx, props)
            sp = src["body"]["properties"]
            sku = sku or copy.deepcopy(src["body"]["sku"])
            props["version"] = sp["version"]
            props["replicationRole"] = self.replica_role
            props["administratorLogin"] = sp.get("administratorLogin")
            props["sourceServerResourceId"] = src["id"]
            sp["replicationRole"] = self.primary_role
        if existing is None:
            hidden["login"] = props.get("administratorLogin")
            props.setdefault("version", self.default_version)
            props.setdefault("replicationRole", "None")
            storage = props.setdefault("storage", {})
            storage.setdefault("storageSizeGB", 32 if self.kind == "postgres" else 20)
            storage.setdefault("autoGrow", "Disabled")
            backup = props.setdefault("backup", {})
            backup.setdefault("backupRetentionDays", 7)
            backup.setdefault("geoRedundantBackup", "Disabled")
            backup["earliestRestoreDate"] = now_iso()
            ha = props.setdefault("highAvailability", {})
            ha.setdefault("mode", "Disabled")
            ha["state"] = "NotEnabled" if ha["mode"] == "Disabled" else "Healthy"
            net = props.setdefault("network", {})
            net.setdefault("publicNetworkAccess", "Disabled" if net.get("delegatedSubnetResourceId") else "Enabled")
            props.setdefault("availabilityZone", "1")
            if self.kind == "postgres":
                auth = props.setdefault("authConfig", {})
                auth.setdefault("activeDirectoryAuth", "Disabled")
                auth.setdefault("passwordAuth", "Enabled")
                props["minorVersion"] = "6"
            props["replicaCapacity"] = 5 if self.kind == "postgres" else 10
            props["fullyQualifiedDomainName"] = f"{name}.{self.domain}"
            props.setdefault("maintenanceWindow", {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0})
        out = {"sku": sku, "properties": props}
        tags = body.get("tags", old.get("tags") if existing and "tags" not in body else None)
        if tags is not None:
            out["tags"] = copy.deepcopy(tags)
        identity = body.get("identity") or old.get("identity")
        if identity:
            out["identity"] = copy.deepcopy(identity)
        self.hidden = hidden
        return out

    def stored(self, ctx, rec, created):
        rec["hidden"] = self.hidden
        if created:
            self.seed_databases(ctx, rec)

    def render_server(self, rec):
        out = copy.deepcopy(rec["body"])
        out["properties"].pop("administratorLoginPassword", None)  # write-only, never returned
        return out

    def before_delete(self, ctx, rec):
        for other in self.store.resources.values():
            if other["rtype"] is self.servers and other["body"]["properties"].get("sourceServerResourceId", "").lower() == rec["id"].lower():
                # The replica goes on as a standalone server once its primary is gone.
                other["body"]["properties"]["replicationRole"] = "None"
                other["body"]["properties"].pop("sourceServerResourceId", None)

    # --- databases -------------------------------------------------------------------------

    def check_database_name(self, name, rtype):
        if self.kind == "postgres":
            p = self.app.schemas.parameter(self.db_doc, "DatabaseNameParameter")
            ok = len(name) >= p["minLength"] and re.fullmatch(p["pattern"].strip("^$"), name)
        else:
            ok = re.fullmatch(r"[\w-]{1,64}", name)
        if not ok:
            raise bad_request("InvalidResourceName", f"The database name '{name}' is invalid.")

    def validate_database(self, ctx, name, body, existing, parent):
        state = parent["body"]["properties"].get("state")
        if state != "Ready":
            raise conflict("ServerIsBusy", f"The server '{parent['body']['name']}' is not ready (state {state}); retry later.")
        if parent["body"]["properties"].get("replicationRole") == self.replica_role:
            raise _invalid("Databases cannot be created on a read replica.")
        if existing is not None:
            old = existing["body"]["properties"]
            new = body.get("properties") or {}
            for field in ("charset", "collation"):
                if new.get(field) and new[field].lower() != old[field].lower():
                    raise _invalid(f"The {field} of an existing database cannot be changed.")

    def build_database(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        if existing is not None:
            props = {**existing["body"]["properties"], **props}
        default = self.system_dbs.get(name, self.default_charset)
        props.setdefault("charset", default[0])
        props.setdefault("collation", default[1])
        return {"properties": props}

    def before_database_delete(self, ctx, rec):
        if rec["body"]["name"] in self.system_dbs:
            raise bad_request("CannotDropSystemDatabase", f"The system database '{rec['body']['name']}' cannot be deleted.")

    def seed_databases(self, ctx, server_rec):
        """The databases every new server has."""
        for name, (charset, collation) in self.system_dbs.items():
            rid = f"{server_rec['id']}/databases/{name}"
            body = {"id": rid, "name": name, "type": self.databases.full_type,
                    "properties": {"charset": charset, "collation": collation}}
            self.store.resources[rid.lower()] = self.app.engine.new_record(ctx, self.databases, rid, body)


class Postgres(Flexible):
    def __init__(self, app):
        super().__init__(app, "postgres")


class MySql(Flexible):
    def __init__(self, app):
        super().__init__(app, "mysql")
