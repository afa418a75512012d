"""Microsoft.Network 2024-05-01: virtual networks (subnets inline or as child resources),
subnets, network security groups, public IP addresses and network interfaces.

As the real provider: every PUT answers 201 (200 on update) with provisioningState
Updating and an Azure-AsyncOperation header; DELETE answers 202 with both headers.
References between resources are checked (400 InvalidResourceReference when the resource
referred to does not exist), subnet prefixes must lie in the network's address space and
not overlap (NetcfgSubnetRangeOutsideVnet, NetcfgSubnetRangesOverlap), and what is in use
cannot go: a subnet (or its network) with a NIC in it (InUseSubnetCannotBeDeleted), a NIC
attached to a VM (NicInUse), a public IP on a NIC (PublicIPAddressCannotBeDeleted), a
security group on a subnet or NIC (InUseNetworkSecurityGroupCannotBeDeleted). A network
PUT with a subnets list replaces the network's subnets: the ones left out are deleted.
"""

import copy
import hashlib
import ipaddress
import re
import uuid

from .arm import ResourceType, normalize_location
from .errors import bad_request

NAMESPACE = "Microsoft.Network"
VNET = "Microsoft.Network/stable/2024-05-01/virtualNetwork.json"
NSG = "Microsoft.Network/stable/2024-05-01/networkSecurityGroup.json"
PIP = "Microsoft.Network/stable/2024-05-01/publicIpAddress.json"
NIC = "Microsoft.Network/stable/2024-05-01/networkInterface.json"

_NAME = re.compile(r"\w(?:[\w.-]*\w)?")
_PORT = re.compile(r"\*|\d{1,5}(-\d{1,5})?")
_DNS_LABEL = re.compile(r"[a-z][a-z0-9-]{1,61}[a-z0-9]")


def _name_check(limit):
    def check(name, rtype):
        if len(name) > limit or not _NAME.fullmatch(name):
            raise bad_request(
                "InvalidResourceName",
                f"Resource name {name} is invalid. The name can be up to {limit} characters long. It must begin with a "
                "word character, and it must end with a word character or with '_'. The name may contain word "
                "characters or '.', '-', '_'.",
            )

    return check


def _etag():
    return f'W/"{uuid.uuid4()}"'


def _network(prefix):
    try:
        return ipaddress.ip_network(prefix, strict=True)
    except ValueError:
        raise bad_request("InvalidAddressPrefixFormat", f"Address prefix {prefix} does not have a valid format.")


