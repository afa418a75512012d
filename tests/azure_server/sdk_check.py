"""Microsoft's own Python SDKs (azure-mgmt-resource, -storage, -servicebus) against the ARM
contract server: python sdk_check.py http://127.0.0.1:PORT

Run with the venv scripts/emulators.sh install_azure_sdks makes (OVERCAST_AZURE_SDK_PYTHON).
The SDKs use their default api-versions. Two containers and two queues are made so that a
list spans pages when the server gives one item a page (tests/azure_contract.rs sets that). The credential is a static token; azure-core's
bearer policy refuses plain http, so each client gets a policy of its own that only sets
the Authorization header (the server checks its form, never its value). Exits non-zero on
the first failure.
"""

import sys
import time
import uuid

from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.servicebus import ServiceBusManagementClient
from azure.mgmt.storage import StorageManagementClient

SUB = "00000000-0000-0000-0000-0000000000aa"


class StaticToken:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("contract-test-token", int(time.time()) + 3600)


class BearerOverHttp(SansIOHTTPPolicy):
    def on_request(self, request):
        request.http_request.headers["Authorization"] = "Bearer contract-test-token"


def client(cls, base_url):
    c = cls(StaticToken(), SUB, base_url=base_url, authentication_policy=BearerOverHttp(), polling_interval=0)
    print(f"{cls.__name__}: api-version {c._config.api_version}")
    return c


def main(base_url):
    rg = f"rg-sdk-{uuid.uuid4().hex[:6]}"
    acct = f"sdk{uuid.uuid4().hex[:12]}"
    ns = f"sdk-ns-{uuid.uuid4().hex[:8]}"
    res = client(ResourceManagementClient, base_url)
    sto = client(StorageManagementClient, base_url)
    sb = client(ServiceBusManagementClient, base_url)

    g = res.resource_groups.create_or_update(rg, {"location": "westeurope", "tags": {"by": "sdk_check"}})
    print(f"created resource group {g.name} ({g.properties.provisioning_state})")
    assert res.resource_groups.check_existence(rg), "check_existence"
    assert res.resource_groups.get(rg).location == "westeurope"
    names = [x.name for x in res.resource_groups.list()]
    assert rg in names, names
    print(f"listed {len(names)} resource group(s)")

    a = sto.storage_accounts.begin_create(
        rg, acct, {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}).result()
    assert a.provisioning_state == "Succeeded", a.provisioning_state
    print(f"created storage account {a.name} ({a.provisioning_state}, {a.primary_endpoints.blob})")
    assert sto.storage_accounts.get_properties(rg, acct).name == acct
    listed = [x.name for x in sto.storage_accounts.list_by_resource_group(rg)]
    assert listed == [acct], listed
    assert acct in [x.name for x in sto.storage_accounts.list()]
    print(f"listed storage accounts: {listed}")
    keys = sto.storage_accounts.list_keys(rg, acct)["keys"]  # a Mapping model: .keys is the method
    print(f"listKeys: {len(keys)} key(s)")

    for name in ("sdk-container", "sdk-container-2"):
        c = sto.blob_containers.create(rg, acct, name, {})
        print(f"created blob container {c.name}")
    assert sto.blob_containers.get(rg, acct, "sdk-container").name == "sdk-container"
    containers = sorted(x.name for x in sto.blob_containers.list(rg, acct))
    assert containers == ["sdk-container", "sdk-container-2"], containers
    print(f"listed containers: {containers}")

    n = sb.namespaces.begin_create_or_update(
        rg, ns, {"location": "westeurope", "sku": {"name": "Standard", "tier": "Standard"}}).result()
    assert n.provisioning_state == "Succeeded", n.provisioning_state
    print(f"created Service Bus namespace {n.name} ({n.provisioning_state})")
    assert sb.namespaces.get(rg, ns).name == ns
    assert ns in [x.name for x in sb.namespaces.list_by_resource_group(rg)]
    for name in ("sdk-queue", "sdk-queue-2"):
        q = sb.queues.create_or_update(rg, ns, name, {"properties": {"maxDeliveryCount": 5}})
        print(f"created queue {q.name} (maxDeliveryCount {q.max_delivery_count})")
    assert sb.queues.get(rg, ns, "sdk-queue").max_delivery_count == 5
    queues = sorted(x.name for x in sb.queues.list_by_namespace(rg, ns))
    assert queues == ["sdk-queue", "sdk-queue-2"], queues
    print(f"listed queues: {queues}")

    for name in ("sdk-queue", "sdk-queue-2"):
        sb.queues.delete(rg, ns, name)
    assert not list(sb.queues.list_by_namespace(rg, ns)), "the queues are gone"
    print("deleted the queues")
    sb.namespaces.begin_delete(rg, ns).result()
    print("deleted the namespace")
    for name in ("sdk-container", "sdk-container-2"):
        sto.blob_containers.delete(rg, acct, name)
    print("deleted the containers")
    sto.storage_accounts.delete(rg, acct)
    print("deleted the storage account")
    res.resource_groups.begin_delete(rg).result()
    assert not res.resource_groups.check_existence(rg), "the group is gone"
    print("deleted the resource group")
    print("sdk_check: OK")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sdk_check.py http://127.0.0.1:PORT")
    try:
        main(sys.argv[1].rstrip("/"))
    except Exception as e:  # any failure, SDK error or assertion, is the check failing
        print(f"sdk_check: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
