"""Unit tests of the ARM contract server, over HTTP against a server in a thread.

Run from tests/: `python -m unittest azure_server.test_server` (tests/azure_contract.rs
runs them, so `cargo test` does).
"""

import datetime
import json
import unittest
import urllib.error
import urllib.parse
import urllib.request

from .server import App, start_in_thread

SUB = "00000000-0000-0000-0000-000000000001"
OTHER_SUB = "00000000-0000-0000-0000-000000000002"
RES = "2022-09-01"
STO = "2023-05-01"
SB = "2021-11-01"


def rg_path(rg, sub=SUB):
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def account_path(rg, name, sub=SUB):
    return f"{rg_path(rg, sub)}/providers/Microsoft.Storage/storageAccounts/{name}"


def account_body(**props):
    body = {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "tags": {"stack": "s1"}}
    if props:
        body["properties"] = props
    return body


class Base(unittest.TestCase):
    app_args = {}

    @classmethod
    def setUpClass(cls):
        cls.app = App(polls=2, **cls.app_args)
        cls.httpd = start_in_thread(cls.app)
        cls.port = cls.httpd.server_address[1]
        cls.base = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def setUp(self):
        self.raw("POST", "/__contract/reset")
        self.raw("POST", "/__contract/config", {"polls": 2, "pageSize": 5, "subscriptionName": "overcast contract lab"})

    def raw(self, method, url, body=None, headers=None, auth=True):
        """(status, JSON body or None, headers) of one request; `url` is a path or a full URL."""
        if url.startswith("/"):
            url = self.base + url
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", "Bearer test-token")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None, dict(r.headers)
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, json.loads(text) if text else None, dict(e.headers)

    def call(self, method, path, api, body=None, **kw):
        sep = "&" if "?" in path else "?"
        return self.raw(method, f"{path}{sep}api-version={api}", body, **kw)

    def assert_error(self, answer, status, code):
        got, body, _ = answer
        self.assertEqual(got, status, body)
        self.assertEqual(set(body), {"error"}, body)
        self.assertEqual(body["error"]["code"], code, body)
        self.assertTrue(body["error"]["message"], body)
        return body["error"]["message"]

    def group(self, rg="rg1", sub=SUB, location="westeurope"):
        status, body, _ = self.call("PUT", rg_path(rg, sub), RES, {"location": location})
        self.assertIn(status, (200, 201), body)
        return body

    def poll(self, url, done_status=200):
        """Follow a Location URL until it stops answering 202; (reads, status, body)."""
        for n in range(1, 20):
            status, body, headers = self.raw("GET", url)
            if status != 202:
                return n, status, body
            self.assertEqual(headers.get("Retry-After"), "0")
        self.fail(f"{url} still 202 after 20 reads")

    def account(self, rg="rg1", name="acct1", sub=SUB, **props):
        status, body, headers = self.call("PUT", account_path(rg, name, sub), STO, account_body(**props))
        self.assertEqual(status, 202, body)
        reads, status, body = self.poll(headers["Location"])
        self.assertEqual(status, 200, body)
        return body


class Checks(Base):
    def test_authorization_is_required(self):
        self.assert_error(self.call("GET", rg_path("rg1"), RES, auth=False), 401, "AuthenticationFailed")
        self.assert_error(self.call("GET", rg_path("rg1"), RES, auth=False, headers={"Authorization": "Basic abc"}),
                          401, "AuthenticationFailed")

    def test_api_version_is_required_and_pinned(self):
        self.assert_error(self.raw("GET", rg_path("rg1")), 400, "MissingApiVersionParameter")
        msg = self.assert_error(self.call("GET", rg_path("rg1"), "2021-05-01"), 400, "InvalidApiVersionParameter")
        self.assertIn("2022-09-01", msg)
        self.group()
        # Every stable version the RP publishes is served; one it never published is refused.
        self.assert_error(self.call("GET", account_path("rg1", "acct1"), "2025-06-01"), 404, "ResourceNotFound")
        self.assertEqual(self.call("GET", rg_path("rg1"), "2024-11-01")[0], 200)
        msg = self.assert_error(self.call("GET", account_path("rg1", "acct1"), "2022-08-01"), 400,
                                "NoRegisteredProviderFound")
        self.assertIn("2023-05-01", msg)
        self.assert_error(self.call("GET", account_path("rg1", "acct1"), "2024-01-01-preview"), 400,
                          "NoRegisteredProviderFound")
        self.assert_error(self.call("GET", account_path("rg1", "acct1"), "latest"), 400, "InvalidApiVersionParameter")

    def test_every_pinned_version_is_a_published_stable_one(self):
        from azure_server import api_versions
        for namespace, pinned in self.app.schemas.api_versions.values():
            published = api_versions.STABLE[namespace].split()
            self.assertIn(pinned, published, namespace)
            self.assertEqual(published, sorted(set(published)), namespace)
            self.assertFalse([v for v in published if not api_versions.well_formed(v) or "preview" in v], namespace)
        self.assert_error(self.call("GET", f"{rg_path('rg1')}/providers/Microsoft.Nope/things/x", "2020-01-01"),
                          400, "InvalidResourceNamespace")

    def test_subscription_must_be_a_guid_and_types_known(self):
        self.assert_error(self.call("GET", "/subscriptions/not-a-guid/resourcegroups", RES), 400, "InvalidSubscriptionId")
        self.group()
        self.assert_error(self.call("GET", f"{rg_path('rg1')}/providers/Microsoft.Storage/buckets/b", STO),
                          400, "InvalidResourceType")