class Network:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.engine = app.engine
        common = dict(put_style="async", delete_style="async", provisioning="Updating")
        self.vnets = ResourceType(NAMESPACE, ["virtualNetworks"], (VNET, "VirtualNetwork"), name=_name_check(64),
                                  validate=self.validate_vnet, build=self.build_vnet, render=self.render_vnet,
                                  stored=self.stored_vnet, check_delete=self.check_vnet_delete, **common)
        self.subnets = ResourceType(NAMESPACE, ["virtualNetworks", "subnets"], (VNET, "Subnet"), tracked=False,
                                    name=_name_check(80), validate=self.validate_subnet, build=self.build_subnet,
                                    render=self.render_subnet, check_delete=self.check_subnet_delete,
                                    parent_busy_code="AnotherOperationInProgress", **common)
        self.nsgs = ResourceType(NAMESPACE, ["networkSecurityGroups"], (NSG, "NetworkSecurityGroup"),
                                 name=_name_check(80), validate=self.validate_nsg, build=self.build_nsg,
                                 render=self.render_nsg, check_delete=self.check_nsg_delete, **common)
        self.pips = ResourceType(NAMESPACE, ["publicIPAddresses"], (PIP, "PublicIPAddress"), name=_name_check(80),
                                 validate=self.validate_pip, build=self.build_pip, render=self.render_pip,
                                 check_delete=self.check_pip_delete, **common)
        self.nics = ResourceType(NAMESPACE, ["networkInterfaces"], (NIC, "NetworkInterface"), name=_name_check(80),
                                 validate=self.validate_nic, build=self.build_nic, render=self.render_nic,
                                 check_delete=self.check_nic_delete, **common)
        for t in (self.vnets, self.nsgs, self.pips, self.nics):
            t.patch_def = ("Microsoft.Network/stable/2024-05-01/network.json", "TagsObject")  # UpdateTags

    def types(self):
        return [self.vnets, self.subnets, self.nsgs, self.pips, self.nics]

    # --- references ------------------------------------------------------------------------

    def ref(self, ctx, value, rtype, owner):
        """The record an `{"id": ...}` reference names, or 400 InvalidResourceReference."""
        rid = (value or {}).get("id") if isinstance(value, dict) else None
        rec = self.engine.find(rid) if rid else None
        if rec is None or rec["rtype"] is not rtype:
            raise bad_request(
                "InvalidResourceReference",
                f"Resource {rid} referenced by resource {owner} was not found. Please make sure that the referenced "
                "resource exists, and that both resources are in the same region.",
            )
        return rec

    def of_type(self, rtype):
        return [r for r in self.store.resources.values() if r["rtype"] is rtype]

    def nic_configs(self):
        """(nic record, ip configuration) for every NIC IP configuration."""
        for nic in self.of_type(self.nics):
            for cfg in nic["body"]["properties"].get("ipConfigurations", []):
                yield nic, cfg

    def users_of_subnet(self, subnet_id):
        return [cfg["id"] for nic, cfg in self.nic_configs()
                if (cfg["properties"].get("subnet") or {}).get("id", "").lower() == subnet_id.lower()]

    # --- virtual networks and subnets ------------------------------------------------------

    def vnet_space(self, body):
        prefixes = ((body.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes") or []
        return [_network(p) for p in prefixes]

    def validate_vnet(self, ctx, name, body, existing, parent):
        space = self.vnet_space(body)
        if not space:
            raise bad_request("VnetAddressSpaceMustHaveAtLeastOneAddressPrefix",
                              f"Virtual network {name} must have at least one address prefix in its address space.")
        for i, a in enumerate(space):
            for b in space[i + 1:]:
                if a.overlaps(b):
                    raise bad_request("VnetAddressSpacesOverlap", f"Address prefixes {a} and {b} of {name} overlap.")
        subnets = (body.get("properties") or {}).get("subnets")
        rid = self.engine.resource_id(ctx, self.vnets, [name])
        if subnets is not None:
            names = set()
            for sub in subnets:
                sname = sub.get("name")
                if not sname:
                    raise bad_request("InvalidRequestFormat", "Cannot parse the request: every subnet needs a name.")
                if sname.lower() in names:
                    raise bad_request("InvalidRequestFormat", f"Subnet {sname} appears twice.")
                names.add(sname.lower())
                self.subnets.name_check(sname, self.subnets.full_type)
            self.check_prefixes(ctx, name, space, [(s["name"], s.get("properties") or {}) for s in subnets])
            if existing is not None:
                for child in self.engine.descendants(existing):
                    if child["rtype"] is self.subnets and child["body"]["name"].lower() not in names:
                        users = self.users_of_subnet(child["id"])
                        if users:
                            raise self.in_use(child, users)
        elif existing is not None:
            kids = [(c["body"]["name"], c["body"]["properties"]) for c in self.engine.descendants(existing)
                    if c["rtype"] is self.subnets]
            self.check_prefixes(ctx, name, space, kids)
        for sub in subnets or []:
            nsg = (sub.get("properties") or {}).get("networkSecurityGroup")
            if nsg:
                self.ref(ctx, nsg, self.nsgs, f"{rid}/subnets/{sub['name']}")

    def check_prefixes(self, ctx, vnet_name, space, subnets):
        seen = []
        for sname, props in subnets:
            prefixes = list(props.get("addressPrefixes") or []) + ([props["addressPrefix"]] if props.get("addressPrefix") else [])
            if not prefixes:
                raise bad_request("NoAddressPrefixOrPoolProvided", f"Subnet {sname} must have an address prefix.")
            for p in prefixes:
                net = _network(p)
                if not any(net.subnet_of(s) for s in space if s.version == net.version):
                    raise bad_request(
                        "NetcfgSubnetRangeOutsideVnet",
                        f"Subnet '{sname}' is not valid because its IP address range is outside the IP address range "
                        f"of virtual network '{vnet_name}'.",
                    )
                for other, onet in seen:
                    if net.overlaps(onet):
                        raise bad_request(
                            "NetcfgSubnetRangesOverlap",
                            f"Subnet '{sname}' is not valid because its IP address range overlaps with that of an "
                            f"existing subnet '{other}' in virtual network '{vnet_name}'.",
                        )
                seen.append((sname, net))

    def build_vnet(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        props.pop("subnets", None)
        old = existing["body"]["properties"] if existing else {}
        props["resourceGuid"] = old.get("resourceGuid") or str(uuid.uuid4())
        props.setdefault("enableDdosProtection", False)
        props.setdefault("virtualNetworkPeerings", [])
        out = {"etag": _etag(), "properties": props}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        self._subnets_sent = (body.get("properties") or {}).get("subnets")
        return out

    def stored_vnet(self, ctx, rec, created):
        sent = getattr(self, "_subnets_sent", None)
        self._subnets_sent = None
        if sent is None:
            return
        keep = set()
        for sub in sent:
            rid = f"{rec['id']}/subnets/{sub['name']}"
            keep.add(rid.lower())
            existing = self.engine.find(rid)
            body = self.build_subnet(ctx, sub["name"], sub, existing, rec)
            body.update(id=rid, name=sub["name"], type=self.subnets.full_type)
            body["properties"]["provisioningState"] = "Succeeded"
            if existing is None:
                self.store.resources[rid.lower()] = self.engine.new_record(ctx, self.subnets, rid, body)
            else:
                existing["body"] = body
        for child in self.engine.descendants(rec):
            if child["rtype"] is self.subnets and child["id"].lower() not in keep:
                self.engine.remove(child)

    def render_vnet(self, rec):
        out = copy.deepcopy(rec["body"])
        out["properties"]["subnets"] = [self.render_subnet(c) for c in sorted(self.engine.descendants(rec), key=lambda r: r["id"].lower())
                                        if c["rtype"] is self.subnets]
        return out

    def check_vnet_delete(self, ctx, rec):
        for child in self.engine.descendants(rec):
            if child["rtype"] is self.subnets:
                users = self.users_of_subnet(child["id"])
                if users:
                    raise self.in_use(child, users)

    def in_use(self, subnet, users):
        return bad_request(
            "InUseSubnetCannotBeDeleted",
            f"Subnet {subnet['body']['name']} is in use by {users[0]} and cannot be deleted. In order to delete the "
            "subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
        )

    def validate_subnet(self, ctx, name, body, existing, parent):
        space = self.vnet_space(parent["body"])
        siblings = [(c["body"]["name"], c["body"]["properties"]) for c in self.engine.descendants(parent)
                    if c["rtype"] is self.subnets and c["body"]["name"].lower() != name.lower()]
        self.check_prefixes(ctx, parent["body"]["name"], space, siblings + [(name, body.get("properties") or {})])
        nsg = (body.get("properties") or {}).get("networkSecurityGroup")
        if nsg:
            self.ref(ctx, nsg, self.nsgs, f"{parent['id']}/subnets/{name}")

    def build_subnet(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        for key in ("networkSecurityGroup", "routeTable", "natGateway"):
            if props.get(key):
                target = self.engine.find(props[key]["id"])
                props[key] = {"id": target["id"] if target else props[key]["id"]}
        props.setdefault("privateEndpointNetworkPolicies", "Disabled")
        props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
        props.setdefault("delegations", [])
        return {"etag": _etag(), "properties": props}

    def render_subnet(self, rec):
        out = copy.deepcopy(rec["body"])
        users = self.users_of_subnet(rec["id"])
        if users:
            out["properties"]["ipConfigurations"] = [{"id": u} for u in users]
        return out

    def check_subnet_delete(self, ctx, rec):
        users = self.users_of_subnet(rec["id"])
        if users:
            raise self.in_use(rec, users)

    # --- network security groups ------------------------------------------------------------

    def validate_nsg(self, ctx, name, body, existing, parent):
        seen_names, seen_priority = set(), set()
        for rule in (body.get("properties") or {}).get("securityRules") or []:
            rname = rule.get("name")
            if not rname:
                raise bad_request("InvalidRequestFormat", "Cannot parse the request: every security rule needs a name.")
            if rname.lower() in seen_names:
                raise bad_request("SecurityRuleNameDuplicate", f"Security rule name {rname} is used more than once.")
            seen_names.add(rname.lower())
            p = rule.get("properties") or {}
            if p.get("protocol") is None or p.get("access") is None or p.get("direction") is None or p.get("priority") is None:
                raise bad_request("InvalidRequestFormat", f"Security rule {rname} needs properties (protocol, access, priority, direction).")
            if not 100 <= p["priority"] <= 4096:
                raise bad_request("SecurityRuleInvalidPriority",
                                  f"Security rule {rname} has invalid Priority. Value provided: {p['priority']} Allowed range 100-4096.")
            key = (p["direction"].lower(), p["priority"])
            if key in seen_priority:
                raise bad_request("SecurityRuleConflict",
                                  f"Security rule {rname} conflicts with another rule: the priority {p['priority']} in "
                                  f"direction {p['direction']} is used twice.")
            seen_priority.add(key)
            for field in ("sourcePortRange", "destinationPortRange"):
                ranges = [p[field]] if p.get(field) else list(p.get(field + "s") or [])
                if not ranges:
                    raise bad_request("InvalidRequestFormat",
                                      f"Security rule {rname} needs {field} or {field}s.")
                for r in ranges:
                    if not _PORT.fullmatch(r) or any(int(x) > 65535 for x in re.findall(r"\d+", r)):
                        raise bad_request("SecurityRuleInvalidPortRange",
                                          f"Security rule {rname} has invalid Port range. Value provided: {r}. Value "
                                          "should be an integer OR integer range with '-' delimiter. Valid range 0-65535.")
            for field in ("sourceAddressPrefix", "destinationAddressPrefix"):
                if not p.get(field) and not p.get(field + "es") and not p.get(field.replace("AddressPrefix", "ApplicationSecurityGroups")):
                    raise bad_request("InvalidRequestFormat", f"Security rule {rname} needs {field} or {field}es.")

    def build_nsg(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        rid = self.engine.resource_id(ctx, self.nsgs, [name])
        for rule in props.get("securityRules") or []:
            rule["id"] = f"{rid}/securityRules/{rule['name']}"
            rule["type"] = "Microsoft.Network/networkSecurityGroups/securityRules"
            rule["etag"] = _etag()
            rule["properties"]["provisioningState"] = "Succeeded"
        props.setdefault("securityRules", [])
        old = existing["body"]["properties"] if existing else {}
        props["resourceGuid"] = old.get("resourceGuid") or str(uuid.uuid4())
        out = {"etag": _etag(), "properties": props}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        return out

    def render_nsg(self, rec):
        out = copy.deepcopy(rec["body"])
        rid = rec["id"]
        defaults = []
        for direction, rules in (("Inbound", (("AllowVnetInBound", 65000, "VirtualNetwork", "VirtualNetwork", "Allow"),
                                              ("AllowAzureLoadBalancerInBound", 65001, "AzureLoadBalancer", "*", "Allow"),
                                              ("DenyAllInBound", 65500, "*", "*", "Deny"))),
                                 ("Outbound", (("AllowVnetOutBound", 65000, "VirtualNetwork", "VirtualNetwork", "Allow"),
                                               ("AllowInternetOutBound", 65001, "*", "Internet", "Allow"),
                                               ("DenyAllOutBound", 65500, "*", "*", "Deny")))):
            for rname, prio, src, dst, access in rules:
                defaults.append({"name": rname, "id": f"{rid}/defaultSecurityRules/{rname}",
                                 "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
                                 "properties": {"protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
                                                "sourceAddressPrefix": src, "destinationAddressPrefix": dst,
                                                "access": access, "priority": prio, "direction": direction,
                                                "provisioningState": "Succeeded"}})
        out["properties"]["defaultSecurityRules"] = defaults
        subnets = [r["id"] for r in self.of_type(self.subnets)
                   if (r["body"]["properties"].get("networkSecurityGroup") or {}).get("id", "").lower() == rid.lower()]
        nics = [r["id"] for r in self.of_type(self.nics)
                if (r["body"]["properties"].get("networkSecurityGroup") or {}).get("id", "").lower() == rid.lower()]
        if subnets:
            out["properties"]["subnets"] = [{"id": s} for s in subnets]
        if nics:
            out["properties"]["networkInterfaces"] = [{"id": n} for n in nics]
        return out

    def check_nsg_delete(self, ctx, rec):
        rendered = self.render_nsg(rec)["properties"]
        users = [x["id"] for x in rendered.get("subnets", []) + rendered.get("networkInterfaces", [])]
        if users:
            raise bad_request(
                "InUseNetworkSecurityGroupCannotBeDeleted",
                f"Network security group {rec['id']} cannot be deleted because it is in use by the following resources: {users[0]}.",
            )

    # --- public IP addresses ---------------------------------------------------------------

    def validate_pip(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        sku = ((body.get("sku") or {}).get("name") or "Standard").lower()
        method = (props.get("publicIPAllocationMethod") or ("Static" if sku == "standard" else "Dynamic")).lower()
        if sku == "standard" and method != "static":
            raise bad_request(
                "StandardSkuPublicIPAddressesMustBeStatic",
                f"Standard sku publicIp /subscriptions/{ctx.sub}/resourceGroups/{ctx.rg}/providers/Microsoft.Network/"
                f"publicIPAddresses/{name} must be static.",
            )
        label = (props.get("dnsSettings") or {}).get("domainNameLabel")
        if label is not None:
            if not _DNS_LABEL.fullmatch(label):
                raise bad_request(
                    "InvalidDomainNameLabel",
                    f"The domain name label {label} is invalid. It must conform to the following regular expression: "
                    "^[a-z][a-z0-9-]{1,61}[a-z0-9]$.",
                )
            loc = normalize_location(body.get("location"))
            for other in self.of_type(self.pips):
                if other is existing:
                    continue
                o = other["body"]
                if o.get("location") == loc and (o["properties"].get("dnsSettings") or {}).get("domainNameLabel") == label:
                    raise bad_request("DnsRecordInUse", f"DNS record {label}.{loc}.cloudapp.azure.com is already used by another public IP.")
        if existing is not None:
            old = existing["body"]
            if (old.get("sku") or {}).get("name", "").lower() != sku:
                raise bad_request("InvalidRequestFormat",
                                  "The sku of a public IP address cannot be changed.")

    def build_pip(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        sku = copy.deepcopy(body.get("sku") or {"name": "Standard"})
        sku["name"] = "Standard" if sku["name"].lower() == "standard" else "Basic"
        sku.setdefault("tier", "Regional")
        props.setdefault("publicIPAllocationMethod", "Static" if sku["name"] == "Standard" else "Dynamic")
        props.setdefault("publicIPAddressVersion", "IPv4")
        props.setdefault("idleTimeoutInMinutes", 4)
        props.setdefault("ipTags", [])
        old = existing["body"]["properties"] if existing else {}
        if props["publicIPAllocationMethod"].lower() == "static":
            digest = hashlib.sha256(f"{ctx.sub}/{ctx.rg}/{name}".lower().encode()).digest()
            props["ipAddress"] = old.get("ipAddress") or f"20.{digest[0] % 200 + 20}.{digest[1]}.{digest[2] % 250 + 2}"
        props["resourceGuid"] = old.get("resourceGuid") or str(uuid.uuid4())
        dns = props.get("dnsSettings")
        if dns and dns.get("domainNameLabel"):
            loc = normalize_location(body.get("location"))
            dns["fqdn"] = f"{dns['domainNameLabel']}.{loc}.cloudapp.azure.com"
        out = {"etag": _etag(), "sku": sku, "properties": props}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        if body.get("zones") is not None:
            out["zones"] = list(body["zones"])
        return out

    def pip_user(self, pip_id):
        for nic, cfg in self.nic_configs():
            if (cfg["properties"].get("publicIPAddress") or {}).get("id", "").lower() == pip_id.lower():
                return cfg["id"]
        return None

    def render_pip(self, rec):
        out = copy.deepcopy(rec["body"])
        user = self.pip_user(rec["id"])
        if user:
            out["properties"]["ipConfiguration"] = {"id": user}
        return out

    def check_pip_delete(self, ctx, rec):
        user = self.pip_user(rec["id"])
        if user:
            raise bad_request(
                "PublicIPAddressCannotBeDeleted",
                f"Public IP address {rec['id']} can not be deleted since it is still allocated to resource {user}. In "
                "order to delete the public IP, disassociate/detach the Public IP address from the resource.",
            )

    # --- network interfaces ----------------------------------------------------------------

    def validate_nic(self, ctx, name, body, existing, parent):
        props = body.get("properties") or {}
        rid = self.engine.resource_id(ctx, self.nics, [name])
        configs = props.get("ipConfigurations") or []
        if not configs:
            raise bad_request("NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
                              f"Network interface {rid} must have at least one IP configuration.")
        vnets, names = set(), set()
        for cfg in configs:
            cname = cfg.get("name")
            if not cname:
                raise bad_request("InvalidRequestFormat", "Cannot parse the request: every IP configuration needs a name.")
            if cname.lower() in names:
                raise bad_request("InvalidRequestFormat", f"IP configuration {cname} appears twice.")
            names.add(cname.lower())
            cp = cfg.get("properties") or {}
            owner = f"{rid}/ipConfigurations/{cname}"
            subnet = self.ref(ctx, cp.get("subnet"), self.subnets, owner)
            vnet = self.engine.find(subnet["id"].rsplit("/subnets/", 1)[0])
            vnets.add(vnet["id"].lower())
            if vnet["body"].get("location") != normalize_location(body.get("location")):
                raise bad_request("InvalidResourceReference",
                                  f"Resource {subnet['id']} referenced by resource {owner} was not found. Please make "
                                  "sure that the referenced resource exists, and that both resources are in the same region.")
            if cp.get("publicIPAddress"):
                pip = self.ref(ctx, cp["publicIPAddress"], self.pips, owner)
                user = self.pip_user(pip["id"])
                if user and not user.lower().startswith(rid.lower() + "/"):
                    raise bad_request("IpConfigurationPublicIpInUse",
                                      f"Public IP address {pip['id']} is already in use by {user}.")
            if (cp.get("privateIPAllocationMethod") or "Dynamic").lower() == "static":
                address = cp.get("privateIPAddress")
                try:
                    ip = ipaddress.ip_address(address or "")
                except ValueError:
                    raise bad_request("InvalidRequestFormat",
                                      f"Static private IP address {address!r} of {owner} is not a valid IP address.")
                prefixes = [_network(p) for p in self.subnet_prefixes(subnet)]
                if not any(ip in p for p in prefixes):
                    raise bad_request("PrivateIPAddressNotInSubnet",
                                      f"IP configuration {owner} references the private IP address {address} which is "
                                      f"not in the subnet {subnet['id']}.")
                if any(ip in p and int(ip) - int(p.network_address) < 4 or ip == p.broadcast_address for p in prefixes):
                    raise bad_request("PrivateIPAddressInReservedRange",
                                      f"Private static IP address {address} falls within reserved IP range of subnet prefix.")
                for nic, other in self.nic_configs():
                    if nic is not existing and other["properties"].get("privateIPAddress") == address and \
                            other["properties"]["subnet"]["id"].lower() == subnet["id"].lower():
                        raise bad_request("PrivateIPAddressIsAllocated",
                                          f"IP configuration {owner} is using the private IP address {address} which is "
                                          f"already allocated to resource {other['id']}.")
            if cp.get("primary") is False and len(configs) == 1:
                raise bad_request("InvalidRequestFormat",
                                  f"Network interface {rid} must have one primary IP configuration.")
        if len(vnets) > 1:
            raise bad_request("IpConfigurationsOnSameNicCannotUseDifferentVnets",
                              f"IP configurations on the same network interface {rid} cannot use different virtual networks.")
        if props.get("networkSecurityGroup"):
            self.ref(ctx, props["networkSecurityGroup"], self.nsgs, rid)

    def subnet_prefixes(self, subnet):
        p = subnet["body"]["properties"]
        return list(p.get("addressPrefixes") or []) + ([p["addressPrefix"]] if p.get("addressPrefix") else [])

    def next_address(self, subnet, taken):
        net = _network(self.subnet_prefixes(subnet)[0])
        for i, host in enumerate(net.hosts()):
            if i < 3:  # Azure keeps the first addresses of every subnet
                continue
            if str(host) not in taken:
                return str(host)
        raise bad_request("SubnetIsFull", f"Subnet {subnet['id']} has no free IP addresses.")

    def build_nic(self, ctx, name, body, existing, parent):
        props = copy.deepcopy(body.get("properties") or {})
        rid = self.engine.resource_id(ctx, self.nics, [name])
        old = existing["body"]["properties"] if existing else {}
        old_addresses = {c["name"].lower(): c["properties"].get("privateIPAddress") for c in old.get("ipConfigurations", [])}
        taken = {cfg["properties"].get("privateIPAddress") for nic, cfg in self.nic_configs() if nic is not existing}
        configs = props["ipConfigurations"]
        has_primary = any(c.get("properties", {}).get("primary") for c in configs)
        for i, cfg in enumerate(configs):
            cp = cfg.setdefault("properties", {})
            subnet = self.engine.find(cp["subnet"]["id"])
            cp["subnet"] = {"id": subnet["id"]}
            if cp.get("publicIPAddress"):
                cp["publicIPAddress"] = {"id": self.engine.find(cp["publicIPAddress"]["id"])["id"]}
            method = (cp.get("privateIPAllocationMethod") or "Dynamic").lower()
            cp["privateIPAllocationMethod"] = "Static" if method == "static" else "Dynamic"
            if method != "static":
                keep = old_addresses.get(cfg["name"].lower())
                cp["privateIPAddress"] = keep if keep and keep not in taken else self.next_address(subnet, taken)
            taken.add(cp["privateIPAddress"])
            cp.setdefault("privateIPAddressVersion", "IPv4")
            cp["primary"] = cp.get("primary", False) if has_primary else i == 0
            cp["provisioningState"] = "Succeeded"
            cfg["id"] = f"{rid}/ipConfigurations/{cfg['name']}"
            cfg["type"] = "Microsoft.Network/networkInterfaces/ipConfigurations"
            cfg["etag"] = _etag()
        if props.get("networkSecurityGroup"):
            props["networkSecurityGroup"] = {"id": self.engine.find(props["networkSecurityGroup"]["id"])["id"]}
        props.setdefault("enableAcceleratedNetworking", False)
        props.setdefault("enableIPForwarding", False)
        props.setdefault("disableTcpStateTracking", False)
        props.setdefault("nicType", "Standard")
        dns = props.setdefault("dnsSettings", {})
        dns.setdefault("dnsServers", [])
        dns["appliedDnsServers"] = []
        dns["internalDomainNameSuffix"] = f"{hashlib.md5(ctx.rg.lower().encode()).hexdigest()[:20]}.ax.internal.cloudapp.net"
        props["resourceGuid"] = old.get("resourceGuid") or str(uuid.uuid4())
        if old.get("virtualMachine"):
            props["virtualMachine"] = old["virtualMachine"]  # set by Microsoft.Compute, never by the client
            props["primary"] = old.get("primary", True)
        out = {"etag": _etag(), "properties": props}
        if body.get("tags") is not None:
            out["tags"] = copy.deepcopy(body["tags"])
        return out

    def render_nic(self, rec):
        return copy.deepcopy(rec["body"])

    def check_nic_delete(self, ctx, rec):
        vm = (rec["body"]["properties"].get("virtualMachine") or {}).get("id")
        if vm:
            raise bad_request(
                "NicInUse",
                f"Network Interface {rec['id']} is used by existing resource {vm}. In order to delete the network "
                "interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
            )
