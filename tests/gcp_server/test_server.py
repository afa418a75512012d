"""Unit tests of the contract server, over HTTP against a server in a thread.

Run from tests/: `python -m unittest gcp_server.test_server` (tests/gcp_contract.rs runs
them, so `cargo test` does).
"""

import json
import unittest
import urllib.error
import urllib.request

from .server import App, start_in_thread

P = "/compute/v1/projects/proj"
Z = P + "/zones/us-central1-a"
SQL = "/v1/projects/proj"


def instance(name, network="global/networks/default", **extra):
    body = {
        "name": name,
        "machineType": "zones/us-central1-a/machineTypes/e2-small",
        "disks": [{"boot": True, "autoDelete": True, "initializeParams": {
            "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
        "networkInterfaces": [{"network": network, "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}],
    }
    body.update(extra)
    return body


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = App(polls=2)
        cls.httpd = start_in_thread(cls.app)
        cls.port = cls.httpd.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def setUp(self):
        self.call("POST", "/__contract/reset")
        self.call("POST", "/__contract/config", {"polls": 2})

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def done(self, op):
        """Poll an operation until DONE; the number of reads it took."""
        link = op["selfLink"].split(str(self.port), 1)[1]
        for n in range(1, 20):
            status, body = self.call("GET", link)
            self.assertEqual(status, 200, body)
            if body["status"] == "DONE":
                self.assertNotIn("error", body)
                return n
        self.fail("operation never DONE")

    def assert_error(self, answer, code, reason):
        status, body = answer
        self.assertEqual(status, code, body)
        self.assertEqual(body["error"]["code"], code)
        self.assertEqual(body["error"]["errors"][0]["reason"], reason, body)
        return body["error"]["message"]

    # --- strictness --------------------------------------------------------------------

    def test_wrong_type_is_rejected(self):
        msg = self.assert_error(self.call("POST", Z + "/instances", instance("a", canIpForward="yes")), 400, "invalid")
        self.assertIn("canIpForward", msg)
        self.assert_error(self.call("POST", P + "/global/firewalls", {"name": "f", "priority": "high", "allowed": [{"IPProtocol": "tcp"}]}), 400, "invalid")

    def test_nested_unknown_field_and_output_only(self):
        body = instance("a")
        body["disks"][0]["initializeParams"]["sizeGB"] = "10"  # the field is diskSizeGb
        self.assertIn("sizeGB", self.assert_error(self.call("POST", Z + "/instances", body), 400, "invalid"))
        self.assertIn("selfLink", self.assert_error(self.call("POST", Z + "/instances", instance("a", selfLink="x")), 400, "invalid"))

    def test_bad_names_and_machine_types(self):
        self.assert_error(self.call("POST", Z + "/instances", instance("Bad_Name")), 400, "invalid")
        self.assert_error(self.call("POST", Z + "/instances", instance("a" * 64)), 400, "invalid")
        self.assert_error(self.call("POST", Z + "/instances", instance("a", machineType="e2-small")), 400, "invalid")
        self.assert_error(self.call("POST", Z + "/instances", instance("a", machineType="zones/europe-west1-b/machineTypes/e2-small")), 400, "invalid")
        self.assert_error(self.call("POST", Z + "/instances", instance("a", machineType="zones/us-central1-a/machineTypes/e9-huge")), 404, "notFound")

    def test_unknown_query_parameter_and_image(self):
        self.assert_error(self.call("GET", Z + "/instances?colour=red"), 400, "invalid")
        # System parameters are accepted bare or `$`-prefixed, as Google's front end does;
        # a `$` does not make an unknown name acceptable.
        self.assertEqual(self.call("GET", Z + "/instances?$alt=json%3Benum-encoding%3Dint")[0], 200)
        self.assertEqual(self.call("GET", Z + "/instances?alt=json")[0], 200)
        self.assertEqual(self.call("GET", Z + "/instances?$apiVersion=2026-09-01")[0], 200)
        self.assert_error(self.call("GET", Z + "/instances?apiVersion=2026-09-01"), 400, "invalid")
        self.assert_error(self.call("GET", Z + "/instances?$colour=red"), 400, "invalid")
        body = instance("a")
        body["disks"][0]["initializeParams"]["sourceImage"] = "projects/debian-cloud/global/images/family/debian-99"
        self.assert_error(self.call("POST", Z + "/instances", body), 404, "notFound")
        status, img = self.call("GET", "/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64")
        self.assertEqual((status, img["status"], img["family"]), (200, "READY", "ubuntu-2404-lts-amd64"))

    def test_path_parameters_follow_their_patterns(self):
        self.assert_error(self.call("GET", P + "/global/networks/Not_A_Name"), 400, "invalid")
        self.assert_error(self.call("GET", "/compute/v1/projects/Bad_Project/global/networks/default"), 400, "invalid")
        self.assertEqual(self.call("GET", P + "/global/networks/default")[0], 200)

    def test_bad_request_id(self):
        self.assert_error(self.call("POST", P + "/global/networks?requestId=nope", {"name": "n", "autoCreateSubnetworks": False}), 400, "invalid")

    def test_unimplemented_method_says_so(self):
        self.assert_error(self.call("POST", Z + "/instances/a/reset"), 501, "notImplemented")

    # --- lifecycle -----------------------------------------------------------------------

    def test_operation_polls_and_instance_lifecycle(self):
        status, op = self.call("POST", Z + "/instances", instance("vm", labels={"stack": "s1"}))
        self.assertEqual((status, op["status"], op["operationType"]), (200, "PENDING", "insert"))
        self.assertEqual(self.call("GET", Z + "/instances/vm")[1]["status"], "PROVISIONING")
        self.assertEqual(self.done(op), 3)  # two reads not DONE, the third DONE
        status, vm = self.call("GET", Z + "/instances/vm")
        self.assertEqual((status, vm["status"]), (200, "RUNNING"))
        self.assertTrue(vm["networkInterfaces"][0]["accessConfigs"][0]["natIP"])
        self.assert_error(self.call("POST", Z + "/instances", instance("vm")), 409, "alreadyExists")
        # labels: the current fingerprint succeeds once, then it is stale
        req = {"labels": {"stack": "s2"}, "labelFingerprint": vm["labelFingerprint"]}
        status, op = self.call("POST", Z + "/instances/vm/setLabels", req)
        self.done(op)
        self.assertEqual(self.call("GET", Z + "/instances/vm")[1]["labels"], {"stack": "s2"})
        self.assert_error(self.call("POST", Z + "/instances/vm/setLabels", req), 412, "conditionNotMet")
        self.assert_error(self.call("POST", Z + "/instances/vm/setLabels", {"labels": {}}), 412, "conditionNotMet")
        # metadata likewise
        fp = vm["metadata"]["fingerprint"]
        _, op = self.call("POST", Z + "/instances/vm/setMetadata", {"fingerprint": fp, "items": [{"key": "startup-script", "value": "echo"}]})
        self.done(op)
        self.assert_error(self.call("POST", Z + "/instances/vm/setMetadata", {"fingerprint": fp, "items": []}), 412, "conditionNotMet")
        # machine type: only when stopped
        mt = {"machineType": "zones/us-central1-a/machineTypes/e2-medium"}
        self.assert_error(self.call("POST", Z + "/instances/vm/setMachineType", mt), 400, "invalid")
        _, op = self.call("POST", Z + "/instances/vm/stop")
        self.done(op)
        self.assertEqual(self.call("GET", Z + "/instances/vm")[1]["status"], "TERMINATED")
        _, op = self.call("POST", Z + "/instances/vm/setMachineType", mt)
        self.done(op)
        _, op = self.call("POST", Z + "/instances/vm/start")
        self.done(op)
        vm = self.call("GET", Z + "/instances/vm")[1]
        self.assertTrue(vm["machineType"].endswith("/zones/us-central1-a/machineTypes/e2-medium"))
        self.assertEqual(vm["status"], "RUNNING")
        _, op = self.call("DELETE", Z + "/instances/vm")
        self.done(op)
        self.assert_error(self.call("GET", Z + "/instances/vm"), 404, "notFound")
        self.assert_error(self.call("DELETE", Z + "/instances/vm"), 404, "notFound")

    def test_wait_counts_as_a_read(self):
        self.call("POST", "/__contract/config", {"polls": 1})
        _, op = self.call("POST", P + "/global/networks", {"name": "n1", "autoCreateSubnetworks": False})
        self.assert_error(self.call("GET", P + "/global/networks/n1"), 404, "notFound")
        self.assertEqual(self.call("POST", P + f"/global/operations/{op['name']}/wait")[1]["status"], "RUNNING")
        self.assertEqual(self.call("POST", P + f"/global/operations/{op['name']}/wait")[1]["status"], "DONE")
        self.assertEqual(self.call("GET", P + "/global/networks/n1")[0], 200)
        # a global operation is not a zonal one
        self.assert_error(self.call("GET", Z + f"/operations/{op['name']}"), 404, "notFound")

    def test_settle_finishes_what_no_client_polls(self):
        self.call("POST", "/__contract/config", {"polls": 20})
        _, op = self.call("POST", P + "/global/networks", {"name": "n2", "autoCreateSubnetworks": False})
        self.assert_error(self.call("GET", P + "/global/networks/n2"), 404, "notFound")
        # the name is taken by the running insert
        self.assert_error(self.call("POST", P + "/global/networks", {"name": "n2", "autoCreateSubnetworks": False}), 409, "alreadyExists")
        self.assertEqual(self.call("POST", "/__contract/settle")[1], {"settled": 1})
        self.assertEqual(self.call("GET", P + f"/global/operations/{op['name']}")[1]["status"], "DONE")
        self.assertEqual(self.call("GET", P + "/global/networks/n2")[0], 200)
        self.assertEqual(self.call("POST", "/__contract/settle")[1], {"settled": 0})

    def test_list_filter_and_pages(self):
        self.call("POST", "/__contract/config", {"polls": 0})
        for i in range(5):
            _, op = self.call("POST", Z + "/instances", instance(f"vm-{i}", labels={"parity": "even" if i % 2 == 0 else "odd"}))
            self.done(op)
        _, page = self.call("GET", Z + "/instances?filter=labels.parity%20%3D%20%22even%22")
        self.assertEqual([i["name"] for i in page["items"]], ["vm-0", "vm-2", "vm-4"])
        _, page = self.call("GET", Z + "/instances?filter=name%20eq%20vm-%5B13%5D")
        self.assertEqual([i["name"] for i in page["items"]], ["vm-1", "vm-3"])
        names, token = [], ""
        while True:
            _, page = self.call("GET", Z + "/instances?maxResults=2" + (f"&pageToken={token}" if token else ""))
            names += [i["name"] for i in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        self.assertEqual(names, [f"vm-{i}" for i in range(5)])
        self.assert_error(self.call("GET", Z + "/instances?pageToken=garbage"), 400, "invalid")
        _, empty = self.call("GET", P + "/zones/us-east1-b/instances")
        self.assertNotIn("items", empty)

    def test_in_use_chain_and_request_id(self):
        self.call("POST", "/__contract/config", {"polls": 0})
        rid = "6f1c2a52-8a0b-4c7e-9a1d-3e5f7b9d1c2e"
        _, op1 = self.call("POST", P + f"/global/backendBuckets?requestId={rid}", {"name": "bb", "bucketName": "site"})
        _, op2 = self.call("POST", P + f"/global/backendBuckets?requestId={rid}", {"name": "bb", "bucketName": "site"})
        self.assertEqual(op1["name"], op2["name"])
        self.done(op1)
        steps = [
            ("urlMaps", {"name": "um", "defaultService": "global/backendBuckets/bb"}),
            ("targetHttpProxies", {"name": "px", "urlMap": "global/urlMaps/um"}),
            ("forwardingRules", {"name": "fr", "target": "global/targetHttpProxies/px", "portRange": "80"}),
        ]
        for coll, body in steps:
            status, op = self.call("POST", P + f"/global/{coll}", body)
            self.assertEqual(status, 200, op)
            self.done(op)
        for coll, name in [("backendBuckets", "bb"), ("urlMaps", "um"), ("targetHttpProxies", "px")]:
            self.assert_error(self.call("DELETE", P + f"/global/{coll}/{name}"), 400, "resourceInUseByAnotherResource")
        for coll, name in [("forwardingRules", "fr"), ("targetHttpProxies", "px"), ("urlMaps", "um"), ("backendBuckets", "bb")]:
            status, op = self.call("DELETE", P + f"/global/{coll}/{name}")
            self.assertEqual(status, 200, op)
            self.done(op)
        # a reference to something missing is 404 at insert
        self.assert_error(self.call("POST", P + "/global/urlMaps", {"name": "um2", "defaultService": "global/backendBuckets/none"}), 404, "notFound")

    def test_firewall_patch_and_network_in_use(self):
        self.call("POST", "/__contract/config", {"polls": 0})
        _, op = self.call("POST", P + "/global/networks", {"name": "net", "autoCreateSubnetworks": True})
        self.done(op)
        fw = {"name": "fw", "network": "global/networks/net", "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]}
        _, op = self.call("POST", P + "/global/firewalls", fw)
        self.done(op)
        self.assert_error(self.call("POST", P + "/global/firewalls", dict(fw, name="fw2", denied=[{"IPProtocol": "udp"}])), 400, "invalid")
        _, op = self.call("PATCH", P + "/global/firewalls/fw", {"allowed": [{"IPProtocol": "tcp", "ports": ["80"]}]})
        self.done(op)
        self.assertEqual(self.call("GET", P + "/global/firewalls/fw")[1]["allowed"][0]["ports"], ["80"])
        self.assert_error(self.call("DELETE", P + "/global/networks/net"), 400, "resourceInUseByAnotherResource")
        _, op = self.call("DELETE", P + "/global/firewalls/fw")
        self.done(op)
        _, op = self.call("DELETE", P + "/global/networks/net")
        self.done(op)

    # --- Cloud SQL -----------------------------------------------------------------------

    def test_sql_instance_replica_databases_users(self):
        pg = {"name": "db1", "databaseVersion": "POSTGRES_15", "region": "us-central1",
              "settings": {"tier": "db-custom-2-4096", "userLabels": {"stack": "s"}}}
        self.assert_error(self.call("POST", SQL + "/instances", dict(pg, settings={"tier": "db-f1-micro", "edition": "BAD"})), 400, "invalid")
        self.assert_error(self.call("POST", SQL + "/instances", dict(pg, createTime="2026-01-01T00:00:00Z")), 400, "invalid")
        self.assert_error(self.call("POST", SQL + "/instances", dict(pg, settings={})), 400, "invalid")
        # PostgreSQL 16+ defaults to Enterprise Plus, which has no shared-core tiers
        self.assert_error(self.call("POST", SQL + "/instances", dict(pg, databaseVersion="POSTGRES_16", settings={"tier": "db-f1-micro"})), 400, "invalid")
        status, op = self.call("POST", SQL + "/instances", pg)
        self.assertEqual((status, op["kind"], op["operationType"]), (200, "sql#operation", "CREATE"))
        self.assertEqual(self.call("GET", SQL + "/instances/db1")[1]["state"], "PENDING_CREATE")
        self.assert_error(self.call("POST", SQL + "/instances/db1/databases", {"name": "app"}), 409, "operationInProgress")
        self.done(op)
        self.assert_error(self.call("POST", SQL + "/instances", pg), 409, "instanceAlreadyExists")
        _, op = self.call("POST", SQL + "/instances/db1/databases", {"name": "app"})
        self.done(op)
        names = [d["name"] for d in self.call("GET", SQL + "/instances/db1/databases")[1]["items"]]
        self.assertEqual(names, ["app", "postgres"])
        _, op = self.call("POST", SQL + "/instances/db1/users", {"name": "app", "password": "s3cret"})
        self.done(op)
        users = self.call("GET", SQL + "/instances/db1/users")[1]["items"]
        self.assertEqual([u["name"] for u in users], ["app", "postgres"])
        self.assertNotIn("password", users[0])
        _, op = self.call("POST", SQL + "/instances", {"name": "db1-replica", "masterInstanceName": "db1", "settings": {"tier": "db-custom-2-4096"}})
        self.done(op)
        self.assertEqual(self.call("GET", SQL + "/instances/db1")[1]["replicaNames"], ["db1-replica"])
        self.assertEqual(self.call("GET", SQL + "/instances/db1-replica")[1]["instanceType"], "READ_REPLICA_INSTANCE")
        self.assert_error(self.call("DELETE", SQL + "/instances/db1"), 400, "errorReplicationMasterInvalidOperation")
        _, op = self.call("PATCH", SQL + "/instances/db1", {"settings": {"tier": "db-custom-4-16384"}})
        self.done(op)
        db1 = self.call("GET", SQL + "/instances/db1")[1]
        self.assertEqual((db1["settings"]["tier"], db1["settings"]["settingsVersion"], db1["settings"]["userLabels"]), ("db-custom-4-16384", "2", {"stack": "s"}))
        _, op = self.call("DELETE", SQL + "/instances/db1/users?name=app")
        self.done(op)
        for name in ("db1-replica", "db1"):
            _, op = self.call("DELETE", SQL + f"/instances/{name}")
            self.done(op)
        self.assert_error(self.call("GET", SQL + "/instances/db1"), 404, "instanceDoesNotExist")
        self.assert_error(self.call("POST", SQL + "/instances", pg), 409, "instanceAlreadyExists")

    def test_a_failed_operation_undoes_its_insert(self):
        self.call("POST", "/__contract/config", {"polls": 0})
        self.call("POST", "/__contract/fail-next", {"code": "ZONE_RESOURCE_POOL_EXHAUSTED", "message": "no capacity"})
        _, op = self.call("POST", Z + "/instances", instance("vm"))
        link = op["selfLink"].split(str(self.port), 1)[1]
        status, op = self.call("GET", link)
        self.assertEqual((status, op["status"]), (200, "DONE"))
        self.assertEqual(op["error"]["errors"][0]["code"], "ZONE_RESOURCE_POOL_EXHAUSTED")
        self.assert_error(self.call("GET", Z + "/instances/vm"), 404, "notFound")
        # only the next operation fails
        _, op = self.call("POST", Z + "/instances", instance("vm"))
        self.done(op)
        self.call("POST", "/__contract/fail-next", {"code": "INTERNAL_ERROR", "message": "boom"})
        _, op = self.call("POST", SQL + "/instances", {"name": "db", "databaseVersion": "MYSQL_8_0", "settings": {"tier": "db-f1-micro"}})
        op = self.call("GET", f"{SQL}/operations/{op['name']}")[1]
        self.assertEqual(op["error"]["errors"][0]["code"], "INTERNAL_ERROR")
        self.assert_error(self.call("GET", SQL + "/instances/db"), 404, "instanceDoesNotExist")

    def test_request_log(self):
        self.call("POST", P + "/global/networks?requestId=6f1c2a52-8a0b-4c7e-9a1d-3e5f7b9d1c2f", {"name": "logged", "autoCreateSubnetworks": True})
        log = self.call("GET", "/__contract/requests")[1]["requests"]
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["method"], "POST")
        self.assertEqual(log[0]["path"], P + "/global/networks")
        self.assertEqual(log[0]["query"], {"requestId": "6f1c2a52-8a0b-4c7e-9a1d-3e5f7b9d1c2f"})
        self.assertEqual(log[0]["body"]["name"], "logged")
        self.assertEqual(log[0]["status"], 200)

    # --- Cloud Scheduler ------------------------------------------------------------

    def test_scheduler_jobs_are_validated_and_behave_like_the_api(self):
        jobs = "/v1/projects/proj/locations/europe-west1/jobs"
        job = {"name": "projects/proj/locations/europe-west1/jobs/tick", "schedule": "*/5 * * * *",
               "timeZone": "Etc/UTC", "httpTarget": {"uri": "https://fn.example/run", "httpMethod": "POST"}}
        # Strict like Google: an unknown field, a bad enum, an output-only field.
        self.assert_error(self.call("POST", jobs, dict(job, color="red")), 400, "invalid")
        self.assert_error(self.call("POST", jobs, dict(job, httpTarget={"uri": "https://x", "httpMethod": "FETCH"})), 400, "invalid")
        self.assert_error(self.call("POST", jobs, dict(job, state="ENABLED")), 400, "invalid")
        self.assert_error(self.call("POST", jobs, dict(job, schedule="every day")), 400, "invalid")
        self.assert_error(self.call("POST", jobs, {k: v for k, v in job.items() if k != "httpTarget"}), 400, "invalid")
        self.assert_error(self.call("POST", jobs, dict(job, name="projects/other/locations/x/jobs/tick")), 400, "invalid")
        # Create answers the job itself (no operation); a duplicate is 409.
        status, made = self.call("POST", jobs, job)
        self.assertEqual(status, 200, made)
        self.assertEqual(made["state"], "ENABLED")
        self.assertEqual(made["httpTarget"]["uri"], "https://fn.example/run")
        self.assert_error(self.call("POST", jobs, job), 409, "alreadyExists")
        # Patch changes what updateMask names, and nothing else.
        self.assert_error(self.call("PATCH", jobs + "/tick", {"schedule": "0 * * * *"}), 400, "invalid")
        self.assert_error(self.call("PATCH", jobs + "/tick?updateMask=colour", {"schedule": "0 * * * *"}), 400, "invalid")
        status, got = self.call("PATCH", jobs + "/tick?updateMask=schedule,http_target.uri",
                                {"schedule": "0 * * * *", "timeZone": "Europe/Paris", "httpTarget": {"uri": "https://fn.example/v2"}})
        self.assertEqual(status, 200, got)
        self.assertEqual((got["schedule"], got["timeZone"], got["httpTarget"]), ("0 * * * *", "Etc/UTC", {"uri": "https://fn.example/v2", "httpMethod": "POST"}))
        # Listing pages to the end.
        for n in range(3):
            self.call("POST", jobs, dict(job, name=f"projects/proj/locations/europe-west1/jobs/more-{n}"))
        names, token = [], None
        while True:
            status, page = self.call("GET", jobs + "?pageSize=2" + (f"&pageToken={token}" if token else ""))
            self.assertEqual(status, 200, page)
            names += [j["name"].rsplit("/", 1)[1] for j in page.get("jobs", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        self.assertEqual(names, ["more-0", "more-1", "more-2", "tick"])
        # Delete, then 404.
        self.assertEqual(self.call("DELETE", jobs + "/tick"), (200, {}))
        self.assert_error(self.call("GET", jobs + "/tick"), 404, "notFound")
        self.assert_error(self.call("DELETE", jobs + "/tick"), 404, "notFound")
        # proto3 JSON: an enum by number (as google-cloud-rust sends it, with `$alt`) is
        # stored by name; a number outside the enum is refused.
        numbered = dict(job, name="projects/proj/locations/europe-west1/jobs/num",
                        httpTarget={"uri": "https://fn.example/run", "httpMethod": 2})
        self.assert_error(self.call("POST", jobs, dict(numbered, httpTarget={"uri": "https://x", "httpMethod": 99})), 400, "invalid")
        status, made = self.call("POST", jobs + "?$alt=json;enum-encoding=int", numbered)
        self.assertEqual((status, made["httpTarget"]["httpMethod"]), (200, "GET"), made)
        # Cloud SQL still owns the rest of /v1/projects.
        self.assert_error(self.call("GET", SQL + "/instances/nope"), 404, "instanceDoesNotExist")



FN = "/v2/projects/proj/locations/us-central1"


def function(runtime="python312", **service):
    return {
        "buildConfig": {"runtime": runtime, "entryPoint": "handler",
                        "source": {"storageSource": {"bucket": "b", "object": "f/1.zip", "generation": "7"}}},
        "serviceConfig": dict({"availableMemory": "256Mi", "timeoutSeconds": 60}, **service),
        "labels": {"overcast-stack": "s"},
    }


class FunctionsTest(unittest.TestCase):
    """Cloud Functions v2 (on the same kind of server as ServerTest)."""

    setUpClass = ServerTest.__dict__["setUpClass"]
    tearDownClass = ServerTest.__dict__["tearDownClass"]
    setUp = ServerTest.setUp
    call = ServerTest.call
    assert_error = ServerTest.assert_error

    def lro(self, op):
        """Read an operation until done; the number of reads it took."""
        for n in range(1, 20):
            status, body = self.call("GET", "/v2/" + op["name"])
            self.assertEqual(status, 200, body)
            if body.get("done"):
                self.assertNotIn("error", body)
                return n
        self.fail("operation never done")

    def create(self, fid="f", body=None):
        status, op = self.call("POST", FN + f"/functions?functionId={fid}", body or function())
        self.assertEqual(status, 200, op)
        return op

    def test_strictness(self):
        bad = function()
        bad["colour"] = "red"
        self.assertIn("colour", self.assert_error(self.call("POST", FN + "/functions?functionId=f", bad), 400, "invalid"))
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", function(runtime="python27")), 400, "invalid")
        out = function()
        out["state"] = "ACTIVE"
        self.assertIn("output only", self.assert_error(self.call("POST", FN + "/functions?functionId=f", out), 400, "invalid"))
        uri = function(uri="http://x")
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", uri), 400, "invalid")
        event = function(timeoutSeconds=600)
        event["eventTrigger"] = {"eventType": "google.cloud.pubsub.topic.v1.messagePublished",
                                 "pubsubTopic": "projects/proj/topics/t", "retryPolicy": "RETRY_POLICY_RETRY"}
        self.assertIn("540", self.assert_error(self.call("POST", FN + "/functions?functionId=f", event), 400, "invalid"))
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", function(timeoutSeconds=3601)), 400, "invalid")
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", function(availableMemory="64Mi")), 400, "invalid")
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", function(availableMemory="33Gi")), 400, "invalid")
        no_entry = function()
        del no_entry["buildConfig"]["entryPoint"]
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", no_entry), 400, "invalid")
        enum = function()
        enum["serviceConfig"]["ingressSettings"] = "OPEN_DOOR"
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", enum), 400, "invalid")
        self.assert_error(self.call("POST", FN + "/functions?functionId=Bad_Id", function()), 400, "invalid")
        # Enums by number and `$` system parameters pass, as on Google.
        event["serviceConfig"]["timeoutSeconds"] = 540
        event["eventTrigger"]["retryPolicy"] = 2
        status, op = self.call("POST", FN + "/functions?functionId=e&$alt=json;enum-encoding=int", event)
        self.assertEqual(status, 200, op)
        self.lro(op)
        self.assertEqual(self.call("GET", FN + "/functions/e")[1]["eventTrigger"]["retryPolicy"], "RETRY_POLICY_RETRY")

    def test_lifecycle_polls_conflict_and_not_found(self):
        op = self.create()
        self.assertFalse(op["done"])
        status, fn = self.call("GET", FN + "/functions/f")
        self.assertEqual((status, fn["state"]), (200, "DEPLOYING"))
        self.assertNotIn("uri", fn["serviceConfig"])
        self.assertEqual(self.lro(op), 3)  # two reads not done, the third done
        fn = self.call("GET", FN + "/functions/f")[1]
        self.assertEqual(fn["state"], "ACTIVE")
        self.assertIn(str(self.port), fn["serviceConfig"]["uri"])
        self.assertEqual(fn["labels"], {"overcast-stack": "s"})
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", function()), 409, "alreadyExists")
        status, op = self.call("DELETE", FN + "/functions/f")
        self.assertEqual(status, 200, op)
        self.assertEqual(self.call("GET", FN + "/functions/f")[1]["state"], "DELETING")
        self.lro(op)
        self.assert_error(self.call("GET", FN + "/functions/f"), 404, "notFound")
        self.assert_error(self.call("DELETE", FN + "/functions/f"), 404, "notFound")

    def test_update_mask_is_honoured(self):
        self.lro(self.create())
        change = function(availableMemory="512Mi", timeoutSeconds=120)
        change["labels"] = {"other": "x"}
        status, op = self.call("PATCH", FN + "/functions/f?updateMask=service_config.available_memory", change)
        self.assertEqual(status, 200, op)
        self.assertEqual(self.call("GET", FN + "/functions/f")[1]["state"], "DEPLOYING")
        self.lro(op)
        fn = self.call("GET", FN + "/functions/f")[1]
        self.assertEqual(fn["serviceConfig"]["availableMemory"], "512Mi")
        self.assertEqual(fn["serviceConfig"]["timeoutSeconds"], 60)
        self.assertEqual(fn["labels"], {"overcast-stack": "s"})
        self.assertEqual(fn["state"], "ACTIVE")
        self.assert_error(self.call("PATCH", FN + "/functions/f?updateMask=nonsense", change), 400, "invalid")

    def test_no_mask_replaces_every_field_and_links_reach_the_server(self):
        self.lro(self.create())
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        # A Host header without the port: links still reach this server.
        conn.request("PATCH", FN + "/functions/f", json.dumps(function(timeoutSeconds=90)),
                     {"Host": "127.0.0.1", "Content-Type": "application/json"})
        op = json.loads(conn.getresponse().read())
        conn.close()
        self.lro(op)
        fn = self.call("GET", FN + "/functions/f")[1]
        self.assertEqual(fn["serviceConfig"]["timeoutSeconds"], 90)
        self.assertIn(f"127.0.0.1:{self.port}/", fn["serviceConfig"]["uri"])
        patch = {"buildConfig": function()["buildConfig"]}
        self.lro(self.call("PATCH", FN + "/functions/f", patch)[1])
        fn = self.call("GET", FN + "/functions/f")[1]
        self.assertNotIn("labels", fn)  # not in the body: cleared, as Google does

    def test_list_paginates(self):
        for i in range(3):
            self.lro(self.create(f"f{i}"))
        status, page = self.call("GET", FN + "/functions?pageSize=2")
        self.assertEqual([f["name"].rsplit("/", 1)[1] for f in page["functions"]], ["f0", "f1"])
        status, page = self.call("GET", FN + f"/functions?pageSize=2&pageToken={page['nextPageToken']}")
        self.assertEqual([f["name"].rsplit("/", 1)[1] for f in page["functions"]], ["f2"])
        self.assertNotIn("nextPageToken", page)

    def test_a_failed_create_leaves_the_function_failed(self):
        self.call("POST", "/__contract/fail-next", {"code": "INTERNAL", "message": "build failed"})
        op = self.create()
        for _ in range(5):
            body = self.call("GET", "/v2/" + op["name"])[1]
            if body.get("done"):
                break
        self.assertEqual(body["error"]["message"], "build failed")
        fn = self.call("GET", FN + "/functions/f")[1]
        self.assertEqual(fn["state"], "FAILED")
        self.assertTrue(fn["stateMessages"])
        self.assert_error(self.call("POST", FN + "/functions?functionId=f", function()), 409, "alreadyExists")
        # A patch redeploys it.
        status, op = self.call("PATCH", FN + "/functions/f?updateMask=buildConfig.entryPoint", function())
        self.assertEqual(status, 200, op)
        self.lro(op)
        self.assertEqual(self.call("GET", FN + "/functions/f")[1]["state"], "ACTIVE")


if __name__ == "__main__":
    unittest.main()
