"""The api-versions each namespace accepts, as ARM accepts them: every version the resource
provider publishes as stable, not only the one the fixture (and the Rust provider) pins.

Source: the `stable/` folders of Azure/azure-rest-api-specs under each RP's
`specification/<service>/resource-manager/<Namespace>/` (listed with the code index's
`find_files`, and the RP's `readme.md` tags), holding the document the namespace's fixture
was trimmed from (storage.json, resources.json, namespace-preview.json/Queue.json, ...).
Preview versions are left out: they are a different contract. A namespace missing here
(none today) accepts only its pinned version (refused as before: InvalidApiVersionParameter).

A request carrying any accepted version is answered, but its body is validated against the
*pinned* version's schema (the only one the fixture holds): a property newer than the pinned
version is rejected as unknown. That is a known limit of the contract server.

Refusals, as ARM gives them (public issues quoting them: Azure/azure-cli#28496,
Azure/azure-resource-manager-schemas#154, Azure/azure-powershell#2230: "No registered
resource provider found for location '...' and API version '...' for type '...'. The
supported api-versions are '...'"):
  * a well-formed version the RP never published (or a preview one it does not serve):
    400 NoRegisteredProviderFound, naming the supported versions;
  * a malformed version (not YYYY-MM-DD[-label]), or any unknown version of ARM's own
    Microsoft.Resources: 400 InvalidApiVersionParameter.
"""

import re