class Groups(Base):
    def test_group_lifecycle_and_case_insensitive_paths(self):
        status, body, _ = self.call("PUT", rg_path("My-Group"), RES, {"location": "West Europe", "tags": {"a": "1"}})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["id"], f"/subscriptions/{SUB}/resourceGroups/My-Group")
        self.assertEqual((body["location"], body["properties"]["provisioningState"]), ("westeurope", "Succeeded"))
        status, body, _ = self.call("PUT", f"/subscriptions/{SUB}/resourcegroups/my-group", RES, {"location": "westeurope"})
        self.assertEqual((status, body["name"]), (200, "My-Group"))
        self.assertNotIn("tags", body)  # PUT replaces
        self.assertEqual(self.call("HEAD", f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/MY-GROUP", RES)[0], 204)
        self.assertEqual(self.call("HEAD", rg_path("nope"), RES)[0], 404)
        status, body, _ = self.call("PATCH", rg_path("my-group"), RES, {"tags": {"b": "2"}})
        self.assertEqual((status, body["tags"]), (200, {"b": "2"}))
        self.assert_error(self.call("PUT", rg_path("my-group"), RES, {"location": "eastus"}), 409, "InvalidResourceGroupLocation")
        self.assert_error(self.call("GET", rg_path("nope"), RES), 404, "ResourceGroupNotFound")

    def test_group_validation(self):
        self.assert_error(self.call("PUT", rg_path("rg1"), RES, {}), 400, "LocationRequired")
        self.assert_error(self.call("PUT", rg_path("rg1"), RES, {"location": "westeurope", "colour": "blue"}),
                          400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", rg_path("rg1"), RES, {"location": "westeurope", "id": "x"}),
                          400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", rg_path("rg1"), RES, {"location": 5}), 400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", rg_path("rg1"), RES, {"location": "moon"}), 400, "LocationNotAvailableForResourceGroup")
        self.assert_error(self.call("PUT", rg_path("bad%20name"), RES, {"location": "westeurope"}), 400, "InvalidResourceGroup")
        self.assert_error(self.call("PUT", rg_path("ends."), RES, {"location": "westeurope"}), 400, "InvalidResourceGroup")
        self.assert_error(self.call("PUT", rg_path("x" * 91), RES, {"location": "westeurope"}), 400, "InvalidResourceGroup")
        self.assertEqual(self.call("PUT", rg_path("ok_(name).1"), RES, {"location": "westeurope"})[0], 201)

    def test_group_delete_cascades_after_polls(self):
        self.group()
        self.account()
        self.call("PUT", account_path("rg1", "acct1") + "/blobServices/default/containers/logs", STO, {})
        self.assertEqual(len(self.app.store.resources), 3)  # account, blob service, container
        status, _, headers = self.call("DELETE", rg_path("rg1"), RES)
        self.assertEqual(status, 202)
        self.assertIn("/operationresults/", headers["Location"])
        # While it is deleted: reads work, writes are refused.
        self.assertEqual(self.call("GET", rg_path("rg1"), RES)[1]["properties"]["provisioningState"], "Deleting")
        self.assert_error(self.call("PUT", account_path("rg1", "acct2"), STO, account_body()), 409, "ResourceGroupBeingDeleted")
        reads, status, _ = self.poll(headers["Location"])
        self.assertEqual(status, 200)
        self.assert_error(self.call("GET", rg_path("rg1"), RES), 404, "ResourceGroupNotFound")
        self.assertEqual(self.app.store.resources, {})
        self.assert_error(self.call("DELETE", rg_path("rg1"), RES), 404, "ResourceGroupNotFound")
        # The name is free again, also for the storage account.
        self.group()
        self.account()

    def test_put_into_missing_group(self):
        self.assert_error(self.call("PUT", account_path("nope", "acct1"), STO, account_body()), 404, "ResourceGroupNotFound")


class Lists(Base):
    def test_pagination_and_filters(self):
        for i in range(4):
            self.group(f"rg{i}")
        for i in range(7):
            status, _, headers = self.call("PUT", account_path(f"rg{i % 2}", f"acct{i}"), STO, account_body())
            self.assertEqual(status, 202)
        self.raw("POST", "/__contract/settle")
        self.call("PATCH", account_path("rg0", "acct2"), STO, {"tags": {"env": "prod"}})
        self.call("PATCH", account_path("rg1", "acct5"), STO, {"tags": {"env": "prod"}})
        names, url, pages = [], f"/subscriptions/{SUB}/resources?api-version={RES}", 0
        while url:
            status, page, _ = self.raw("GET", url)
            self.assertEqual(status, 200, page)
            self.assertLessEqual(len(page["value"]), 5)
            names += [r["name"] for r in page["value"]]
            url, pages = page.get("nextLink"), pages + 1
        self.assertEqual((sorted(names), pages), ([f"acct{i}" for i in range(7)], 2))
        q = urllib.parse.quote("tagName eq 'env' and tagValue eq 'prod'")
        _, page, _ = self.call("GET", f"/subscriptions/{SUB}/resources?$filter={q}", RES)
        self.assertEqual(sorted(r["name"] for r in page["value"]), ["acct2", "acct5"])
        self.assertTrue(all("tags" not in r for r in page["value"]), page)  # as ARM: no tags on a tag filter
        q = urllib.parse.quote("resourceType eq 'Microsoft.Storage/storageAccounts'")
        _, page, _ = self.call("GET", f"{rg_path('rg1')}/resources?$filter={q}&$top=10", RES)
        self.assertEqual(sorted(r["name"] for r in page["value"]), ["acct1", "acct3", "acct5"])
        self.assertNotIn("nextLink", page)
        _, page, _ = self.call("GET", f"/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts", STO)
        self.assertEqual((len(page["value"]), "nextLink" in page), (5, True))
        self.assertIn("api-version=2023-05-01", page["nextLink"])
        self.assert_error(self.call("GET", f"/subscriptions/{SUB}/resources?$skiptoken=garbage", RES), 400, "InvalidSkipToken")
        q = urllib.parse.quote("colour eq 'blue'")
        self.assert_error(self.call("GET", f"/subscriptions/{SUB}/resources?$filter={q}", RES), 400, "InvalidFilterInQueryString")
        _, page, _ = self.call("GET", f"/subscriptions/{SUB}/resourcegroups?$top=3", RES)
        self.assertEqual((len(page["value"]), "nextLink" in page), (3, True))


class Inventory(Base):
    """What nuke reads: creation times only when expanded, tracked nested resources in the
    generic lists, and the subscription's display name."""

    def test_created_time_is_given_only_when_expanded(self):
        self.group("rg1")
        self.account()
        for path in (f"/subscriptions/{SUB}/resources", f"{rg_path('rg1')}/resources", f"/subscriptions/{SUB}/resourcegroups"):
            _, plain, _ = self.call("GET", path, RES)
            self.assertTrue(plain["value"] and all("createdTime" not in i for i in plain["value"]), plain)
            _, expanded, _ = self.call("GET", path + "?$expand=createdTime", RES)
            for item in expanded["value"]:
                datetime.datetime.fromisoformat(item["createdTime"].replace("Z", "+00:00")[:26] + "+00:00")
                self.assertNotIn("changedTime", item)

    def test_tracked_nested_resources_are_listed_and_untracked_ones_are_not(self):
        self.group("rg1")
        p = f"{rg_path('rg1')}/providers/Microsoft.Cdn/profiles/prof1"
        self.call("PUT", p, CDN, {"location": "global", "sku": {"name": "Standard_AzureFrontDoor"}})
        self.raw("POST", "/__contract/settle")
        self.call("PUT", p + "/afdEndpoints/edge", CDN, {"location": "global", "tags": {"k": "v"}})
        self.call("PUT", p + "/ruleSets/cache", CDN, {})
        self.raw("POST", "/__contract/settle")
        _, page, _ = self.call("GET", f"{rg_path('rg1')}/resources", RES)
        self.assertEqual(sorted(i["type"] for i in page["value"]),
                         ["Microsoft.Cdn/profiles", "Microsoft.Cdn/profiles/afdEndpoints"])
        self.assertEqual([i["tags"] for i in page["value"] if i["name"] == "edge"], [{"k": "v"}])

    def test_the_subscription_has_a_display_name_and_its_own_api_version(self):
        status, body, _ = self.call("GET", f"/subscriptions/{SUB}", "2022-12-01")
        self.assertEqual(status, 200, body)
        self.assertEqual((body["subscriptionId"], body["id"], body["state"]), (SUB, f"/subscriptions/{SUB}", "Enabled"))
        self.assertEqual(body["displayName"], "overcast contract lab")
        self.raw("POST", "/__contract/config", {"subscriptionName": "team prod"})
        self.assertEqual(self.call("GET", f"/subscriptions/{SUB}", "2022-12-01")[1]["displayName"], "team prod")
        self.assert_error(self.call("GET", f"/subscriptions/{SUB}", RES), 400, "InvalidApiVersionParameter")
        self.assert_error(self.raw("GET", f"/subscriptions/{SUB}"), 400, "MissingApiVersionParameter")
        self.assert_error(self.call("DELETE", f"/subscriptions/{SUB}", "2022-12-01"), 405, "MethodNotAllowed")
        self.assert_error(self.call("GET", "/subscriptions/nope", "2022-12-01"), 400, "InvalidSubscriptionId")


class StorageAccounts(Base):
    def test_create_takes_polls_with_location_header(self):
        self.group()
        status, body, headers = self.call("PUT", account_path("rg1", "acct1"), STO, account_body())
        self.assertEqual((status, body), (202, None))
        self.assertEqual(headers["Retry-After"], "0")
        self.assertNotIn("Azure-AsyncOperation", headers)
        self.assertEqual(self.call("GET", account_path("rg1", "acct1"), STO)[1]["properties"]["provisioningState"], "Creating")
        reads, status, acct = self.poll(headers["Location"])
        self.assertEqual((reads, status), (2, 200))  # the GET above was one read
        self.assertEqual(acct["properties"]["provisioningState"], "Succeeded")
        self.assertEqual(acct["id"], f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/acct1")
        self.assertEqual((acct["sku"], acct["kind"], acct["tags"]), ({"name": "Standard_LRS", "tier": "Standard"}, "StorageV2", {"stack": "s1"}))
        self.assertFalse(acct["properties"]["allowBlobPublicAccess"])
        # PUT again: idempotent, at once.
        status, again, _ = self.call("PUT", account_path("rg1", "acct1"), STO, account_body())
        self.assertEqual((status, again["properties"]["provisioningState"]), (200, "Succeeded"))
        status, keys, _ = self.call("POST", account_path("rg1", "acct1") + "/listKeys", STO)
        self.assertEqual((status, keys["keys"][0]["value"]), (200, self.app.storage.key))
        self.assertEqual(self.call("DELETE", account_path("rg1", "acct1"), STO)[0], 200)
        self.assert_error(self.call("GET", account_path("rg1", "acct1"), STO), 404, "ResourceNotFound")
        self.assertEqual(self.call("DELETE", account_path("rg1", "acct1"), STO)[0], 204)

    def test_conflict_while_creating(self):
        self.group()
        self.raw("POST", "/__contract/config", {"polls": 5})
        self.call("PUT", account_path("rg1", "acct1"), STO, account_body())
        self.assert_error(self.call("PUT", account_path("rg1", "acct1"), STO, account_body()), 409, "AnotherOperationInProgress")
        self.assert_error(self.call("DELETE", account_path("rg1", "acct1"), STO), 409, "AnotherOperationInProgress")
        self.assertEqual(self.raw("POST", "/__contract/settle")[1], {"settled": 1})
        self.assertEqual(self.call("DELETE", account_path("rg1", "acct1"), STO)[0], 200)

    def test_names_are_global(self):
        self.group()
        self.group("rg2")
        self.group("rg1", OTHER_SUB)
        self.account()
        self.assert_error(self.call("PUT", account_path("rg1", "acct1", OTHER_SUB), STO, account_body()), 409, "StorageAccountAlreadyTaken")
        self.assert_error(self.call("PUT", account_path("rg2", "acct1"), STO, account_body()), 409, "StorageAccountInAnotherResourceGroup")
        check = f"/subscriptions/{OTHER_SUB}/providers/Microsoft.Storage/checkNameAvailability"
        _, body, _ = self.call("POST", check, STO, {"name": "acct1", "type": "Microsoft.Storage/storageAccounts"})
        self.assertEqual((body["nameAvailable"], body["reason"]), (False, "AlreadyExists"))
        _, body, _ = self.call("POST", check, STO, {"name": "Bad_Name", "type": "Microsoft.Storage/storageAccounts"})
        self.assertEqual((body["nameAvailable"], body["reason"]), (False, "AccountNameInvalid"))
        _, body, _ = self.call("POST", check, STO, {"name": "freename", "type": "Microsoft.Storage/storageAccounts"})
        self.assertEqual(body, {"nameAvailable": True})
        self.assert_error(self.call("POST", check, STO, {"name": "x"}), 400, "InvalidRequestContent")

    def test_body_validation(self):
        self.group()
        put = lambda body, name="acct1": self.call("PUT", account_path("rg1", name), STO, body)
        for name in ("ab", "a" * 25, "Upper1", "has-dash"):
            self.assert_error(put(account_body(), name), 400, "AccountNameInvalid")
        self.assert_error(put({**account_body(), "colour": "x"}), 400, "InvalidRequestContent")
        body = account_body(allowBlobPublicAccess="no")
        self.assertIn("allowBlobPublicAccess", self.assert_error(put(body), 400, "InvalidRequestContent"))
        body = account_body()
        body["sku"] = {"name": "Standard_XYZ"}
        self.assert_error(put(body), 400, "InvalidRequestContent")
        body["sku"] = {"name": "standard_lrs"}  # ARM enums are case-insensitive
        self.assertEqual(put(body)[0], 202)
        body = account_body()
        body["sku"]["tier"] = "Standard"  # Sku.tier is readOnly
        self.assert_error(put(body, "acct2"), 400, "InvalidRequestContent")
        body = account_body()
        del body["kind"]
        self.assert_error(put(body, "acct2"), 400, "InvalidRequestContent")
        body = account_body()
        del body["location"]
        self.assert_error(put(body, "acct2"), 400, "LocationRequired")
        self.assert_error(put(account_body(primaryEndpoints={}), "acct2"), 400, "InvalidRequestContent")
        # x-ms-client-flatten is an SDK thing: the wire has properties nested.
        self.assert_error(put({**account_body(), "allowBlobPublicAccess": False}, "acct2"), 400, "InvalidRequestContent")
        self.assert_error(put(account_body(networkAcls={"bypass": "AzureServices"}), "acct2"), 400, "InvalidRequestContent")
        self.assert_error(put({**account_body(), "location": "atlantis"}, "acct2"), 400, "LocationNotAvailableForResourceType")
        status, _, _ = self.raw("PUT", f"{self.base}{account_path('rg1', 'acct3')}?api-version={STO}", None)
        self.assertEqual(status, 400)

    def test_patch_merges_properties_and_replaces_tags(self):
        self.group()
        self.account(minimumTlsVersion="TLS1_2")
        status, body, _ = self.call("PATCH", account_path("rg1", "acct1"), STO,
                                    {"tags": {"new": "1"}, "properties": {"allowBlobPublicAccess": True}})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["tags"], {"new": "1"})
        self.assertEqual((body["properties"]["allowBlobPublicAccess"], body["properties"]["minimumTlsVersion"]), (True, "TLS1_2"))
        self.assert_error(self.call("PATCH", account_path("rg1", "acct1"), STO, {"location": "eastus"}), 400, "InvalidRequestContent")
        self.assert_error(self.call("PATCH", account_path("rg1", "nope"), STO, {"tags": {}}), 404, "ResourceNotFound")

    def test_endpoints_and_key_are_configurable(self):
        app = App(storage_key="a2V5", blob_endpoint="http://127.0.0.1:10000/{name}", queue_endpoint="http://127.0.0.1:10001/devstoreaccount1")
        self.assertEqual(app.storage.endpoints("acct")["blob"], "http://127.0.0.1:10000/acct/")
        self.assertEqual(app.storage.endpoints("acct")["queue"], "http://127.0.0.1:10001/devstoreaccount1/")
        self.assertEqual(app.storage.key, "a2V5")


class Blob(Base):
    def test_blob_service_containers_and_policy(self):
        self.group()
        self.account()
        svc = account_path("rg1", "acct1") + "/blobServices/default"
        status, body, _ = self.call("GET", svc, STO)
        self.assertEqual((status, body["properties"]["deleteRetentionPolicy"]["enabled"]), (200, False))
        status, body, _ = self.call("PUT", svc, STO, {"properties": {"isVersioningEnabled": True,
                                                                     "deleteRetentionPolicy": {"enabled": True, "days": 7}}})
        self.assertEqual(status, 200, body)
        self.assertTrue(self.call("GET", svc, STO)[1]["properties"]["isVersioningEnabled"])
        self.assert_error(self.call("PUT", svc, STO, {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 400}}}),
                          400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", account_path("rg1", "acct1") + "/blobServices/other", STO, {}), 400, "InvalidResourceName")
        c = svc + "/containers/"
        status, body, _ = self.call("PUT", c + "data", STO, {"properties": {"publicAccess": "None", "metadata": {"a": "b"}}})
        self.assertEqual((status, body["properties"]["publicAccess"]), (201, "None"))
        self.assertEqual(self.call("PUT", c + "data", STO, {"properties": {"publicAccess": "None"}})[0], 200)
        self.assert_error(self.call("PUT", c + "pub", STO, {"properties": {"publicAccess": "Blob"}}), 409, "ContainerOperationFailure")
        self.assert_error(self.call("PUT", c + "Bad--Name", STO, {}), 400, "ContainerOperationFailure")
        self.assert_error(self.call("PUT", c + "x", STO, {}), 400, "ContainerOperationFailure")
        self.call("PATCH", account_path("rg1", "acct1"), STO, {"properties": {"allowBlobPublicAccess": True}})
        self.assertEqual(self.call("PUT", c + "pub", STO, {"properties": {"publicAccess": "Blob"}})[0], 201)
        _, page, _ = self.call("GET", svc + "/containers", STO)
        self.assertEqual([i["name"] for i in page["value"]], ["data", "pub"])
        self.assertEqual(self.call("DELETE", c + "pub", STO)[0], 200)
        self.assert_error(self.call("GET", c + "pub", STO), 404, "ResourceNotFound")
        self.assert_error(self.call("PUT", account_path("rg1", "nope") + "/blobServices/default/containers/c", STO, {}),
                          404, "ParentResourceNotFound")
        pol = account_path("rg1", "acct1") + "/managementPolicies/default"
        self.assert_error(self.call("GET", pol, STO), 404, "ResourceNotFound")
        rule = {"name": "expire", "enabled": True, "type": "Lifecycle", "definition": {
            "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["logs/"]},
            "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 30}}}}}
        status, body, _ = self.call("PUT", pol, STO, {"properties": {"policy": {"rules": [rule]}}})
        self.assertEqual(status, 201, body)
        bad = json.loads(json.dumps(rule))
        bad["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] = -1
        self.assert_error(self.call("PUT", pol, STO, {"properties": {"policy": {"rules": [bad]}}}), 400, "InvalidRequestContent")
        bad = json.loads(json.dumps(rule))
        del bad["definition"]["filters"]["blobTypes"]
        self.assert_error(self.call("PUT", pol, STO, {"properties": {"policy": {"rules": [bad]}}}), 400, "InvalidRequestContent")
        self.assertEqual(self.call("DELETE", pol, STO)[0], 200)
        # Deleting the account takes its children.
        self.call("DELETE", account_path("rg1", "acct1"), STO)
        self.assertEqual(self.app.store.resources, {})


class ServiceBusTests(Base):
    NS = f"{rg_path('rg1')}/providers/Microsoft.ServiceBus/namespaces/overcast-ns1"

    def namespace(self, sku="Standard"):
        status, body, headers = self.call("PUT", self.NS, SB, {"location": "westeurope", "sku": {"name": sku}})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["properties"]["provisioningState"], "Created")
        url = headers["Azure-AsyncOperation"]
        for n in range(1, 10):
            status, op, _ = self.raw("GET", url)
            self.assertEqual(status, 200, op)
            if op["status"] != "InProgress":
                self.assertEqual(op["status"], "Succeeded", op)
                return n
        self.fail("namespace never created")

    def test_namespace_async_operation_and_queue_rules(self):
        self.group()
        self.assertEqual(self.namespace(), 3)  # two reads InProgress, the third Succeeded
        _, ns, _ = self.call("GET", self.NS, SB)
        self.assertEqual((ns["properties"]["provisioningState"], ns["properties"]["status"]), ("Succeeded", "Active"))
        q = self.NS + "/queues/jobs"
        status, body, _ = self.call("PUT", q, SB, {"properties": {"lockDuration": "PT1M", "maxDeliveryCount": 5,
                                                                  "requiresSession": True}})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["properties"]["maxDeliveryCount"], body["properties"]["requiresSession"]), (5, True))
        self.assertEqual(self.call("PUT", q, SB, {"properties": {"lockDuration": "PT2M", "requiresSession": True}})[0], 200)
        self.assert_error(self.call("PUT", q, SB, {"properties": {"requiresSession": False}}), 400, "BadRequest")
        self.assert_error(self.call("PUT", q, SB, {"properties": {"lockDuration": "PT6M"}}), 400, "BadRequest")
        self.assert_error(self.call("PUT", q, SB, {"properties": {"lockDuration": "one minute"}}), 400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", q, SB, {"properties": {"maxDeliveryCount": "5"}}), 400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", q, SB, {"properties": {"messageCount": 0}}), 400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", q, SB, {"location": "westeurope"}), 400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", self.NS + "/queues/-bad", SB, {}), 400, "InvalidResourceName")
        _, page, _ = self.call("GET", self.NS + "/queues", SB)
        self.assertEqual([i["name"] for i in page["value"]], ["jobs"])
        status, _, headers = self.call("DELETE", self.NS, SB)
        self.assertEqual(status, 202)
        self.assertIn("Azure-AsyncOperation", headers)
        reads, status, _ = self.poll(headers["Location"])
        self.assertEqual(status, 204)
        self.assert_error(self.call("GET", q, SB), 404, "ResourceNotFound")

    def test_basic_tier_and_names(self):
        self.group()
        self.assert_error(self.call("PUT", f"{rg_path('rg1')}/providers/Microsoft.ServiceBus/namespaces/short", SB,
                                    {"location": "westeurope", "sku": {"name": "Basic"}}), 400, "InvalidResourceName")
        self.assert_error(self.call("PUT", self.NS, SB, {"location": "westeurope", "sku": {"name": "Gold"}}),
                          400, "InvalidRequestContent")
        self.raw("POST", "/__contract/config", {"polls": 1})
        status, _, _ = self.call("PUT", self.NS, SB, {"location": "westeurope", "sku": {"name": "Basic"}})
        self.assertEqual(status, 201)
        # A queue in a namespace still activating: refused.
        self.assert_error(self.call("PUT", self.NS + "/queues/q1", SB, {}), 409, "Conflict")
        self.raw("POST", "/__contract/settle")
        self.assertEqual(self.call("PUT", self.NS + "/queues/q1", SB, {})[0], 200)
        msg = self.assert_error(self.call("PUT", self.NS + "/queues/q2", SB, {"properties": {"requiresSession": True}}),
                                400, "BadRequest")
        self.assertIn("Basic", msg)

    def test_root_rule_and_its_keys(self):
        self.group()
        self.namespace()
        rule = self.NS + "/authorizationRules/RootManageSharedAccessKey"
        _, body, _ = self.call("GET", rule, SB)
        self.assertEqual(body["properties"]["rights"], ["Listen", "Manage", "Send"])
        status, keys, _ = self.call("POST", rule + "/listKeys", SB)
        self.assertEqual(status, 200, keys)
        self.assertTrue(keys["primaryConnectionString"].startswith(
            "Endpoint=sb://overcast-ns1.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey="))
        self.assertEqual(keys["keyName"], "RootManageSharedAccessKey")
        self.assertEqual(self.call("POST", rule + "/listKeys", SB)[1], keys)
        self.assert_error(self.call("POST", self.NS + "/authorizationRules/nope/listKeys", SB), 404, "ResourceNotFound")
        self.assert_error(self.call("PUT", self.NS + "/authorizationRules/send", SB, {"properties": {}}),
                          400, "InvalidRequestContent")
        self.assertEqual(self.call("PUT", self.NS + "/authorizationRules/send", SB,
                                   {"properties": {"rights": ["Send"]}})[0], 200)

    def test_failed_operation(self):
        self.group()
        self.raw("POST", "/__contract/fail-next", {"code": "QuotaExceeded", "message": "no more namespaces"})
        status, body, headers = self.call("PUT", self.NS, SB, {"location": "westeurope", "sku": {"name": "Standard"}})
        self.raw("POST", "/__contract/settle")
        _, op, _ = self.raw("GET", headers["Azure-AsyncOperation"])
        self.assertEqual((op["status"], op["error"]["code"]), ("Failed", "QuotaExceeded"))
        self.assertEqual(self.call("GET", self.NS, SB)[1]["properties"]["provisioningState"], "Failed")


