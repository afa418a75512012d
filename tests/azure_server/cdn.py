"""Microsoft.Cdn 2024-09-01: Azure Front Door Standard/Premium profiles, endpoints
(afdEndpoints), origin groups, origins, routes, rule sets and rules.

As the real provider: a profile, endpoint, origin group, origin, route or rule PUT answers
201 (200 on update) with provisioningState Creating (Updating) and an Azure-AsyncOperation
header, a rule set PUT completes at once (the spec gives it no long-running answer), and
DELETE answers 202 with Azure-AsyncOperation and Location. Profiles and endpoints are
tracked resources of location `global` only; only the Front Door SKUs are served (a classic
CDN SKU answers 501). Deleting a profile deletes everything under it; deleting an endpoint
deletes its routes.

Front Door's own rules, each answered 400 with the code Front Door gives its validation
failures, `BadRequest` (the codes are not in the spec's examples; the messages of the first
two are the ones Front Door is publicly reported to give):
  - a route needs an origin group of its profile that holds an enabled origin;
  - the last enabled origin of an origin group a route or rule uses cannot be deleted or
    disabled (so an origin's host name changes in place, never by delete-and-create);
  - an origin group or rule set a route (or a rule) refers to cannot be deleted;
  - a route's patterns start with `/` and have a `*` only at the end; an HTTPS redirect
    needs both protocols; a route is linked to the default domain unless it names custom
    domains; the rule sets it names are of its profile;
  - a rule's cache duration is `[d.]hh:mm:ss` with 1 to 365 days, and an override
    behaviour needs one; a RouteConfigurationOverride action takes its own parameter type.
Names are held to Front Door's rules (the profile's to the spec's pattern; the others'
as Front Door enforces them, also `BadRequest`).
"""

import base64
import copy
import hashlib
import ipaddress
import re
import uuid

from .arm import ResourceType
from .errors import bad_request, not_implemented

NAMESPACE = "Microsoft.Cdn"
AFDX = "Microsoft.Cdn/stable/2024-09-01/afdx.json"
CDN = "Microsoft.Cdn/stable/2024-09-01/cdn.json"
AFD_SKUS = ("Standard_AzureFrontDoor", "Premium_AzureFrontDoor")
ROUTE_CONFIG_PARAMS = "DeliveryRuleRouteConfigurationOverrideActionParameters"