# Namespace -> its stable api-versions in Azure/azure-rest-api-specs, oldest first. Each
# version was checked to exist (code index `find_files`, exact path) with the document named in
# the comment, or read from the RP's readme.md tags; a version the index could not confirm is
# left out (ARM would accept it; the server refuses it: a false refusal, never a false accept).
# Some RPs publish a different set per resource type: the set here is that of the types the
# server serves (named in each comment).
STABLE = {
    # resource groups: specification/resources/resource-manager/Microsoft.Resources/stable/*/resources.json
    "Microsoft.Resources": (
        "2015-11-01 2016-02-01 2016-07-01 2016-09-01 2017-05-10 2018-02-01 2018-05-01 2019-03-01 "
        "2019-05-01 2019-05-10 2019-07-01 2019-08-01 2019-10-01 2020-06-01 2020-08-01 2020-10-01 "
        "2021-01-01 2021-04-01 2022-09-01 2023-07-01 2024-03-01 2024-07-01 2024-11-01 2025-03-01 "
        "2025-04-01"
    ),
    # storage accounts, blob services and containers: .../Microsoft.Storage/stable/*/storage.json
    # (openapi.json from 2025-06-01 on; specification/storage/resource-manager/readme.md tags)
    "Microsoft.Storage": (
        "2015-06-15 2016-01-01 2016-05-01 2016-12-01 2017-06-01 2017-10-01 2018-02-01 2018-07-01 "
        "2018-11-01 2019-04-01 2019-06-01 2021-01-01 2021-02-01 2021-04-01 2021-06-01 2021-08-01 "
        "2021-09-01 2022-05-01 2022-09-01 2023-01-01 2023-04-01 2023-05-01 2024-01-01 2025-01-01 "
        "2025-06-01 2025-08-01 2026-04-01 2026-06-01 2026-09-01"
    ),
    # namespaces and queues: .../Microsoft.ServiceBus/stable/*/ (servicebus.json up to 2015-08-01,
    # then namespaces.json / namespace-preview.json and Queue.json; readme.md tags); 2026-01-01 in
    # the reorganised .../Microsoft.ServiceBus/ServiceBus/stable/2026-01-01/openapi.json
    "Microsoft.ServiceBus": "2014-09-01 2015-08-01 2017-04-01 2021-11-01 2024-01-01 2026-01-01",
    # Front Door profiles and children: .../Microsoft.Cdn/stable/*/afdx.json (the AFD types exist
    # from 2020-09-01; openapi.json for 2025-06-01; .../Microsoft.Cdn/Cdn/readme.md tags)
    "Microsoft.Cdn": "2020-09-01 2021-06-01 2023-05-01 2024-02-01 2024-09-01 2025-04-15 2025-06-01",
    # virtual machines: .../Microsoft.Compute/stable/*/compute.json up to 2021-11-01, then
    # .../Microsoft.Compute/ComputeRP/stable/*/virtualMachine.json. Managed disks (DiskRP) publish
    # other versions; the server reads its OS disks with the VM's (as it did with the pinned one).
    "Microsoft.Compute": (
        "2015-06-15 2016-03-30 2017-03-30 2017-12-01 2018-04-01 2018-06-01 2018-10-01 2019-03-01 "
        "2019-07-01 2019-12-01 2020-06-01 2020-12-01 2021-03-01 2021-04-01 2021-07-01 2021-11-01 "
        "2022-03-01 2022-08-01 2022-11-01 2023-03-01 2023-07-01 2023-09-01 2024-03-01 2024-07-01 "
        "2024-11-01 2025-04-01"
    ),
    # flexible servers and databases: .../Microsoft.DBforMySQL/stable/2021-05-01/mysql.json, then
    # .../Microsoft.DBforMySQL/FlexibleServers/stable/*/FlexibleServers.json (openapi.json for
    # 2024-12-30; FlexibleServers/readme.md tags)
    "Microsoft.DBforMySQL": "2021-05-01 2022-01-01 2023-06-30 2023-12-30 2024-12-30",
    # flexible servers and databases: .../Microsoft.DBforPostgreSQL/stable/2021-06-01/postgresql.json,
    # then stable/*/FlexibleServers.json (openapi.json for 2025-08-01; readme.md tags)
    "Microsoft.DBforPostgreSQL": "2021-06-01 2022-12-01 2024-08-01 2025-08-01",
    # virtual networks, subnets, NSGs, public IPs, NICs: .../Microsoft.Network/stable/*/network.json,
    # then .../Microsoft.Network/Network/stable/*/virtualNetwork.json (2024-10-01 from the
    # Network/readme.md; the index holds no network.json for 2016-10-01, 2016-11-01, 2017-03-01,
    # 2018-08-01, 2019-08-01, 2019-11-01, 2020-03-01, 2020-04-01, 2021-08-01, 2022-05-01,
    # 2022-09-01, 2022-11-01, 2023-02-01, 2023-09-01: left out)
    "Microsoft.Network": (
        "2015-06-15 2016-03-30 2016-06-01 2016-09-01 2016-12-01 2017-06-01 2017-08-01 2017-09-01 "
        "2017-10-01 2017-11-01 2018-01-01 2018-02-01 2018-04-01 2018-06-01 2018-07-01 2018-10-01 "
        "2018-11-01 2018-12-01 2019-02-01 2019-04-01 2019-06-01 2019-07-01 2019-09-01 2019-12-01 "
        "2020-05-01 2020-06-01 2020-07-01 2020-08-01 2020-11-01 2021-02-01 2021-03-01 2021-05-01 "
        "2022-01-01 2022-07-01 2023-04-01 2023-05-01 2023-06-01 2023-11-01 2024-01-01 2024-03-01 "
        "2024-05-01 2024-07-01 2024-10-01 2025-01-01 2025-03-01 2025-05-01 2025-07-01 2025-09-01"
    ),
    # plans and sites (and sites/config): .../Microsoft.Web/stable/*/WebApps.json with
    # AppServicePlans.json, from 2018-02-01 (2016-08-01 has sites but not serverfarms); the newest
    # from .../Microsoft.Web/AppService/readme.md tags (stable/*/openapi.json)
    "Microsoft.Web": (
        "2018-02-01 2018-11-01 2019-08-01 2020-06-01 2020-09-01 2020-10-01 2020-12-01 2021-01-01 "
        "2021-01-15 2021-02-01 2021-03-01 2022-03-01 2022-09-01 2023-01-01 2023-12-01 2024-04-01 "
        "2024-11-01 2025-03-01 2025-05-01 2026-03-15 2026-07-15 2026-09-01"
    ),
}

_WELL_FORMED = re.compile(r"\d{4}-\d{2}-\d{2}(-[A-Za-z][A-Za-z0-9]*)?")


def accepted(namespace, pinned):
    """Every api-version `namespace` accepts (the pinned one always among them)."""
    found = STABLE.get(namespace)
    versions = set(found.split()) if found else set()
    versions.add(pinned)
    return versions


def well_formed(version):
    return bool(_WELL_FORMED.fullmatch(version))
