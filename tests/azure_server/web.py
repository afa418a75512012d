"""Microsoft.Web 2024-04-01: App Service plans (serverfarms), sites (function apps) and a
site's app settings (PUT sites/{name}/config/appsettings, POST .../config/appsettings/list).

As the real provider: a plan is created at once (200) and deleted at once; a new site answers
202 with its body and an Azure-AsyncOperation header (the published example of a function
app's create), an existing site's PUT 200 at once; DELETE of either 200. A site's
`defaultHostName` is `<name>.azurewebsites.net`; its app settings never come back on a GET
of the site (siteConfig.appSettings is null there, as on Azure): they are read with POST
config/appsettings/list, and a PUT of the site with siteConfig.appSettings replaces them all.
PATCH of plans and sites is not served (405): overcast puts the whole resource.

Rules a client must respect: site names are global DNS labels (2 to 60 letters, digits and
hyphens, no hyphen first or last; another subscription's site of that name gives 409); a
site names an existing plan of its subscription (404 "Cannot find ServerFarm") in its own
region; a Linux site (kind containing `linux`) needs a Linux plan (`reserved: true`), and its
linuxFxVersion must be a stack the catalog lists for Azure (providers/core/catalog/
function.toml, compared case-insensitively as Azure does) and, on a Consumption plan (Y1,
Dynamic), one Linux Consumption still runs (Python 3.12 is its last Python); app setting
names are unique (case-insensitively). A plan with sites cannot be deleted (409).
"""

import copy
import re
from pathlib import Path

from .arm import ResourceType
from .errors import ArmError, bad_request, conflict, not_found, not_implemented
from .store import now_iso

NAMESPACE = "Microsoft.Web"
COMMON = "Microsoft.Web/stable/2024-04-01/CommonDefinitions.json"
FUNCTION_TOML = Path(__file__).resolve().parents[2] / "providers" / "core" / "catalog" / "function.toml"

_SITE_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,58}[a-zA-Z0-9])?")
_PLAN_NAME = re.compile(r"[a-zA-Z0-9-]{1,60}")
# The SKU names and the tier each belongs to (the ones a function app's plan uses).
_TIERS = {"y1": "Dynamic", "fc1": "FlexConsumption", "ep1": "ElasticPremium", "ep2": "ElasticPremium",
          "ep3": "ElasticPremium", "b1": "Basic", "b2": "Basic", "b3": "Basic", "s1": "Standard",
          "s2": "Standard", "s3": "Standard", "p1v3": "PremiumV3", "p2v3": "PremiumV3", "p3v3": "PremiumV3",
          "f1": "Free"}
# Linux Consumption takes no language version newer than these (Microsoft's note of
# 2025-09-30: Python 3.12, Node.js 22 are the last).
_DYNAMIC_LAST = {"python": (3, 12), "node": (22,)}


