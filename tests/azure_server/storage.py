"""Microsoft.Storage 2023-05-01: storage accounts (PUT/GET/PATCH/DELETE, lists, listKeys,
checkNameAvailability), blobServices/default, blobServices/default/containers and
managementPolicies/default.

As the real provider: creating an account answers 202 with a Location URL (200 with the
account once done); PUT on an existing account, PATCH and DELETE complete at once.
Account names are global: another subscription holding the name gives 409
StorageAccountAlreadyTaken, another group of the same subscription 409
StorageAccountInAnotherResourceGroup. A container with public access cannot be made in
an account that does not allow blob public access (the default). The data plane is not
here: the account's primaryEndpoints point at Azurite when --blob-endpoint and
--queue-endpoint say where it runs.
"""

import base64
import copy
import hashlib
import re

from .arm import ResourceType
from .errors import ArmError, bad_request, conflict
from .store import now_iso

NAMESPACE = "Microsoft.Storage"
STORAGE = "Microsoft.Storage/stable/2023-05-01/storage.json"
BLOB = "Microsoft.Storage/stable/2023-05-01/blob.json"

# Azurite's well-known key of its devstoreaccount1 account.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_CONTAINER_NAME = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]|\$root|\$web")


def _account_name_error(name):
    return bad_request(
        "AccountNameInvalid",
        f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in "
        "length and use numbers and lower-case letters only.",
    )


def _account_name_ok(schemas, name):
    p = schemas.parameter(STORAGE, "StorageAccountName")
    return p["minLength"] <= len(name) <= p["maxLength"] and re.fullmatch(p["pattern"].strip("^$"), name) is not None