# Front Door's name rules, by type (pattern, what the message says).
_NAMES = {
    "afdEndpoints": (r"[0-9a-zA-Z][-0-9a-zA-Z]{0,44}[0-9a-zA-Z]",
                     "2 to 46 letters, digits and hyphens, beginning and ending with a letter or digit"),
    "originGroups": (r"[0-9a-zA-Z][-0-9a-zA-Z]{0,88}[0-9a-zA-Z]",
                     "2 to 90 letters, digits and hyphens, beginning and ending with a letter or digit"),
    "origins": (r"[0-9a-zA-Z][-0-9a-zA-Z]{0,88}[0-9a-zA-Z]",
                "2 to 90 letters, digits and hyphens, beginning and ending with a letter or digit"),
    "routes": (r"[0-9a-zA-Z][-0-9a-zA-Z]{0,88}[0-9a-zA-Z]",
               "2 to 90 letters, digits and hyphens, beginning and ending with a letter or digit"),
    "ruleSets": (r"[a-zA-Z][0-9a-zA-Z]{0,59}", "1 to 60 letters and digits, beginning with a letter"),
    "rules": (r"[a-zA-Z][0-9a-zA-Z]{0,259}", "1 to 260 letters and digits, beginning with a letter"),
}
_HOST_LABEL = re.compile(r"(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
_DURATION = re.compile(r"(?:([1-9][0-9]{0,2})\.)?([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])")
_IN_USE_ORIGIN = ("Cannot disable or delete the last origin when the origin group is still associated with a route "
                  "or a rule. Please disassociate the origin group and try again.")
_NO_ORIGIN = ("Please make sure that the originGroup is created successfully and at least one enabled origin is created "
              "under the origin group.")


def _afd_error(message):
    return bad_request("BadRequest", message)


def _name_check(kind):
    pattern, what = _NAMES[kind]
    rx = re.compile(pattern)

    def check(name, rtype):
        if not rx.fullmatch(name):
            raise _afd_error(f"The name '{name}' is invalid for {rtype}: it must be {what}.")

    return check


def _host_ok(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(host) <= 253 and len(labels) >= 2 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _same(a, b):
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _ref_id(value):
    return value.get("id") if isinstance(value, dict) else None


class Cdn:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.engine = app.engine
        lro = dict(put_style="async", delete_style="async", provisioning="Creating")
        self.profiles = ResourceType(
            NAMESPACE, ["profiles"], (CDN, "Profile"), patch_def=(CDN, "ProfileUpdateParameters"),
            name=self.check_profile_name, locations=("global",), validate=self.validate_profile,
            build=self.build_profile, **lro,
        )
        self.endpoints = ResourceType(
            NAMESPACE, ["profiles", "afdEndpoints"], (AFDX, "AFDEndpoint"),
            patch_def=(AFDX, "AFDEndpointUpdateParameters"), name=_name_check("afdEndpoints"), locations=("global",),
            build=self.build_endpoint, **lro,
        )
        self.origin_groups = ResourceType(
            NAMESPACE, ["profiles", "originGroups"], (AFDX, "AFDOriginGroup"),
            patch_def=(AFDX, "AFDOriginGroupUpdateParameters"), tracked=False, name=_name_check("originGroups"),
            build=self.build_origin_group, check_delete=self.check_origin_group_delete, **lro,
        )
        self.origins = ResourceType(
            NAMESPACE, ["profiles", "originGroups", "origins"], (AFDX, "AFDOrigin"),
            patch_def=(AFDX, "AFDOriginUpdateParameters"), tracked=False, name=_name_check("origins"),
            validate=self.validate_origin, build=self.build_origin, check_delete=self.check_origin_delete, **lro,
        )
        self.routes = ResourceType(
            NAMESPACE, ["profiles", "afdEndpoints", "routes"], (AFDX, "Route"),
            patch_def=(AFDX, "RouteUpdateParameters"), tracked=False, name=_name_check("routes"),
            validate=self.validate_route, build=self.build_route, **lro,
        )
        self.rule_sets = ResourceType(
            NAMESPACE, ["profiles", "ruleSets"], (AFDX, "RuleSet"), tracked=False, name=_name_check("ruleSets"),
            put_style="sync", delete_style="async", provisioning="Creating", build=self.build_rule_set,
            check_delete=self.check_rule_set_delete,
        )
        self.rules = ResourceType(
            NAMESPACE, ["profiles", "ruleSets", "rules"], (AFDX, "Rule"), patch_def=(AFDX, "RuleUpdateParameters"),
            tracked=False, name=_name_check("rules"), validate=self.validate_rule, build=self.build_rule, **lro,
        )

    def types(self):
        return [self.profiles, self.endpoints, self.origin_groups, self.origins, self.routes, self.rule_sets,
                self.rules]

    # --- lookups ----------------------------------------------------------------------------

    def profile_of(self, rec):
        """The profile record above a record of this namespace."""
        rid = rec["id"]
        cut = rid.lower().index("/providers/microsoft.cdn/profiles/") + len("/providers/microsoft.cdn/profiles/")
        end = rid.find("/", cut)
        return self.engine.find(rid if end < 0 else rid[:end])

    def under(self, profile, rtype):
        prefix = profile["id"].lower() + "/"
        return [r for k, r in sorted(self.store.resources.items()) if k.startswith(prefix) and r["rtype"] is rtype]

    def in_profile(self, profile, rid, rtype):
        """The record `rid` names when it is a `rtype` of `profile`."""
        rec = self.engine.find(rid) if isinstance(rid, str) else None
        if rec is None or rec["rtype"] is not rtype or not rec["id"].lower().startswith(profile["id"].lower() + "/"):
            return None
        return rec

    def users_of_group(self, group):
        """Ids of the routes and rules that send traffic to `group`."""
        profile = self.profile_of(group)
        users = [r["id"] for r in self.under(profile, self.routes)
                 if _same(_ref_id(r["body"]["properties"].get("originGroup")), group["id"])]
        for rule in self.under(profile, self.rules):
            for action in rule["body"]["properties"].get("actions") or []:
                override = (action.get("parameters") or {}).get("originGroupOverride") or {}
                if _same(_ref_id(override.get("originGroup")), group["id"]):
                    users.append(rule["id"])
        return users

    def enabled_origins(self, group):
        return [o for o in self.engine.descendants(group)
                if o["rtype"] is self.origins and o["body"]["properties"].get("enabledState") != "Disabled"]

    # --- profiles ----------------------------------------------------------------------------

    def check_profile_name(self, name, rtype):
        p = self.app.schemas.parameter(AFDX, "profileNameParameter")
        if not p["minLength"] <= len(name) <= p["maxLength"] or not re.search(p["pattern"], name):
            raise _afd_error(f"The profile name '{name}' is invalid: it must match '{p['pattern']}' and be "
                             f"{p['minLength']} to {p['maxLength']} characters long.")

    def validate_profile(self, ctx, name, body, existing, parent):
        sku = (body.get("sku") or {}).get("name") or ""
        if sku.lower() not in {s.lower() for s in AFD_SKUS}:
            raise not_implemented(f"the contract server serves Front Door profiles only ({', '.join(AFD_SKUS)}), "
                                  f"not the SKU '{sku}'")
        if existing is not None and not _same(existing["body"]["sku"]["name"], sku):
            raise _afd_error(f"The SKU of profile '{name}' cannot be changed by an update; use the upgrade action.")

    def build_profile(self, ctx, name, body, existing, parent):
        old = existing["body"] if existing else {}
        old_props = old.get("properties") or {}
        sent = body.get("properties") or {}
        sku = next(s for s in AFD_SKUS if s.lower() == body["sku"]["name"].lower())
        props = {
            "originResponseTimeoutSeconds": sent.get("originResponseTimeoutSeconds",
                                                     old_props.get("originResponseTimeoutSeconds", 60)),
            "frontDoorId": old_props.get("frontDoorId") or str(uuid.uuid4()),
            "resourceState": "Active",
            "extendedProperties": {},
        }
        if sent.get("logScrubbing") is not None:
            props["logScrubbing"] = copy.deepcopy(sent["logScrubbing"])
        out = {"sku": {"name": sku}, "kind": "frontdoor", "properties": props}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        return out

    # --- endpoints ---------------------------------------------------------------------------

    def build_endpoint(self, ctx, name, body, existing, parent):
        old = (existing["body"].get("properties") or {}) if existing else {}
        sent = body.get("properties") or {}
        scope = sent.get("autoGeneratedDomainNameLabelScope") or old.get("autoGeneratedDomainNameLabelScope") or "TenantReuse"
        host = old.get("hostName")
        if not host:
            # <name>-<16 characters>.z01.azurefd.net, as Front Door names an endpoint's default domain.
            digest = hashlib.sha256(f"{ctx.sub}/{ctx.rg.lower()}/{parent['body']['name']}/{name}".lower().encode()).digest()
            host = f"{name.lower()}-{base64.b32encode(digest).decode().lower()[:16]}.z01.azurefd.net"
        props = {
            "hostName": host,
            "enabledState": sent.get("enabledState") or old.get("enabledState") or "Enabled",
            "autoGeneratedDomainNameLabelScope": scope,
            "profileName": parent["body"]["name"],
            "deploymentStatus": "NotStarted",
        }
        out = {"properties": props}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        return out

    # --- origin groups and origins -----------------------------------------------------------

    def build_origin_group(self, ctx, name, body, existing, parent):
        sent = copy.deepcopy(body.get("properties") or {})
        props = {k: v for k, v in sent.items() if v is not None and k not in ("provisioningState", "deploymentStatus")}
        lb = props.setdefault("loadBalancingSettings", {})
        lb.setdefault("sampleSize", 4)
        lb.setdefault("successfulSamplesRequired", 3)
        lb.setdefault("additionalLatencyInMilliseconds", 50)
        props.setdefault("sessionAffinityState", "Disabled")
        props.setdefault("trafficRestorationTimeToHealedOrNewEndpointsInMinutes", 10)
        props.update(profileName=parent["body"]["name"], deploymentStatus="NotStarted")
        return {"properties": props}

    def check_origin_group_delete(self, ctx, rec):
        users = self.users_of_group(rec)
        if users:
            raise _afd_error(f"The origin group '{rec['body']['name']}' is used by {users[0]} and cannot be deleted. "
                             "Remove it from the routes and rules that use it first.")

    def validate_origin(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        host = props.get("hostName")
        if not isinstance(host, str) or not _host_ok(host):
            raise _afd_error(f"The origin host name '{host}' is invalid: it must be a domain name or an IP address.")
        header = props.get("originHostHeader")
        if header is not None and header != "" and not _host_ok(header):
            raise _afd_error(f"The origin host header '{header}' is invalid: it must be a domain name.")
        disabling = props.get("enabledState") == "Disabled"
        if existing is not None and disabling and existing["body"]["properties"].get("enabledState") != "Disabled":
            self.check_last_origin(existing, parent)

    def check_last_origin(self, origin, group):
        others = [o for o in self.enabled_origins(group) if o["id"].lower() != origin["id"].lower()]
        if not others and self.users_of_group(group):
            raise _afd_error(_IN_USE_ORIGIN)

    def build_origin(self, ctx, name, body, existing, parent):
        sent = copy.deepcopy(body.get("properties") or {})
        props = {k: v for k, v in sent.items() if v is not None and k not in ("provisioningState", "deploymentStatus")}
        for key, default in (("httpPort", 80), ("httpsPort", 443), ("priority", 1), ("weight", 1000),
                             ("enabledState", "Enabled"), ("enforceCertificateNameCheck", True)):
            props.setdefault(key, default)
        props.update(originGroupName=parent["body"]["name"], deploymentStatus="NotStarted")
        return {"properties": props}

    def check_origin_delete(self, ctx, rec):
        if rec["body"]["properties"].get("enabledState") == "Disabled":
            return
        group = self.engine.find(rec["id"].rsplit("/origins/", 1)[0])
        if group is not None:
            self.check_last_origin(rec, group)

    # --- routes ------------------------------------------------------------------------------

    def validate_route(self, ctx, name, body, existing, parent):
        profile = self.profile_of(parent)
        props = body.get("properties") or {}
        group = self.in_profile(profile, _ref_id(props.get("originGroup")), self.origin_groups)
        if group is None or not self.enabled_origins(group):
            raise _afd_error(_NO_ORIGIN)
        for ref in props.get("ruleSets") or []:
            if self.in_profile(profile, _ref_id(ref), self.rule_sets) is None:
                raise _afd_error(f"The rule set '{_ref_id(ref)}' does not exist in profile '{profile['body']['name']}'.")
        for pattern in props.get("patternsToMatch") or ["/*"]:
            star = pattern.find("*")
            if not pattern.startswith("/") or (star >= 0 and (star != len(pattern) - 1 or not pattern.endswith("/*"))):
                raise _afd_error(f"The route pattern '{pattern}' is invalid: a pattern starts with '/' and may have "
                                 "a '*' only after its final '/'.")
        protocols = {p.lower() for p in props.get("supportedProtocols") or ["Http", "Https"]}
        if not protocols:
            raise _afd_error("A route needs at least one supported protocol.")
        if (props.get("httpsRedirect") or "Disabled") == "Enabled" and protocols != {"http", "https"}:
            raise _afd_error("An HTTPS redirect needs the route to support both Http and Https.")
        if (props.get("linkToDefaultDomain") or "Disabled") != "Enabled" and not props.get("customDomains"):
            raise _afd_error("A route must be linked to the endpoint's default domain or name a custom domain.")

    def build_route(self, ctx, name, body, existing, parent):
        profile = self.profile_of(parent)
        sent = copy.deepcopy(body.get("properties") or {})
        props = {k: v for k, v in sent.items() if v is not None and k not in ("provisioningState", "deploymentStatus")}
        group = self.in_profile(profile, _ref_id(props["originGroup"]), self.origin_groups)
        props["originGroup"] = {"id": group["id"]}
        props["ruleSets"] = [{"id": self.in_profile(profile, _ref_id(r), self.rule_sets)["id"]}
                             for r in props.get("ruleSets") or []]
        for key, default in (("customDomains", []), ("supportedProtocols", ["Http", "Https"]),
                             ("patternsToMatch", ["/*"]), ("forwardingProtocol", "MatchRequest"),
                             ("linkToDefaultDomain", "Disabled"), ("httpsRedirect", "Disabled"),
                             ("enabledState", "Enabled")):
            props.setdefault(key, default)
        props.update(endpointName=parent["body"]["name"], deploymentStatus="NotStarted")
        return {"properties": props}

    # --- rule sets and rules -----------------------------------------------------------------

    def build_rule_set(self, ctx, name, body, existing, parent):
        return {"properties": {"profileName": parent["body"]["name"], "deploymentStatus": "NotStarted"}}

    def check_rule_set_delete(self, ctx, rec):
        for route in self.under(self.profile_of(rec), self.routes):
            if any(_same(_ref_id(r), rec["id"]) for r in route["body"]["properties"].get("ruleSets") or []):
                raise _afd_error(f"The rule set '{rec['body']['name']}' is used by route {route['id']} and cannot be "
                                 "deleted. Remove it from the route first.")

    def validate_rule(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        if props.get("order", 0) < 0:
            raise _afd_error(f"The order of rule '{name}' must be 0 or more.")
        profile = self.profile_of(parent)
        for i, action in enumerate(props.get("actions") or []):
            if action.get("name") != "RouteConfigurationOverride":
                continue
            params = action.get("parameters") or {}
            if params.get("typeName") != ROUTE_CONFIG_PARAMS:
                raise _afd_error(f"actions[{i}]: a RouteConfigurationOverride action takes parameters of type "
                                 f"'{ROUTE_CONFIG_PARAMS}', not '{params.get('typeName')}'.")
            override = params.get("originGroupOverride")
            if override is not None and self.in_profile(profile, _ref_id(override.get("originGroup")),
                                                        self.origin_groups) is None:
                raise _afd_error(f"actions[{i}]: the origin group '{_ref_id(override.get('originGroup'))}' does not "
                                 f"exist in profile '{profile['body']['name']}'.")
            cache = params.get("cacheConfiguration")
            if cache is None:
                continue
            duration = cache.get("cacheDuration")
            behaviour = cache.get("cacheBehavior") or "HonorOrigin"
            if behaviour != "HonorOrigin" and duration is None:
                raise _afd_error(f"actions[{i}]: the cache behavior '{behaviour}' needs a cacheDuration.")
            if duration is not None:
                m = _DURATION.fullmatch(duration)
                if not m or (m.group(1) and int(m.group(1)) > 365):
                    raise _afd_error(f"actions[{i}]: the cacheDuration '{duration}' is invalid: it must be hh:mm:ss, "
                                     "or d.hh:mm:ss with 1 to 365 days.")

    def build_rule(self, ctx, name, body, existing, parent):
        sent = copy.deepcopy(body.get("properties") or {})
        props = {k: v for k, v in sent.items() if v is not None and k not in ("provisioningState", "deploymentStatus")}
        props.setdefault("conditions", [])
        props.setdefault("matchProcessingBehavior", "Continue")
        props.update(ruleSetName=parent["body"]["name"], deploymentStatus="NotStarted")
        return {"properties": props}