def catalog_stacks(path=FUNCTION_TOML):
    """The `azure` runtime ids of the catalog, lowercase (`python|3.12`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return set()
    return {m.group(1).lower() for m in re.finditer(r'^azure\s*=\s*\{\s*id\s*=\s*"([^"]+)"', text, re.M)}


def _version(text):
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        return None


class Web:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.engine = app.engine
        self.stacks = catalog_stacks()
        self.plans = ResourceType(
            NAMESPACE, ["serverfarms"], (COMMON, "AppServicePlan"), name=self.check_plan_name,
            put_style="sync", delete_style="sync", provisioning="InProgress", created_status=200,
            validate=self.validate_plan, build=self.build_plan, render=self.render_plan,
            check_delete=self.plan_in_use,
        )
        self.sites = ResourceType(
            NAMESPACE, ["sites"], (COMMON, "Site"), name=self.check_site_name, put_style="async",
            update_style="sync", delete_style="sync", provisioning=None, created_status=202,
            validate=self.validate_site, build=self.build_site, render=self.render_site, stored=self.store_settings,
        )
        self.config = ResourceType(
            NAMESPACE, ["sites", "config"], (COMMON, "StringDictionary"), tracked=False,
            name=self.check_config_name, put_style="sync", delete_style="sync", provisioning=None,
            created_status=200, validate=self.validate_settings, build=self.build_settings,
            check_delete=self.config_delete, actions={"list": self.list_settings},
        )

    def types(self):
        return [self.plans, self.sites, self.config]

    # --- plans -------------------------------------------------------------------------------

    def check_plan_name(self, name, rtype):
        if not _PLAN_NAME.fullmatch(name):
            raise bad_request(
                "InvalidResourceName",
                f"The App Service plan name '{name}' is invalid: it must be 1 to 60 letters, digits and hyphens.",
            )

    def validate_plan(self, ctx, name, body, existing, parent):
        sku = body.get("sku") or (existing["body"].get("sku") if existing else None)
        if not sku or not sku.get("name"):
            raise bad_request("BadRequest", "The parameter 'sku.name' is required to create an App Service plan.")
        tier = _TIERS.get(sku["name"].lower())
        if tier is None:
            raise not_implemented(f"App Service plan SKU '{sku['name']}' is not modelled")
        if sku.get("tier") and sku["tier"].lower() != tier.lower():
            raise bad_request("BadRequest", f"The SKU '{sku['name']}' belongs to the '{tier}' tier, not '{sku['tier']}'.")
        if existing is not None:
            was = bool(existing["body"]["properties"].get("reserved"))
            now = bool((body.get("properties") or {}).get("reserved", was))
            if was != now:
                raise bad_request("BadRequest", "The 'reserved' property (Linux) of an App Service plan cannot change.")

    def build_plan(self, ctx, name, body, existing, parent):
        old = existing["body"] if existing else {}
        sku = copy.deepcopy(body.get("sku") or old.get("sku"))
        tier = _TIERS[sku["name"].lower()]
        sku.update(name=sku["name"].upper(), tier=tier, size=sku["name"].upper(), family=sku["name"][0].upper())
        sku.setdefault("capacity", 0 if tier == "Dynamic" else 1)
        props = copy.deepcopy(old.get("properties", {}))
        props.update(copy.deepcopy(body.get("properties") or {}))
        props.setdefault("reserved", False)
        props.setdefault("perSiteScaling", False)
        props.setdefault("elasticScaleEnabled", False)
        props.setdefault("isSpot", False)
        props.setdefault("isXenon", False)
        props.setdefault("hyperV", False)
        props.setdefault("zoneRedundant", False)
        props.update(status="Ready", subscription=ctx.sub, resourceGroup=ctx.rg,
                     maximumNumberOfWorkers=200 if tier == "Dynamic" else 30,
                     geoRegion=(body.get("location") or old.get("location") or "").replace(" ", "").lower())
        out = {"sku": sku, "kind": body.get("kind") or old.get("kind") or "app", "properties": props}
        tags = body.get("tags")  # a PUT replaces the tags
        if tags is not None:
            out["tags"] = copy.deepcopy(tags)
        return out

    def sites_on(self, plan_id):
        return [r for r in self.store.resources.values()
                if r["rtype"] is self.sites and (r["body"]["properties"].get("serverFarmId") or "").lower() == plan_id.lower()]

    def render_plan(self, rec):
        out = copy.deepcopy(rec["body"])
        out["properties"]["numberOfSites"] = len(self.sites_on(rec["id"]))
        out["properties"]["numberOfWorkers"] = 0 if out["sku"]["tier"] == "Dynamic" else out["sku"].get("capacity", 1)
        return out

    def plan_in_use(self, ctx, rec):
        sites = self.sites_on(rec["id"])
        if sites:
            raise conflict(
                "Conflict",
                f"Server farm '{rec['body']['name']}' cannot be deleted because it has web app(s) "
                f"{', '.join(s['body']['name'] for s in sites)} assigned to it.",
            )

    # --- sites ---------------------------------------------------------------------------------

    def check_site_name(self, name, rtype):
        if not _SITE_NAME.fullmatch(name) or len(name) < 2:
            raise bad_request(
                "InvalidResourceName",
                f"The site name '{name}' is invalid: it must be 2 to 60 letters, digits and hyphens, and cannot start "
                "or end with a hyphen.",
            )

    def validate_site(self, ctx, name, body, existing, parent):
        if existing is None:
            for rec in self.store.resources.values():
                if rec["rtype"] is self.sites and rec["body"]["name"].lower() == name.lower():
                    raise conflict("Conflict", f"Website with given name {name} already exists.")
        props = body.get("properties") or {}
        old = existing["body"]["properties"] if existing else {}
        farm_id = props.get("serverFarmId") or old.get("serverFarmId")
        if not farm_id:
            raise not_implemented("a site without serverFarmId (placed in a default plan) is not modelled")
        plan = self.engine.find(farm_id)
        farm_name = farm_id.rstrip("/").rsplit("/", 1)[-1]
        if plan is None or plan["rtype"] is not self.plans or plan["sub"] != ctx.sub:
            raise not_found("NotFound", f"Cannot find ServerFarm with name {farm_name}.")
        location = (body.get("location") or "").replace(" ", "").lower()
        if plan["body"].get("location") != location:
            raise bad_request(
                "BadRequest",
                f"The App Service plan '{farm_name}' is in '{plan['body'].get('location')}'; a site on it must be in "
                f"the same region, not '{location}'.",
            )
        kind = (body.get("kind") or (existing["body"].get("kind") if existing else "") or "").lower()
        linux = "linux" in kind.split(",")
        if linux and not plan["body"]["properties"].get("reserved"):
            raise bad_request("BadRequest", f"A Linux app needs a Linux App Service plan: '{farm_name}' is not reserved.")
        config = props.get("siteConfig") or {}
        fx = config.get("linuxFxVersion")
        if fx and linux and "functionapp" in kind.split(","):
            self.check_stack(fx, plan)
        seen = set()
        for pair in config.get("appSettings") or []:
            key = (pair.get("name") or "").lower()
            if not key:
                raise bad_request("BadRequest", "An app setting has no name.")
            if key in seen:
                raise bad_request("BadRequest", f"The app setting '{pair['name']}' is given more than once.")
            seen.add(key)

    def check_stack(self, fx, plan):
        bad = bad_request("BadRequest", "The parameter LinuxFxVersion has an invalid value.")
        if self.stacks and fx.lower() not in self.stacks:
            raise bad
        if plan["body"]["sku"]["tier"] == "Dynamic":
            stack, _, version = fx.lower().partition("|")
            last, got = _DYNAMIC_LAST.get(stack), _version(version)
            if last is not None and got is not None and got > last:
                raise bad

    def build_site(self, ctx, name, body, existing, parent):
        old = existing["body"] if existing else {}
        props = copy.deepcopy(old.get("properties", {}))
        new = copy.deepcopy(body.get("properties") or {})
        config = copy.deepcopy(props.get("siteConfig") or {})
        config.update(new.pop("siteConfig", None) or {})
        settings = config.pop("appSettings", None)
        props.update(new)
        host = f"{name.lower()}.azurewebsites.net"
        scm = f"{name.lower()}.scm.azurewebsites.net"
        config.setdefault("numberOfWorkers", 1)
        config.setdefault("linuxFxVersion", "")
        config.setdefault("alwaysOn", False)
        config.setdefault("http20Enabled", False)
        config.setdefault("minTlsVersion", "1.2")
        config.setdefault("ftpsState", "FtpsOnly")
        config.setdefault("functionAppScaleLimit", 200 if "functionapp" in (body.get("kind") or "") else 0)
        props.setdefault("enabled", True)
        props.setdefault("httpsOnly", False)
        props.setdefault("reserved", False)
        props.setdefault("clientAffinityEnabled", False)
        props.setdefault("clientCertEnabled", False)
        props.setdefault("publicNetworkAccess", "Enabled")
        props.update(
            state="Running", hostNames=[host], repositorySiteName=name, usageState="Normal",
            enabledHostNames=[host, scm], availabilityState="Normal",
            hostNameSslStates=[{"name": host, "sslState": "Disabled", "hostType": "Standard"},
                               {"name": scm, "sslState": "Disabled", "hostType": "Repository"}],
            lastModifiedTimeUtc=now_iso()[:23], defaultHostName=host, resourceGroup=ctx.rg,
            outboundIpAddresses="20.0.0.1,20.0.0.2", possibleOutboundIpAddresses="20.0.0.1,20.0.0.2,20.0.0.3",
            siteConfig=config,
        )
        out = {"kind": body.get("kind") or old.get("kind") or "app", "properties": props}
        tags = body.get("tags")  # a PUT replaces the tags
        if tags is not None:
            out["tags"] = copy.deepcopy(tags)
        # What store_settings writes into the site's config/appsettings.
        self._pending_settings = settings
        return out

    def store_settings(self, ctx, rec, created):
        settings = getattr(self, "_pending_settings", None)
        self._pending_settings = None
        rid = rec["id"] + "/config/appsettings"
        current = self.engine.find(rid)
        if settings is None and current is not None:
            return
        values = {p["name"]: p.get("value") or "" for p in settings or []}
        body = {"id": rid, "name": "appsettings", "type": self.config.full_type,
                "location": rec["body"].get("location"), "properties": values}
        if current is None:
            self.store.resources[rid.lower()] = self.engine.new_record(ctx, self.config, rid, body)
        else:
            current["body"] = body
            current["changed"] = now_iso()

    def render_site(self, rec):
        out = copy.deepcopy(rec["body"])
        # As on Azure: app settings are never returned with the site.
        out["properties"]["siteConfig"]["appSettings"] = None
        return out

    # --- app settings ----------------------------------------------------------------------------

    def check_config_name(self, name, rtype):
        if name.lower() != "appsettings":
            raise not_implemented(f"site config '{name}' is not modelled (only appsettings)")

    def validate_settings(self, ctx, name, body, existing, parent):
        props = body.get("properties")
        if not isinstance(props, dict):
            raise bad_request("BadRequest", "The app settings are missing ('properties').")

    def build_settings(self, ctx, name, body, existing, parent):
        return {"location": parent["body"].get("location"), "properties": copy.deepcopy(body.get("properties") or {})}

    def config_delete(self, ctx, rec):
        raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method 'DELETE'.")

    def list_settings(self, ctx, rec):
        if ctx.method != "POST":
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{ctx.method}'.")
        return 200, copy.deepcopy(rec["body"]), {}