class Storage:
    def __init__(self, app, storage_key=AZURITE_KEY, blob_endpoint=None, queue_endpoint=None):
        self.app = app
        self.store = app.store
        self.key = storage_key
        self.blob_endpoint = blob_endpoint
        self.queue_endpoint = queue_endpoint
        self.accounts = ResourceType(
            NAMESPACE, ["storageAccounts"], (STORAGE, "StorageAccountCreateParameters"),
            patch_def=(STORAGE, "StorageAccountUpdateParameters"),
            name=self.check_account_name,
            put_style="location", update_style="sync", delete_style="sync", provisioning="Creating",
            validate=self.validate_account, build=self.build_account, actions={"listKeys": self.list_keys},
        )
        self.blob_services = ResourceType(
            NAMESPACE, ["storageAccounts", "blobServices"], (BLOB, "BlobServiceProperties"), tracked=False,
            put_style="sync", delete_style="sync", provisioning=None, singleton="default", implicit=True,
            build=self.build_blob_service,
        )
        self.containers = ResourceType(
            NAMESPACE, ["storageAccounts", "blobServices", "containers"], (BLOB, "BlobContainer"),
            patch_def=(BLOB, "BlobContainer"), tracked=False, put_style="sync", delete_style="sync", provisioning=None,
            validate=self.validate_container, build=self.build_container,
        )
        self.policies = ResourceType(
            NAMESPACE, ["storageAccounts", "managementPolicies"], (STORAGE, "ManagementPolicy"), tracked=False,
            put_style="sync", delete_style="sync", provisioning=None, singleton="default",
            validate=self.validate_policy, build=self.build_policy,
        )

    def types(self):
        return [self.accounts, self.blob_services, self.containers, self.policies]

    # --- storage accounts ------------------------------------------------------------------

    def check_account_name(self, name, rtype):
        if not _account_name_ok(self.app.schemas, name):
            raise _account_name_error(name)

    def holder(self, name):
        for rec in self.store.resources.values():
            if rec["rtype"] is self.accounts and rec["body"]["name"] == name:
                return rec
        return None

    def validate_account(self, ctx, name, body, existing, parent):
        if existing is None:
            other = self.holder(name)
            if other is not None and other["sub"] != ctx.sub:
                raise conflict("StorageAccountAlreadyTaken", f"The storage account named {name} is already taken.")
            if other is not None:
                raise conflict("StorageAccountInAnotherResourceGroup",
                               f"The account {name} is already in another resource group in this subscription.")
        sku = (body.get("sku") or {}).get("name") or (existing["body"]["sku"]["name"] if existing else "")
        kind = body.get("kind") or (existing["body"].get("kind") if existing else None)
        if kind in ("BlockBlobStorage", "FileStorage") and not sku.lower().startswith("premium"):
            raise bad_request("InvalidValuesForRequestParameters",
                              f"Values for request parameters are invalid: kind {kind} needs a Premium SKU.")
        tier = (body.get("properties") or {}).get("accessTier")
        if kind == "BlobStorage" and not tier and existing is None:
            raise bad_request("InvalidRequestPropertyValue", "The value for the property 'accessTier' is required for kind BlobStorage.")

    def endpoints(self, name):
        def url(template, service):
            if template:
                return template.replace("{name}", name).rstrip("/") + "/"
            return f"https://{name}.{service}.core.windows.net/"

        return {"blob": url(self.blob_endpoint, "blob"), "queue": url(self.queue_endpoint, "queue"),
                "table": f"https://{name}.table.core.windows.net/", "file": f"https://{name}.file.core.windows.net/",
                "dfs": f"https://{name}.dfs.core.windows.net/", "web": f"https://{name}.z13.web.core.windows.net/"}

    def build_account(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        old = existing["body"] if existing else {}
        created = old.get("properties", {}).get("creationTime") or now_iso()
        sku = copy.deepcopy(body.get("sku") or old.get("sku"))
        sku["tier"] = "Premium" if sku["name"].lower().startswith("premium") else "Standard"
        kind = body.get("kind") or old.get("kind")
        out = {"sku": sku, "kind": kind}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        if body.get("identity") is not None:
            out["identity"] = copy.deepcopy(body["identity"])
        if body.get("extendedLocation") is not None:
            out["extendedLocation"] = copy.deepcopy(body["extendedLocation"])
        props.setdefault("allowBlobPublicAccess", False)
        props.setdefault("supportsHttpsTrafficOnly", True)
        props.setdefault("minimumTlsVersion", "TLS1_0")
        if kind in ("StorageV2", "BlobStorage"):
            props.setdefault("accessTier", "Hot")
        enc = props.setdefault("encryption", {})
        enc.setdefault("keySource", "Microsoft.Storage")
        services = enc.setdefault("services", {})
        for svc in ("blob", "file"):
            services.setdefault(svc, {}).update(enabled=True, lastEnabledTime=created)
            services[svc].setdefault("keyType", "Account")
        acls = props.setdefault("networkAcls", {"defaultAction": "Allow"})
        acls.setdefault("bypass", "AzureServices")
        acls.setdefault("virtualNetworkRules", [])
        acls.setdefault("ipRules", [])
        loc = (body.get("location") or old.get("location") or "").replace(" ", "").lower()
        props.update(
            creationTime=created,
            primaryEndpoints=self.endpoints(name),
            primaryLocation=loc,
            statusOfPrimary="available",
            keyCreationTime={"key1": created, "key2": created},
            privateEndpointConnections=[],
        )
        if sku["name"].upper() in ("STANDARD_GRS", "STANDARD_RAGRS", "STANDARD_GZRS", "STANDARD_RAGZRS"):
            props.update(secondaryLocation=loc, statusOfSecondary="available")
        out["properties"] = props
        return out

    def list_keys(self, ctx, rec):
        if ctx.method != "POST":
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{ctx.method}'.")
        if self.app.engine.busy(rec):
            raise conflict("StorageAccountIsNotProvisioned",
                           f"The storage account provisioning state must be 'Succeeded' before executing the operation.")
        second = base64.b64encode(hashlib.sha512(("key2" + rec["body"]["name"]).encode()).digest()).decode()
        created = rec["body"]["properties"]["creationTime"]
        return 200, {"keys": [
            {"creationTime": created, "keyName": "key1", "value": self.key, "permissions": "FULL"},
            {"creationTime": created, "keyName": "key2", "value": second, "permissions": "FULL"},
        ]}, {}

    def check_name_availability(self, ctx):
        body = self.app.engine.parse_body(ctx)
        self.app.schemas.validate(STORAGE, "StorageAccountCheckNameAvailabilityParameters", body)
        name = body["name"]
        if not _account_name_ok(self.app.schemas, name):
            return 200, {"nameAvailable": False, "reason": "AccountNameInvalid",
                         "message": _account_name_error(name).message}, {}
        if self.holder(name) is not None:
            return 200, {"nameAvailable": False, "reason": "AlreadyExists",
                         "message": f"The storage account named {name} is already taken."}, {}
        return 200, {"nameAvailable": True}, {}

    # --- blob service, containers, lifecycle policy -------------------------------------------

    def build_blob_service(self, ctx, name, body, existing, parent):
        old = copy.deepcopy(existing["body"].get("properties", {})) if existing else {
            "cors": {"corsRules": []}, "deleteRetentionPolicy": {"allowPermanentDelete": False, "enabled": False}}
        props = copy.deepcopy(body.get("properties") or {})
        for k, v in props.items():
            old[k] = v
        drp = old.get("deleteRetentionPolicy") or {}
        if drp.get("enabled") and "days" not in drp:
            drp["days"] = 7
        return {"sku": copy.deepcopy(parent["body"]["sku"]), "properties": old}

    def account_of(self, parent):
        """The storage account record above a blob service record."""
        return self.app.engine.find(parent["id"].rsplit("/blobServices/", 1)[0])

    def validate_container(self, ctx, name, body, existing, parent):
        if not (3 <= len(name) <= 63):
            raise bad_request("ContainerOperationFailure", "The specified resource name length is not within the permissible limits.")
        if not _CONTAINER_NAME.fullmatch(name):
            raise bad_request("ContainerOperationFailure", "The specified resource name contains invalid characters.")
        access = ((body.get("properties") or {}).get("publicAccess") or "None")
        account = self.account_of(parent)
        if access.lower() != "none" and not account["body"]["properties"].get("allowBlobPublicAccess"):
            raise conflict("ContainerOperationFailure", "Public access is not permitted on this storage account.")

    def build_container(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(existing["body"]["properties"]) if existing else {}
        for k, v in (body.get("properties") or {}).items():
            props[k] = copy.deepcopy(v)
        props.setdefault("publicAccess", "None")
        for field in ("publicAccess",):
            for allowed in ("Container", "Blob", "None"):
                if props[field].lower() == allowed.lower():
                    props[field] = allowed
        props.setdefault("defaultEncryptionScope", "$account-encryption-key")
        props.setdefault("denyEncryptionScopeOverride", False)
        props.update(leaseStatus="Unlocked", leaseState="Available", hasImmutabilityPolicy=False, hasLegalHold=False,
                     deleted=False, remainingRetentionDays=0, lastModifiedTime=now_iso())
        return {"etag": '"0x8DC%012X"' % (abs(hash((name, props["lastModifiedTime"]))) % (16**12)), "properties": props}

    def validate_policy(self, ctx, name, body, existing, parent):
        names = set()
        for rule in body["properties"]["policy"]["rules"]:
            if rule["name"] in names:
                raise bad_request("InvalidManagementPolicyRule", f"The rule name '{rule['name']}' is used more than once.")
            names.add(rule["name"])
            if not re.fullmatch(r"[A-Za-z0-9]{1,256}", rule["name"]):
                raise bad_request("InvalidManagementPolicyRule",
                                  f"The rule name '{rule['name']}' is invalid: it may only contain letters and digits.")
            for bt in (rule["definition"].get("filters") or {}).get("blobTypes", []):
                if bt not in ("blockBlob", "appendBlob"):
                    raise bad_request("InvalidManagementPolicyRule", f"The blob type '{bt}' is invalid: use blockBlob or appendBlob.")

    def build_policy(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        props["lastModifiedTime"] = now_iso()
        return {"properties": props}