PG = "2024-08-01"
MY = "2023-12-30"


class FlexibleServers(Base):
    def server_path(self, name, ns="Microsoft.DBforPostgreSQL"):
        return f"{rg_path('rg1')}/providers/{ns}/flexibleServers/{name}"

    def server_body(self, **props):
        body = {"location": "westeurope", "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
                "properties": {"administratorLogin": "overcast", "administratorLoginPassword": "S3cret-pass!",
                               "version": "16", "storage": {"storageSizeGB": 32}}}
        body["properties"].update(props)
        return body

    def wait(self, headers):
        reads = 0
        while True:
            reads += 1
            _, op, _ = self.raw("GET", headers["Azure-AsyncOperation"])
            if op["status"] != "InProgress":
                self.assertEqual(op["status"], "Succeeded", op)
                return reads

    def test_postgres_server_database_and_replica(self):
        self.group()
        status, body, headers = self.call("PUT", self.server_path("pg-one"), PG, self.server_body())
        self.assertEqual((status, body), (202, None))
        self.assertIn("Location", headers)
        self.assertEqual(self.call("GET", self.server_path("pg-one"), PG)[1]["properties"]["state"], "Updating")
        self.wait(headers)
        _, server, _ = self.call("GET", self.server_path("pg-one"), PG)
        self.assertEqual(server["properties"]["state"], "Ready")
        self.assertEqual(server["properties"]["fullyQualifiedDomainName"], "pg-one.postgres.database.azure.com")
        self.assertNotIn("administratorLoginPassword", json.dumps(server))
        _, page, _ = self.call("GET", self.server_path("pg-one") + "/databases", PG)
        self.assertIn("postgres", [d["name"] for d in page["value"]])
        status, _, headers = self.call("PUT", self.server_path("pg-one") + "/databases/app", PG,
                                       {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
        self.assertEqual(status, 202)
        self.assert_error(self.call("PUT", self.server_path("pg-one") + "/databases/app", PG, {}), 409, "AnotherOperationInProgress")
        self.raw("POST", "/__contract/settle")
        self.assertEqual(self.call("GET", self.server_path("pg-one") + "/databases/app", PG)[1]["properties"]["charset"], "UTF8")
        self.assert_error(self.call("PUT", self.server_path("pg-one") + "/databases/bad", PG,
                                    {"properties": {"charset": "UTF-8!"}}), 400, "InvalidRequestContent")
        self.assert_error(self.call("DELETE", self.server_path("pg-one") + "/databases/postgres", PG), 400, "CannotDropSystemDatabase")
        # A replica: createMode Replica + sourceServerResourceId, no admin credentials.
        replica = {"location": "westeurope", "properties": {"createMode": "Replica", "sourceServerResourceId": server["id"]}}
        status, _, headers = self.call("PUT", self.server_path("pg-two"), PG, replica)
        self.assertEqual(status, 202)
        self.wait(headers)
        _, rep, _ = self.call("GET", self.server_path("pg-two"), PG)
        self.assertEqual((rep["properties"]["replicationRole"], rep["properties"]["version"], rep["sku"]["tier"]),
                         ("AsyncReplica", "16", "GeneralPurpose"))
        self.assertEqual(self.call("GET", self.server_path("pg-one"), PG)[1]["properties"]["replicationRole"], "Primary")
        self.assert_error(self.call("PUT", self.server_path("pg-two") + "/databases/x1", PG, {}), 400, "InvalidParameterValue")
        bad = {"location": "westeurope", "properties": {"createMode": "Replica", "sourceServerResourceId": server["id"] + "x"}}
        self.assert_error(self.call("PUT", self.server_path("pg-three"), PG, bad), 404, "ResourceNotFound")
        status, _, headers = self.call("DELETE", self.server_path("pg-one"), PG)
        self.assertEqual(status, 202)
        self.raw("POST", "/__contract/settle")
        self.assert_error(self.call("GET", self.server_path("pg-one") + "/databases/app", PG), 404, "ResourceNotFound")
        self.assertEqual(self.call("GET", self.server_path("pg-two"), PG)[1]["properties"]["replicationRole"], "None")

    def test_server_validation(self):
        self.group()
        put = lambda body, name="pg-one": self.call("PUT", self.server_path(name), PG, body)
        self.assert_error(put(self.server_body(), "PG_One"), 400, "InvalidResourceName")
        self.assert_error(put(self.server_body(administratorLoginPassword="short")), 400, "PasswordNotComplex")
        self.assert_error(put(self.server_body(administratorLogin="admin")), 400, "InvalidParameterValue")
        self.assert_error(put(self.server_body(version="9")), 400, "InvalidRequestContent")
        self.assert_error(put(self.server_body(state="Ready")), 400, "InvalidRequestContent")
        body = self.server_body()
        del body["properties"]["administratorLoginPassword"]
        self.assert_error(put(body), 400, "InvalidParameterValue")
        body = self.server_body()
        body["sku"] = {"name": "Standard_B1ms", "tier": "GeneralPurpose"}
        self.assert_error(put(body), 400, "SkuNotSupported")
        body["sku"] = {"name": "Standard_B1ms"}
        self.assert_error(put(body), 400, "InvalidRequestContent")
        self.assert_error(put(self.server_body(storage={"storageSizeGB": 33})), 400, "InvalidParameterValue")
        self.assertEqual(put(self.server_body())[0], 202)
        self.group("rg2")
        self.assert_error(self.call("PUT", f"{rg_path('rg2')}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-one",
                                    PG, self.server_body()), 409, "ServerNameAlreadyExists")

    def test_mysql_server(self):
        self.group()
        body = self.server_body(version="8.0.21")
        status, _, headers = self.call("PUT", self.server_path("my-one", "Microsoft.DBforMySQL"), MY, body)
        self.assertEqual(status, 202)
        self.assertEqual(self.wait(headers), 3)
        _, server, _ = self.call("GET", self.server_path("my-one", "Microsoft.DBforMySQL"), MY)
        self.assertEqual(server["properties"]["fullyQualifiedDomainName"], "my-one.mysql.database.azure.com")
        self.assertNotIn("administratorLoginPassword", server["properties"])
        self.assert_error(self.call("PUT", self.server_path("my-two", "Microsoft.DBforMySQL"), MY,
                                    self.server_body(version="16")), 400, "InvalidRequestContent")
        status, _, _ = self.call("PUT", self.server_path("my-one", "Microsoft.DBforMySQL") + "/databases/app", MY,
                                 {"properties": {"charset": "utf8mb4", "collation": "utf8mb4_0900_ai_ci"}})
        self.assertEqual(status, 202)
        status, body, _ = self.call("PATCH", self.server_path("my-one", "Microsoft.DBforMySQL"), MY,
                                    {"properties": {"administratorLoginPassword": "An0ther-secret"}})
        self.assertEqual(status, 200, body)
        self.assertNotIn("administratorLoginPassword", body["properties"])


NET = "2024-05-01"


class NetworkTests(Base):
    P = f"{rg_path('rg1')}/providers/Microsoft.Network"

    def put(self, path, body):
        status, out, headers = self.call("PUT", self.P + path, NET, body)
        if status in (200, 201):
            self.assertIn("Azure-AsyncOperation", headers)
            self.raw("POST", "/__contract/settle")
        return status, out

    def vnet(self):
        return self.put("/virtualNetworks/vnet1", {"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}}]}})

    def nic(self, name="nic1", **cfg):
        props = {"subnet": {"id": f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default"}}
        props.update(cfg)
        return self.put(f"/networkInterfaces/{name}", {"location": "westeurope", "properties": {
            "ipConfigurations": [{"name": "ipconfig1", "properties": props}]}})

    def test_vnet_subnets_nic_and_in_use_rules(self):
        self.group()
        status, body = self.vnet()
        self.assertEqual((status, body["properties"]["provisioningState"]), (201, "Updating"))
        _, vnet, _ = self.call("GET", self.P + "/virtualNetworks/vnet1", NET)
        self.assertEqual([s["name"] for s in vnet["properties"]["subnets"]], ["default"])
        self.assertEqual(vnet["properties"]["provisioningState"], "Succeeded")
        self.assert_error(self.call("PUT", self.P + "/virtualNetworks/vnet1/subnets/out", NET,
                                    {"properties": {"addressPrefix": "10.1.0.0/24"}}), 400, "NetcfgSubnetRangeOutsideVnet")
        self.assert_error(self.call("PUT", self.P + "/virtualNetworks/vnet1/subnets/dup", NET,
                                    {"properties": {"addressPrefix": "10.0.0.128/25"}}), 400, "NetcfgSubnetRangesOverlap")
        self.assert_error(self.call("PUT", self.P + "/virtualNetworks/vnet1/subnets/bad", NET,
                                    {"properties": {"addressPrefix": "10.0.1.1/24"}}), 400, "InvalidAddressPrefixFormat")
        status, _ = self.put("/virtualNetworks/vnet1/subnets/apps", {"properties": {"addressPrefix": "10.0.1.0/24"}})
        self.assertEqual(status, 201)
        status, pip = self.put("/publicIPAddresses/pip1", {"location": "westeurope", "sku": {"name": "Standard"},
                                                          "properties": {"publicIPAllocationMethod": "Static"}})
        self.assertEqual(status, 201, pip)
        self.assert_error(self.call("PUT", self.P + "/publicIPAddresses/pip2", NET, {
            "location": "westeurope", "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Dynamic"}}),
            400, "StandardSkuPublicIPAddressesMustBeStatic")
        status, nic = self.nic(publicIPAddress={"id": pip["id"]})
        self.assertEqual(status, 201, nic)
        _, nic, _ = self.call("GET", self.P + "/networkInterfaces/nic1", NET)
        cfg = nic["properties"]["ipConfigurations"][0]
        self.assertEqual((cfg["properties"]["privateIPAddress"], cfg["properties"]["primary"]), ("10.0.0.4", True))
        self.assert_error(self.call("PUT", self.P + "/networkInterfaces/nic2", NET, {"location": "westeurope", "properties": {
            "ipConfigurations": [{"name": "c", "properties": {"subnet": {"id": cfg["properties"]["subnet"]["id"] + "x"}}}]}}),
            400, "InvalidResourceReference")
        self.assert_error(self.call("DELETE", self.P + "/virtualNetworks/vnet1/subnets/default", NET), 400, "InUseSubnetCannotBeDeleted")
        self.assert_error(self.call("DELETE", self.P + "/virtualNetworks/vnet1", NET), 400, "InUseSubnetCannotBeDeleted")
        self.assert_error(self.call("DELETE", self.P + "/publicIPAddresses/pip1", NET), 400, "PublicIPAddressCannotBeDeleted")
        # A NIC attached to a VM (Microsoft.Compute sets virtualMachine) cannot go.
        rec = self.app.engine.find(nic["id"])
        rec["body"]["properties"]["virtualMachine"] = {"id": "/subscriptions/x/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"}
        self.assert_error(self.call("DELETE", self.P + "/networkInterfaces/nic1", NET), 400, "NicInUse")
        del rec["body"]["properties"]["virtualMachine"]
        status, _, headers = self.call("DELETE", self.P + "/networkInterfaces/nic1", NET)
        self.assertEqual(status, 202)
        self.assertIn("Azure-AsyncOperation", headers)
        self.raw("POST", "/__contract/settle")
        self.assertEqual(self.call("DELETE", self.P + "/virtualNetworks/vnet1/subnets/default", NET)[0], 202)
        self.raw("POST", "/__contract/settle")
        _, vnet, _ = self.call("GET", self.P + "/virtualNetworks/vnet1", NET)
        self.assertEqual([s["name"] for s in vnet["properties"]["subnets"]], ["apps"])
        status, body, _ = self.call("PATCH", self.P + "/virtualNetworks/vnet1", NET, {"tags": {"a": "b"}})
        self.assertEqual((status, body["tags"]), (200, {"a": "b"}))

    def test_nsg_rules(self):
        self.group()
        rule = {"name": "ssh", "properties": {"protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": 100,
                                              "sourcePortRange": "*", "destinationPortRange": "22",
                                              "sourceAddressPrefix": "*", "destinationAddressPrefix": "*"}}
        status, nsg = self.put("/networkSecurityGroups/nsg1", {"location": "westeurope", "properties": {"securityRules": [rule]}})
        self.assertEqual(status, 201, nsg)
        self.assertEqual(len(nsg["properties"]["defaultSecurityRules"]), 6)
        bad = json.loads(json.dumps(rule))
        bad["properties"]["priority"] = 5000
        self.assert_error(self.call("PUT", self.P + "/networkSecurityGroups/nsg1", NET,
                                    {"location": "westeurope", "properties": {"securityRules": [bad]}}), 400, "SecurityRuleInvalidPriority")
        bad["properties"].update(priority=100, destinationPortRange="70000")
        self.assert_error(self.call("PUT", self.P + "/networkSecurityGroups/nsg1", NET,
                                    {"location": "westeurope", "properties": {"securityRules": [bad]}}), 400, "SecurityRuleInvalidPortRange")
        bad["properties"].update(destinationPortRange="22", protocol="Gre")
        self.assert_error(self.call("PUT", self.P + "/networkSecurityGroups/nsg1", NET,
                                    {"location": "westeurope", "properties": {"securityRules": [bad]}}), 400, "InvalidRequestContent")
        self.vnet()
        status, _ = self.put("/virtualNetworks/vnet1/subnets/default", {"properties": {
            "addressPrefix": "10.0.0.0/24", "networkSecurityGroup": {"id": nsg["id"]}}})
        self.assertEqual(status, 200)
        self.assert_error(self.call("DELETE", self.P + "/networkSecurityGroups/nsg1", NET), 400, "InUseNetworkSecurityGroupCannotBeDeleted")
        self.assert_error(self.call("PUT", self.P + "/virtualNetworks/vnet-x", NET, {"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.0.0/24",
                                                     "networkSecurityGroup": {"id": nsg["id"] + "-nope"}}}]}}),
            400, "InvalidResourceReference")


VMV = "2024-07-01"


class ComputeTests(Base):
    NP = f"{rg_path('rg1')}/providers/Microsoft.Network"
    VM = f"{rg_path('rg1')}/providers/Microsoft.Compute/virtualMachines/vm1"

    def setup_network(self):
        self.group()
        self.call("PUT", self.NP + "/virtualNetworks/vnet1", NET, {"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}}]}})
        self.raw("POST", "/__contract/settle")
        subnet = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default"
        _, nic, _ = self.call("PUT", self.NP + "/networkInterfaces/nic1", NET, {"location": "westeurope", "properties": {
            "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]}})
        self.raw("POST", "/__contract/settle")
        return nic["id"]

    def vm_body(self, nic_id, **os):
        profile = {"computerName": "vm1", "adminUsername": "overcast",
                   "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                       {"path": "/home/overcast/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIexample"}]}}}
        profile.update(os)
        return {"location": "westeurope", "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s_v2"},
            "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
                               "osDisk": {"createOption": "FromImage", "managedDisk": {"storageAccountType": "StandardSSD_LRS"}}},
            "osProfile": profile,
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]}}}

    def test_vm_lifecycle_and_nic_in_use(self):
        nic_id = self.setup_network()
        status, vm, headers = self.call("PUT", self.VM, VMV, self.vm_body(nic_id))
        self.assertEqual((status, vm["properties"]["provisioningState"]), (201, "Creating"), vm)
        self.assertIn("Azure-AsyncOperation", headers)
        self.raw("POST", "/__contract/settle")
        _, nic, _ = self.call("GET", self.NP + "/networkInterfaces/nic1", NET)
        self.assertEqual(nic["properties"]["virtualMachine"]["id"].lower(), vm["id"].lower())
        self.assert_error(self.call("DELETE", self.NP + "/networkInterfaces/nic1", NET), 400, "NicInUse")
        status, _, headers = self.call("POST", self.VM + "/powerOff", VMV)
        self.assertEqual(status, 202)
        self.raw("POST", "/__contract/settle")
        _, view, _ = self.call("GET", self.VM + "/instanceView", VMV)
        self.assertIn("PowerState/stopped", [s["code"] for s in view["statuses"]])
        status, _, headers = self.call("DELETE", self.VM, VMV)
        self.assertEqual(status, 202)
        self.raw("POST", "/__contract/settle")
        self.assert_error(self.call("GET", self.VM, VMV), 404, "ResourceNotFound")
        self.assertEqual(self.call("DELETE", self.NP + "/networkInterfaces/nic1", NET)[0], 202)

    def disks(self):
        _, page, _ = self.call("GET", rg_path("rg1") + "/resources", RES)
        return [r for r in page["value"] if r["type"] == "Microsoft.Compute/disks"]

    def test_the_os_disk_goes_with_its_vm_only_when_its_delete_option_says_so(self):
        nic_id = self.setup_network()
        body = self.vm_body(nic_id)
        body["properties"]["storageProfile"]["osDisk"]["deleteOption"] = "Delete"
        _, vm, _ = self.call("PUT", self.VM, VMV, body)
        self.raw("POST", "/__contract/settle")
        [disk] = self.disks()
        self.assertEqual(disk["managedBy"].lower(), vm["id"].lower())
        _, live, _ = self.call("GET", self.VM, VMV)
        self.assertEqual(live["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"].lower(), disk["id"].lower())
        disk_path = disk["id"]
        self.assert_error(self.call("DELETE", disk_path, VMV), 409, "OperationNotAllowed")
        self.assert_error(self.call("PUT", disk_path, VMV, {"location": "westeurope"}), 501, "NotImplemented")
        self.call("DELETE", self.VM, VMV)
        self.raw("POST", "/__contract/settle")
        self.assertEqual(self.disks(), [])
        # Without the option the disk stays, detached, and can then be deleted.
        self.call("PUT", self.VM, VMV, self.vm_body(nic_id))
        self.raw("POST", "/__contract/settle")
        self.call("DELETE", self.VM, VMV)
        self.raw("POST", "/__contract/settle")
        [left] = self.disks()
        self.assertNotIn("managedBy", left)
        _, disk, _ = self.call("GET", left["id"], VMV)
        self.assertEqual(disk["properties"]["diskState"], "Unattached")
        self.assertEqual(self.call("DELETE", left["id"], VMV)[0], 202)
        self.raw("POST", "/__contract/settle")
        self.assertEqual(self.disks(), [])

    def test_vm_validation(self):
        nic_id = self.setup_network()
        put = lambda body: self.call("PUT", self.VM, VMV, body)
        body = self.vm_body(nic_id)
        body["properties"]["storageProfile"]["imageReference"]["offer"] = "no-such-offer"
        self.assert_error(put(body), 404, "PlatformImageNotFound")
        self.assert_error(put(self.vm_body(nic_id, adminUsername="admin")), 400, "InvalidParameter")
        body = self.vm_body(nic_id)
        body["properties"]["hardwareProfile"]["vmSize"] = "Huge"
        self.assert_error(put(body), 400, "InvalidParameter")
        body = self.vm_body(nic_id)
        body["properties"]["osProfile"]["adminPassword"] = "Secret-123"
        self.assert_error(put(body), 400, "InvalidParameter")  # password with password auth disabled
        body = self.vm_body(nic_id)
        body["properties"]["networkProfile"]["networkInterfaces"][0]["id"] = nic_id + "x"
        self.assert_error(put(body), 404, "NotFound")
        body = self.vm_body(nic_id)
        body["properties"]["storageProfile"]["osDisk"]["createOption"] = "FromSpace"
        self.assert_error(put(body), 400, "InvalidRequestContent")
        body = self.vm_body(nic_id)
        body["properties"]["vmId"] = "x"
        self.assert_error(put(body), 400, "InvalidRequestContent")
        body = self.vm_body(nic_id)
        body["properties"]["securityProfile"] = {"encryptionAtHost": True}
        self.assert_error(put(body), 501, "NotImplemented")


CDN = "2024-09-01"


class CdnTests(Base):
    P = f"{rg_path('rg1')}/providers/Microsoft.Cdn/profiles/prof1"

    def settle(self):
        self.raw("POST", "/__contract/settle")

    def put(self, path, body, status=201):
        got, out, headers = self.call("PUT", self.P + path, CDN, body)
        self.assertEqual(got, status, out)
        self.settle()
        return out, headers

    def rule(self, duration="01:00:00", behavior="OverrideAlways", type_name="DeliveryRuleRouteConfigurationOverrideActionParameters"):
        cache = {"queryStringCachingBehavior": "IgnoreQueryString", "cacheBehavior": behavior}
        if duration is not None:
            cache["cacheDuration"] = duration
        return {"properties": {"order": 1, "actions": [{"name": "RouteConfigurationOverride", "parameters": {
            "typeName": type_name, "cacheConfiguration": cache}}]}}

    def route(self, **props):
        body = {"originGroup": {"id": self.origin_group_id()}, "linkToDefaultDomain": "Enabled",
                "ruleSets": [{"id": self.rule_set_id()}],
                "patternsToMatch": ["/*"], "httpsRedirect": "Enabled", "forwardingProtocol": "HttpsOnly",
                "cacheConfiguration": {"queryStringCachingBehavior": "IgnoreQueryString"}}
        body.update(props)
        return {"properties": body}

    def origin_group_id(self):
        return self.P + "/originGroups/og"

    def rule_set_id(self):
        return self.P + "/ruleSets/cache"

    def front_door(self):
        """A profile, endpoint, origin group, origin, rule set and rule, as a cdn resource makes them."""
        self.group()
        body, headers = self.put("", {"location": "global", "sku": {"name": "Standard_AzureFrontDoor"}, "tags": {"a": "b"}})
        self.assertEqual(body["properties"]["provisioningState"], "Creating")
        self.assertIn("Azure-AsyncOperation", headers)
        endpoint, _ = self.put("/afdEndpoints/edge", {"location": "global", "properties": {"enabledState": "Enabled"}})
        self.put("/originGroups/og", {"properties": {"loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3},
                                                      "healthProbeSettings": {"probePath": "/", "probeProtocol": "Https",
                                                                              "probeRequestType": "HEAD", "probeIntervalInSeconds": 100}}})
        self.put("/originGroups/og/origins/blob", {"properties": {"hostName": "acct.blob.core.windows.net",
                                                                  "originHostHeader": "acct.blob.core.windows.net"}})
        self.put("/ruleSets/cache", {}, status=201)
        self.put("/ruleSets/cache/rules/ttl", self.rule())
        return endpoint

    def test_front_door_lifecycle_host_name_and_cascade(self):
        endpoint = self.front_door()
        host = endpoint["properties"]["hostName"]
        self.assertRegex(host, r"^edge-[a-z2-7]{16}\.z01\.azurefd\.net$")
        route, _ = self.put("/afdEndpoints/edge/routes/default", self.route(originPath="/site"))
        self.assertEqual(route["properties"]["originGroup"]["id"], self.origin_group_id())
        _, got, _ = self.call("GET", self.P + "/afdEndpoints/edge/routes/default", CDN)
        self.assertEqual((got["properties"]["provisioningState"], got["properties"]["originPath"]), ("Succeeded", "/site"))
        # An update keeps the endpoint's host name; the origin's host changes in place.
        again, _ = self.put("/afdEndpoints/edge", {"location": "global", "tags": {"x": "y"}}, status=200)
        self.assertEqual(again["properties"]["hostName"], host)
        self.put("/originGroups/og/origins/blob", {"properties": {"hostName": "other.blob.core.windows.net"}}, status=200)
        # Deleting the profile takes everything under it.
        status, _, headers = self.call("DELETE", self.P, CDN)
        self.assertEqual(status, 202)
        self.assertIn("Azure-AsyncOperation", headers)
        self.settle()
        for child in ("", "/afdEndpoints/edge", "/afdEndpoints/edge/routes/default", "/originGroups/og/origins/blob",
                      "/ruleSets/cache/rules/ttl"):
            self.assert_error(self.call("GET", self.P + child, CDN), 404, "ResourceNotFound")

    def test_what_a_route_uses_cannot_go(self):
        self.front_door()
        self.put("/afdEndpoints/edge/routes/default", self.route())
        msg = self.assert_error(self.call("DELETE", self.P + "/originGroups/og/origins/blob", CDN), 400, "BadRequest")
        self.assertIn("last origin", msg)
        self.assert_error(self.call("PUT", self.P + "/originGroups/og/origins/blob", CDN, {"properties": {
            "hostName": "acct.blob.core.windows.net", "enabledState": "Disabled"}}), 400, "BadRequest")
        self.assert_error(self.call("DELETE", self.P + "/originGroups/og", CDN), 400, "BadRequest")
        self.assert_error(self.call("DELETE", self.P + "/ruleSets/cache", CDN), 400, "BadRequest")
        # Once the route is gone, so may they be.
        self.assertEqual(self.call("DELETE", self.P + "/afdEndpoints/edge/routes/default", CDN)[0], 202)
        self.settle()
        self.assertEqual(self.call("DELETE", self.P + "/originGroups/og", CDN)[0], 202)
        self.assertEqual(self.call("DELETE", self.P + "/ruleSets/cache", CDN)[0], 202)

    def test_route_and_rule_validation(self):
        self.front_door()
        put = lambda path, body: self.call("PUT", self.P + path, CDN, body)
        msg = self.assert_error(put("/afdEndpoints/edge/routes/r1", self.route(originGroup={"id": self.P + "/originGroups/none"})),
                                400, "BadRequest")
        self.assertIn("at least one enabled origin", msg)
        self.assert_error(put("/afdEndpoints/edge/routes/r1", self.route(patternsToMatch=["/a*"])), 400, "BadRequest")
        self.assert_error(put("/afdEndpoints/edge/routes/r1", self.route(supportedProtocols=["Https"])), 400, "BadRequest")
        self.assert_error(put("/afdEndpoints/edge/routes/r1", self.route(linkToDefaultDomain="Disabled")), 400, "BadRequest")
        self.assert_error(put("/afdEndpoints/edge/routes/r1", self.route(ruleSets=[{"id": self.P + "/ruleSets/none"}])),
                          400, "BadRequest")
        self.assert_error(put("/afdEndpoints/edge/routes/r1", self.route(forwardingProtocol="Https")), 400, "InvalidRequestContent")
        self.assert_error(put("/ruleSets/cache/rules/t2", self.rule(duration="0.01:00:00")), 400, "BadRequest")
        self.assert_error(put("/ruleSets/cache/rules/t2", self.rule(duration="366.00:00:00")), 400, "BadRequest")
        self.assert_error(put("/ruleSets/cache/rules/t2", self.rule(duration=None)), 400, "BadRequest")
        self.assert_error(put("/ruleSets/cache/rules/t2", self.rule(type_name="DeliveryRuleUrlRewriteActionParameters")),
                          400, "BadRequest")
        self.put("/ruleSets/cache/rules/t2", self.rule(duration="365.23:59:59"))
        self.put("/ruleSets/cache/rules/t3", self.rule(duration=None, behavior="HonorOrigin"))
        # A polymorphic action is checked against the subtype its name gives.
        bad = self.rule()
        bad["properties"]["actions"][0]["parameters"]["cacheConfiguration"]["ttl"] = 5
        self.assert_error(put("/ruleSets/cache/rules/t4", bad), 400, "InvalidRequestContent")
        self.assert_error(put("/ruleSets/cache/rules/t4", {"properties": {"order": 1, "actions": [
            {"name": "UrlRewrite", "parameters": {"typeName": "DeliveryRuleUrlRewriteActionParameters"}}]}}), 501, "NotImplemented")

    def test_profile_and_names(self):
        self.group()
        prof = lambda sku="Standard_AzureFrontDoor", location="global": {"location": location, "sku": {"name": sku}}
        self.assert_error(self.call("PUT", self.P, CDN, prof(location="westeurope")), 400, "LocationNotAvailableForResourceType")
        self.assert_error(self.call("PUT", self.P, CDN, prof(sku="Standard_Microsoft")), 501, "NotImplemented")
        self.assert_error(self.call("PUT", self.P, CDN, prof(sku="Cheap")), 400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", rg_path("rg1") + "/providers/Microsoft.Cdn/profiles/bad_name", CDN, prof()),
                          400, "BadRequest")
        body = prof()
        body["properties"] = {"frontDoorId": "x"}
        self.assert_error(self.call("PUT", self.P, CDN, body), 400, "InvalidRequestContent")
        self.put("", prof())
        self.assert_error(self.call("PUT", self.P, CDN, prof(sku="Premium_AzureFrontDoor")), 400, "BadRequest")
        self.assert_error(self.call("PUT", self.P + "/afdEndpoints/" + "e" * 47, CDN, {"location": "global"}), 400, "BadRequest")
        self.assert_error(self.call("PUT", self.P + "/ruleSets/has-dash", CDN, {}), 400, "BadRequest")
        self.assert_error(self.call("PUT", self.P + "/originGroups/og", CDN, {"location": "global", "properties": {}}),
                          400, "InvalidRequestContent")
        status, page, _ = self.call("GET", f"/subscriptions/{SUB}/providers/Microsoft.Cdn/profiles", CDN)
        self.assertEqual((status, [p["name"] for p in page["value"]]), (200, ["prof1"]))
        status, patched, _ = self.call("PATCH", self.P, CDN, {"tags": {"k": "v"}})
        self.assertEqual((status, patched["tags"]), (200, {"k": "v"}))
WEB = "2024-04-01"


class WebTests(Base):
    PLAN = f"{rg_path('rg1')}/providers/Microsoft.Web/serverfarms/plan1"
    SITE = f"{rg_path('rg1')}/providers/Microsoft.Web/sites/fn-site-1"

    def plan(self, path=None, sku="Y1", reserved=True, location="westeurope"):
        body = {"location": location, "kind": "functionapp", "sku": {"name": sku, "tier": "Dynamic"},
                "properties": {"reserved": reserved}, "tags": {"k": "v"}}
        return self.call("PUT", path or self.PLAN, WEB, body)

    def site_body(self, fx="Python|3.12", settings=None, **props):
        plan_id = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan1"
        config = {"linuxFxVersion": fx, "appSettings": settings if settings is not None else
                  [{"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"}, {"name": "A", "value": "1"}]}
        return {"location": "westeurope", "kind": "functionapp,linux", "tags": {"k": "v"},
                "properties": {"serverFarmId": plan_id, "reserved": True, "httpsOnly": True, "siteConfig": config,
                               **props}}

    def test_plan_and_site_lifecycle(self):
        self.group()
        status, plan, _ = self.plan()
        self.assertEqual(status, 200, plan)
        self.assertEqual((plan["sku"]["name"], plan["sku"]["tier"]), ("Y1", "Dynamic"))
        self.assertEqual((plan["properties"]["reserved"], plan["properties"]["provisioningState"]), (True, "Succeeded"))
        status, site, headers = self.call("PUT", self.SITE, WEB, self.site_body())
        self.assertEqual(status, 202, site)
        self.assertEqual(site["properties"]["defaultHostName"], "fn-site-1.azurewebsites.net")
        self.assertIsNone(site["properties"]["siteConfig"]["appSettings"])
        url = headers["Azure-AsyncOperation"]
        statuses = [self.raw("GET", url)[1]["status"] for _ in range(3)]
        self.assertEqual(statuses, ["InProgress", "InProgress", "Succeeded"])
        _, site, _ = self.call("GET", self.SITE, WEB)
        self.assertEqual(site["properties"]["siteConfig"]["linuxFxVersion"], "Python|3.12")
        self.assertEqual(site["kind"], "functionapp,linux")
        status, settings, _ = self.call("POST", self.SITE + "/config/appsettings/list", WEB)
        self.assertEqual(status, 200, settings)
        self.assertEqual(settings["properties"], {"FUNCTIONS_WORKER_RUNTIME": "python", "A": "1"})
        # PUT of an existing site: at once; appSettings given replace them all.
        status, _, headers = self.call("PUT", self.SITE, WEB, self.site_body(
            "Python|3.11", [{"name": "B", "value": "2"}]))
        self.assertEqual(status, 200)
        self.assertNotIn("Azure-AsyncOperation", headers)
        self.assertEqual(self.call("POST", self.SITE + "/config/appsettings/list", WEB)[1]["properties"], {"B": "2"})
        # A PUT without appSettings keeps them; PUT config/appsettings replaces them.
        body = self.site_body()
        del body["properties"]["siteConfig"]["appSettings"]
        self.assertEqual(self.call("PUT", self.SITE, WEB, body)[0], 200)
        self.assertEqual(self.call("POST", self.SITE + "/config/appsettings/list", WEB)[1]["properties"], {"B": "2"})
        status, _, _ = self.call("PUT", self.SITE + "/config/appsettings", WEB, {"properties": {"C": "3"}})
        self.assertEqual(status, 200)
        self.assertEqual(self.call("POST", self.SITE + "/config/appsettings/list", WEB)[1]["properties"], {"C": "3"})
        self.assert_error(self.call("PUT", self.SITE + "/config/appsettings", WEB, {"properties": {"C": 3}}),
                          400, "InvalidRequestContent")
        # In use: the plan cannot go first.
        msg = self.assert_error(self.call("DELETE", self.PLAN, WEB), 409, "Conflict")
        self.assertIn("fn-site-1", msg)
        _, plan, _ = self.call("GET", self.PLAN, WEB)
        self.assertEqual(plan["properties"]["numberOfSites"], 1)
        self.assertEqual(self.call("DELETE", self.SITE, WEB)[0], 200)
        self.assert_error(self.call("POST", self.SITE + "/config/appsettings/list", WEB), 404, "ResourceNotFound")
        self.assertEqual(self.call("DELETE", self.SITE, WEB)[0], 204)
        self.assertEqual(self.call("DELETE", self.PLAN, WEB)[0], 200)

    def test_site_rules(self):
        self.group()
        self.plan()
        base = f"{rg_path('rg1')}/providers/Microsoft.Web/sites/"
        for bad in ("a", "-abc", "abc-", "a_b", "x" * 61):
            self.assert_error(self.call("PUT", base + bad, WEB, self.site_body()), 400, "InvalidResourceName")
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body("Python|3.13")), 400, "BadRequest")
        msg = self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body("Cobol|1")), 400, "BadRequest")
        self.assertIn("LinuxFxVersion", msg)
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body(settings=[
            {"name": "A", "value": "1"}, {"name": "a", "value": "2"}])), 400, "BadRequest")
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body(settings=[{"name": "A", "value": 1}])),
                          400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body(defaultHostName="x")),
                          400, "InvalidRequestContent")
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body(functionAppConfig={})), 501, "NotImplemented")
        missing = self.site_body()
        missing["properties"]["serverFarmId"] = missing["properties"]["serverFarmId"].replace("plan1", "nope")
        msg = self.assert_error(self.call("PUT", self.SITE, WEB, missing), 404, "NotFound")
        self.assertIn("Cannot find ServerFarm with name nope", msg)
        windows = f"{rg_path('rg1')}/providers/Microsoft.Web/serverfarms/plan1"
        self.call("DELETE", windows, WEB)
        self.plan(reserved=False)
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body()), 400, "BadRequest")
        self.call("DELETE", windows, WEB)
        self.plan(location="northeurope")
        self.assert_error(self.call("PUT", self.SITE, WEB, self.site_body()), 400, "BadRequest")
        self.assert_error(self.call("PATCH", self.PLAN, WEB, {"tags": {}}), 405, "MethodNotAllowed")

    def test_site_names_are_global_and_plans_checked(self):
        self.group()
        self.plan()
        self.assertEqual(self.call("PUT", self.SITE, WEB, self.site_body())[0], 202)
        self.raw("POST", "/__contract/settle")
        self.group(sub=OTHER_SUB)
        other = self.site_body()
        other["properties"]["serverFarmId"] = other["properties"]["serverFarmId"].replace(SUB, OTHER_SUB)
        self.call("PUT", rg_path("rg1", OTHER_SUB) + "/providers/Microsoft.Web/serverfarms/plan1", WEB,
                  {"location": "westeurope", "sku": {"name": "Y1"}, "properties": {"reserved": True}})
        path = rg_path("rg1", OTHER_SUB) + "/providers/Microsoft.Web/sites/FN-SITE-1"
        self.assert_error(self.call("PUT", path, WEB, other), 409, "Conflict")
        self.assert_error(self.call("PUT", self.PLAN, WEB, {"location": "westeurope", "sku": {"name": "Y1", "tier": "Standard"}}),
                          400, "BadRequest")
        self.assert_error(self.call("PUT", self.PLAN.replace("plan1", "plan2"), WEB, {"location": "westeurope"}),
                          400, "BadRequest")
        self.assert_error(self.plan(reserved=False), 400, "BadRequest")
        _, page, _ = self.call("GET", f"/subscriptions/{SUB}/resources", RES)
        self.assertEqual(sorted(i["type"] for i in page["value"]), ["Microsoft.Web/serverfarms", "Microsoft.Web/sites"])


class Log(Base):
    def test_requests_are_recorded(self):
        self.call("PUT", rg_path("rg1"), RES, {"location": "westeurope"}, headers={"x-ms-client-request-id": "abc"})
        _, log, _ = self.raw("GET", "/__contract/requests")
        entry = log["requests"][0]
        self.assertEqual((entry["method"], entry["path"], entry["status"]), ("PUT", rg_path("rg1"), 201))
        self.assertEqual(entry["query"], {"api-version": RES})
        self.assertEqual(entry["body"], {"location": "westeurope"})
        self.assertEqual(entry["headers"]["authorization"], "Bearer")
        self.assertEqual(entry["headers"]["x-ms-client-request-id"], "abc")


if __name__ == "__main__":
    unittest.main()
