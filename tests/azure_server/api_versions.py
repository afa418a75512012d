"""The api-versions each namespace accepts, as ARM accepts them: every version the resource
provider publishes as stable, not only the one the fixture (and the Rust provider) pins.

Source: the `stable/` folders of Azure/azure-rest-api-specs under each RP's
`specification/<service>/resource-manager/<Namespace>/` (listed with the code index's
`find_files`, and the RP's `readme.md` tags), holding the document the namespace's fixture
was trimmed from (storage.json, resources.json, namespace-preview.json/Queue.json, ...).
Preview versions are left out: they are a different contract. A namespace missing here
accepts only its pinned version (refused as before: InvalidApiVersionParameter).

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

# (namespace, stable api-versions from Azure/azure-rest-api-specs, oldest first)
STABLE = {
    # specification/resources/resource-manager/Microsoft.Resources/stable/*/resources.json
    "Microsoft.Resources": (
        "2015-11-01 2016-02-01 2016-07-01 2016-09-01 2017-05-10 2018-02-01 2018-05-01 2019-03-01 "
        "2019-05-01 2019-05-10 2019-07-01 2019-08-01 2019-10-01 2020-06-01 2020-08-01 2020-10-01 "
        "2021-01-01 2021-04-01 2022-09-01 2023-07-01 2024-03-01 2024-07-01 2024-11-01 2025-03-01 "
        "2025-04-01"
    ),
    # specification/storage/resource-manager/Microsoft.Storage/stable/*/storage.json (openapi.json
    # from 2025-06-01 on)
    "Microsoft.Storage": (
        "2015-06-15 2016-01-01 2016-05-01 2016-12-01 2017-06-01 2017-10-01 2018-02-01 2018-07-01 "
        "2018-11-01 2019-04-01 2019-06-01 2021-01-01 2021-02-01 2021-04-01 2021-06-01 2021-08-01 "
        "2021-09-01 2022-05-01 2022-09-01 2023-01-01 2023-04-01 2023-05-01 2024-01-01 2025-01-01 "
        "2025-06-01 2025-08-01 2026-04-01 2026-06-01 2026-09-01"
    ),
    # specification/servicebus/resource-manager/Microsoft.ServiceBus/stable/*/ (servicebus.json up
    # to 2015-08-01, then namespaces.json / namespace-preview.json and Queue.json; 2026-01-01 in
    # the reorganised .../Microsoft.ServiceBus/ServiceBus/stable/2026-01-01/openapi.json)
    "Microsoft.ServiceBus": "2014-09-01 2015-08-01 2017-04-01 2021-11-01 2024-01-01 2026-01-01",
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
