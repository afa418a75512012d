//! A GCP "lab" project for `nuke` tests: drongo (Cloud Storage), the Pub/Sub emulator and
//! the contract-test server (Compute Engine, Cloud SQL, Cloud Functions, Cloud Scheduler),
//! seeded with a few dozen resources of every type the GCP provider discovers, created
//! directly through the APIs (plain HTTP), not by overcast. Most carry no owner labels;
//! some are labelled `keep=true`; some carry the owner labels of stack [`OWNED_STACK`],
//! target [`OWNED_TARGET`] (the provider's own encoding). [`SeededGcp`] lists every full
//! resource name (the `arn` discovery reports) by role, and the edges `link_discovered`
//! must find.

use std::collections::BTreeMap;

use overcast_core::native::OwnerTags;
use serde_json::{Map, Value, json};

use super::servers::{Server, start_drongo, start_gcp_contract, start_pubsub_emulator};

/// The lab's project.
pub const PROJECT: &str = "nuke-lab";
/// Its region (functions, scheduler jobs, Cloud SQL).
pub const REGION: &str = "us-central1";
/// Its zone (instances).
pub const ZONE: &str = "us-central1-a";
/// The stack whose owner labels some resources carry.
pub const OWNED_STACK: &str = "owned";
/// The target in those labels.
pub const OWNED_TARGET: &str = "lab";

/// The three servers of a lab project, killed by PID when dropped.
pub struct GcpLab {
    pub drongo: Server,
    pub pubsub: Server,
    pub contract: Server,
}

impl GcpLab {
    /// Start the servers (the contract server's operations are DONE on their first read).
    pub fn start() -> GcpLab {
        GcpLab {
            drongo: start_drongo(),
            pubsub: start_pubsub_emulator(),
            contract: start_gcp_contract(0),
        }
    }

    /// The settings of a gcp target on these servers.
    pub fn settings(&self) -> Map<String, Value> {
        let c = &self.contract.endpoint;
        json!({
            "project": PROJECT, "region": REGION, "zone": ZONE,
            "storage_endpoint": self.drongo.endpoint,
            "pubsub_endpoint": self.pubsub.endpoint,
            "compute_endpoint": c, "sql_endpoint": c,
            "functions_endpoint": c, "scheduler_endpoint": c,
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    /// The same settings as the `targets:` entry `name` of a spec.
    pub fn target_yaml(&self, name: &str) -> String {
        let mut out = format!("targets:\n  {name}:\n    provider: gcp\n");
        for (k, v) in self.settings() {
            out.push_str(&format!("    {k}: {}\n", v.as_str().unwrap_or_default()));
        }
        out
    }
}

/// What [`seed`] made, as the full resource names discovery reports (`//storage.googleapis.com/b`,
/// `//compute.googleapis.com/projects/p/global/networks/n`, ...).
#[derive(Debug, Clone, Default)]
pub struct SeededGcp {
    /// Every seeded resource, plus the project's `default` network (every project has it;
    /// nuke deletes it like the rest).
    pub all: Vec<String>,
    /// Labelled `keep=true`.
    pub keep: Vec<String>,
    /// Carrying the owner labels of stack `owned`, target `lab`.
    pub owned: Vec<String>,
    /// Neither kept nor owned (the `default` network included).
    pub plain: Vec<String>,
    /// By type (the discovery type, `storage:bucket`, ...).
    pub by_type: BTreeMap<String, Vec<String>>,
    /// `(user, used)`: every edge `link_discovered` must report among these resources.
    pub edges: Vec<(String, String)>,
    /// The CDN chain: forwarding rule -> target HTTP proxy -> URL map -> backend bucket ->
    /// bucket.
    pub cdn_rule: String,
    pub cdn_proxy: String,
    pub cdn_url_map: String,
    pub cdn_backend: String,
    pub cdn_bucket: String,
    /// A network used by [`SeededGcp::vms`] and [`SeededGcp::firewalls`].
    pub network: String,
    pub vms: Vec<String>,
    pub firewalls: Vec<String>,
    /// The `default` network (unused).
    pub default_network: String,
    /// A Cloud SQL primary and its read replica.
    pub sql_primary: String,
    pub sql_replica: String,
    /// A function triggered by `fn_topic`, and an http function called by `job_http`;
    /// both have their source archive in `fn_source_bucket`.
    pub fn_event: String,
    pub fn_http: String,
    pub fn_topic: String,
    pub fn_source_bucket: String,
    /// A scheduler job publishing to `job_topic`, and one calling `fn_http`.
    pub job_pubsub: String,
    pub job_topic: String,
    pub job_http: String,
    /// Topics with a subscription each (`(subscription, topic)`).
    pub subscriptions: Vec<(String, String)>,
    /// A versioned bucket holding [`SeededGcp::versions`] object generations (live,
    /// noncurrent, and deleted ones).
    pub versioned_bucket: String,
    pub versions: usize,
}

/// Types with a full name: the discovery type and its arn prefix.
fn arn_of(ty: &str, id: &str) -> String {
    let host = match ty.split(':').next().unwrap_or_default() {
        "storage" => "storage.googleapis.com",
        "pubsub" => "pubsub.googleapis.com",
        "scheduler" => "cloudscheduler.googleapis.com",
        "functions" => "cloudfunctions.googleapis.com",
        "sqladmin" => "sqladmin.googleapis.com",
        _ => "compute.googleapis.com",
    };
    format!("//{host}/{id}")
}

/// Who a seeded resource belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Keep,
    Owned,
}

impl Role {
    /// Its labels (`resource`: the owner's native address, for owned ones).
    fn labels(self, resource: &str) -> Map<String, Value> {
        match self {
            Role::Plain => Map::new(),
            Role::Keep => json!({"keep": "true", "team": "lab"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            Role::Owned => overcast_gcp::labels::owner_labels(&owner(resource))
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        }
    }
}

/// The owner of an owned resource.
fn owner(resource: &str) -> OwnerTags {
    OwnerTags {
        stack: OWNED_STACK.into(),
        target: OWNED_TARGET.into(),
        resource: resource.into(),
    }
}

pub use super::http::http;

/// A JSON request that must succeed: its answer.
pub fn ok(server: &Server, method: &str, path: &str, body: &Value) -> Value {
    let (status, answer) = http(
        server,
        method,
        path,
        "application/json",
        body.to_string().as_bytes(),
    );
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

/// Every running operation of the contract server finishes.
pub fn settle(lab: &GcpLab) {
    ok(&lab.contract, "POST", "/__contract/settle", &json!({}));
}

/// The seeding, one resource at a time, recording each by role.
struct Seeder<'a> {
    lab: &'a GcpLab,
    out: SeededGcp,
}

impl Seeder<'_> {
    fn record(&mut self, ty: &str, id: &str, role: Role) -> String {
        let arn = arn_of(ty, id);
        self.out.all.push(arn.clone());
        match role {
            Role::Plain => self.out.plain.push(arn.clone()),
            Role::Keep => self.out.keep.push(arn.clone()),
            Role::Owned => self.out.owned.push(arn.clone()),
        }
        self.out
            .by_type
            .entry(ty.to_string())
            .or_default()
            .push(arn.clone());
        arn
    }

    fn edge(&mut self, user: &str, used: &str) {
        self.out.edges.push((user.to_string(), used.to_string()));
    }

    fn bucket(&mut self, name: &str, role: Role, versioned: bool) -> String {
        let body = json!({"name": name, "location": "US-CENTRAL1",
            "labels": role.labels(&format!("{name}.bucket")),
            "versioning": {"enabled": versioned}});
        ok(
            &self.lab.drongo,
            "POST",
            &format!("/storage/v1/b?project={PROJECT}"),
            &body,
        );
        self.record("storage:bucket", name, role)
    }

    fn upload(&self, bucket: &str, name: &str, bytes: &[u8]) {
        let (status, v) = http(
            &self.lab.drongo,
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}"),
            "application/octet-stream",
            bytes,
        );
        assert_eq!(status, 200, "upload gs://{bucket}/{name}: {v}");
    }

    fn topic(&mut self, name: &str, role: Role) -> String {
        let path = format!("projects/{PROJECT}/topics/{name}");
        let labels = role.labels(&format!("{name}.topic"));
        ok(
            &self.lab.pubsub,
            "PUT",
            &format!("/v1/{path}"),
            &json!({ "labels": labels }),
        );
        self.record("pubsub:topic", &path, role)
    }

    fn subscription(&mut self, name: &str, topic: &str, role: Role) -> String {
        let path = format!("projects/{PROJECT}/subscriptions/{name}");
        let topic_path = format!("projects/{PROJECT}/topics/{topic}");
        let labels = role.labels(&format!("{name}.subscription"));
        ok(
            &self.lab.pubsub,
            "PUT",
            &format!("/v1/{path}"),
            &json!({"topic": topic_path, "labels": labels}),
        );
        let arn = self.record("pubsub:subscription", &path, role);
        let topic_arn = arn_of("pubsub:topic", &topic_path);
        self.edge(&arn, &topic_arn);
        self.out.subscriptions.push((arn.clone(), topic_arn));
        arn
    }

    fn compute(&mut self, ty: &str, path: &str, body: Value, role: Role) -> String {
        let mut body = body;
        let name = body["name"].as_str().unwrap_or_default().to_string();
        match (role, ty) {
            // Networks, firewalls, backend buckets, URL maps and proxies have no labels:
            // overcast writes their owner in the description.
            (Role::Owned, "compute:instance" | "compute:forwardingRule") => {
                body["labels"] = Value::Object(role.labels(&format!("{name}.main")));
            }
            (Role::Owned, _) => {
                body["description"] = json!(overcast_gcp::compute::owner_description(&owner(
                    &format!("{name}.main")
                )));
            }
            (Role::Keep, _) => body["labels"] = Value::Object(role.labels("")),
            (Role::Plain, _) => {}
        }
        ok(
            &self.lab.contract,
            "POST",
            &format!("/compute/v1/projects/{PROJECT}/{path}"),
            &body,
        );
        settle(self.lab);
        let id = format!("projects/{PROJECT}/{path}/{name}");
        self.record(ty, &id, role)
    }

    fn network(&mut self, name: &str, role: Role) -> String {
        self.compute(
            "compute:network",
            "global/networks",
            json!({"name": name, "autoCreateSubnetworks": true}),
            role,
        )
    }

    fn vm(&mut self, name: &str, network: &str, role: Role) -> String {
        let body = json!({
            "name": name,
            "machineType": format!("zones/{ZONE}/machineTypes/e2-small"),
            "disks": [{"boot": true, "autoDelete": true, "initializeParams": {
                "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
            "networkInterfaces": [{"network": format!("global/networks/{network}")}],
        });
        let arn = self.compute(
            "compute:instance",
            &format!("zones/{ZONE}/instances"),
            body,
            role,
        );
        let net = arn_of(
            "compute:network",
            &format!("projects/{PROJECT}/global/networks/{network}"),
        );
        self.edge(&arn, &net);
        arn
    }

    fn firewall(&mut self, name: &str, network: &str, role: Role) -> String {
        let body = json!({
            "name": name, "network": format!("global/networks/{network}"),
            "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["80"]}],
        });
        let arn = self.compute("compute:firewall", "global/firewalls", body, role);
        let net = arn_of(
            "compute:network",
            &format!("projects/{PROJECT}/global/networks/{network}"),
        );
        self.edge(&arn, &net);
        arn
    }

    fn sql(&mut self, name: &str, master: Option<&str>, role: Role) -> String {
        let mut body = json!({"name": name, "databaseVersion": "POSTGRES_15", "region": REGION,
            "settings": {"tier": "db-custom-2-4096",
                         "userLabels": role.labels(&format!("{name}.instance"))}});
        if let Some(m) = master {
            body["masterInstanceName"] = json!(m);
        }
        ok(
            &self.lab.contract,
            "POST",
            &format!("/v1/projects/{PROJECT}/instances"),
            &body,
        );
        settle(self.lab);
        self.record(
            "sqladmin:instance",
            &format!("projects/{PROJECT}/instances/{name}"),
            role,
        )
    }

    fn function(
        &mut self,
        name: &str,
        source_bucket: &str,
        topic: Option<&str>,
        role: Role,
    ) -> String {
        let object = format!("{name}/source.zip");
        self.upload(source_bucket, &object, b"PK\x05\x06not really a zip");
        let mut body = json!({
            "buildConfig": {"runtime": "python312", "entryPoint": "handler",
                "source": {"storageSource": {"bucket": source_bucket, "object": object}}},
            "serviceConfig": {"availableMemory": "256Mi", "timeoutSeconds": 60},
            "labels": role.labels(&format!("{name}.function")),
        });
        if let Some(t) = topic {
            body["eventTrigger"] = json!({
                "eventType": "google.cloud.pubsub.topic.v1.messagePublished",
                "pubsubTopic": format!("projects/{PROJECT}/topics/{t}"),
                "retryPolicy": "RETRY_POLICY_RETRY"});
        }
        let parent = format!("projects/{PROJECT}/locations/{REGION}");
        ok(
            &self.lab.contract,
            "POST",
            &format!("/v2/{parent}/functions?functionId={name}"),
            &body,
        );
        settle(self.lab);
        let path = format!("{parent}/functions/{name}");
        let arn = self.record("functions:function", &path, role);
        self.edge(&arn, &arn_of("storage:bucket", source_bucket));
        if let Some(t) = topic {
            self.edge(
                &arn,
                &arn_of("pubsub:topic", &format!("projects/{PROJECT}/topics/{t}")),
            );
        }
        arn
    }

    /// A job publishing to `topic` or calling the http function `function`.
    fn job(
        &mut self,
        name: &str,
        topic: Option<&str>,
        function: Option<&str>,
        role: Role,
    ) -> String {
        let parent = format!("projects/{PROJECT}/locations/{REGION}");
        let path = format!("{parent}/jobs/{name}");
        let mut body = json!({"name": path, "schedule": "*/5 * * * *", "timeZone": "Etc/UTC"});
        let mut uses = Vec::new();
        if let Some(t) = topic {
            let topic_path = format!("projects/{PROJECT}/topics/{t}");
            body["pubsubTarget"] = json!({"topicName": topic_path, "data": "dGljaw=="});
            uses.push(arn_of("pubsub:topic", &topic_path));
        }
        if let Some(f) = function {
            let fn_path = format!("{parent}/functions/{f}");
            let live = ok(
                &self.lab.contract,
                "GET",
                &format!("/v2/{fn_path}"),
                &json!({}),
            );
            let uri = live["serviceConfig"]["uri"]
                .as_str()
                .unwrap_or_else(|| panic!("function {f} has no uri: {live}"));
            body["httpTarget"] = json!({"uri": uri, "httpMethod": "POST"});
            uses.push(arn_of("functions:function", &fn_path));
        }
        if role == Role::Owned {
            body["description"] = json!(overcast_gcp::scheduler::owner_description(&owner(
                &format!("{name}.job")
            )));
        }
        ok(
            &self.lab.contract,
            "POST",
            &format!("/v1/{parent}/jobs"),
            &body,
        );
        let arn = self.record("scheduler:job", &path, role);
        for u in uses {
            self.edge(&arn, &u);
        }
        arn
    }
}

/// Seed the lab: a few dozen resources of every discoverable type, with `versions` object
/// generations in a versioned bucket (a few thousand for a real run of nuke; a few dozen
/// keep a test fast).
pub fn seed(lab: &GcpLab, versions: usize) -> SeededGcp {
    let mut s = Seeder {
        lab,
        out: SeededGcp::default(),
    };
    use Role::{Keep, Owned, Plain};

    // Cloud Storage.
    for i in 0..3 {
        let b = format!("lab-plain-{i}");
        s.bucket(&b, Plain, false);
        s.upload(&b, "hello.txt", b"hello");
    }
    s.out.versioned_bucket = "lab-versioned".into();
    s.bucket("lab-versioned", Plain, true);
    // Three generations per key, and every third key deleted (its generations noncurrent).
    let keys = versions.div_ceil(3).max(1);
    let mut made = 0;
    for k in 0..keys {
        for g in 0..3 {
            if made == versions {
                break;
            }
            s.upload(
                "lab-versioned",
                &format!("k/{k}"),
                format!("v{g}").as_bytes(),
            );
            made += 1;
        }
        if k % 3 == 0 {
            let (status, v) = http(
                &lab.drongo,
                "DELETE",
                &format!("/storage/v1/b/lab-versioned/o/k%2F{k}"),
                "application/json",
                b"",
            );
            assert!(status == 204 || status == 200, "delete k/{k}: {status} {v}");
        }
    }
    s.out.versions = made;
    s.bucket("lab-keep-bucket", Keep, false);
    s.upload("lab-keep-bucket", "precious.txt", b"keep me");
    s.bucket("lab-owned-bucket", Owned, false);
    s.out.cdn_bucket = s.bucket("lab-cdn-origin", Plain, false);
    s.upload("lab-cdn-origin", "index.html", b"<h1>lab</h1>");
    s.out.fn_source_bucket = s.bucket("lab-fn-source", Plain, false);

    // Pub/Sub.
    for i in 0..3 {
        s.topic(&format!("lab-topic-{i}"), Plain);
        s.subscription(&format!("lab-sub-{i}"), &format!("lab-topic-{i}"), Plain);
    }
    s.topic("lab-keep-topic", Keep);
    s.subscription("lab-keep-sub", "lab-keep-topic", Keep);
    s.topic("lab-owned-topic", Owned);
    s.subscription("lab-owned-sub", "lab-owned-topic", Owned);
    s.out.fn_topic = s.topic("lab-fn-topic", Plain);
    s.out.job_topic = s.topic("lab-job-topic", Plain);

    // Cloud Functions and Cloud Scheduler.
    s.out.fn_event = s.function("lab-fn-event", "lab-fn-source", Some("lab-fn-topic"), Plain);
    s.out.fn_http = s.function("lab-fn-http", "lab-fn-source", None, Plain);
    s.function("lab-keep-fn", "lab-keep-bucket", None, Keep);
    s.out.job_pubsub = s.job("lab-job-pubsub", Some("lab-job-topic"), None, Plain);
    s.out.job_http = s.job("lab-job-http", None, Some("lab-fn-http"), Plain);
    s.job("lab-owned-job", Some("lab-owned-topic"), None, Owned);

    // Compute Engine: a network with instances and firewall rules, an owned one, and a
    // CDN's load balancer chain.
    s.out.default_network = s.record(
        "compute:network",
        &format!("projects/{PROJECT}/global/networks/default"),
        Plain,
    );
    s.out.network = s.network("lab-net", Plain);
    for i in 0..3 {
        let vm = s.vm(&format!("lab-vm-{i}"), "lab-net", Plain);
        s.out.vms.push(vm);
    }
    for i in 0..2 {
        let fw = s.firewall(&format!("lab-fw-{i}"), "lab-net", Plain);
        s.out.firewalls.push(fw);
    }
    s.network("lab-owned-net", Owned);
    s.vm("lab-owned-vm", "lab-owned-net", Owned);
    s.firewall("lab-owned-fw", "lab-owned-net", Owned);
    s.out.cdn_backend = s.compute(
        "compute:backendBucket",
        "global/backendBuckets",
        json!({"name": "lab-cdn-backend", "bucketName": "lab-cdn-origin", "enableCdn": true}),
        Plain,
    );
    s.out.cdn_url_map = s.compute(
        "compute:urlMap",
        "global/urlMaps",
        json!({"name": "lab-cdn-map", "defaultService": "global/backendBuckets/lab-cdn-backend"}),
        Plain,
    );
    s.out.cdn_proxy = s.compute(
        "compute:targetHttpProxy",
        "global/targetHttpProxies",
        json!({"name": "lab-cdn-proxy", "urlMap": "global/urlMaps/lab-cdn-map"}),
        Plain,
    );
    s.out.cdn_rule = s.compute(
        "compute:forwardingRule",
        "global/forwardingRules",
        json!({"name": "lab-cdn-rule", "target": "global/targetHttpProxies/lab-cdn-proxy",
               "portRange": "80", "IPProtocol": "TCP", "loadBalancingScheme": "EXTERNAL"}),
        Plain,
    );
    let (rule, proxy, map, backend, bucket) = (
        s.out.cdn_rule.clone(),
        s.out.cdn_proxy.clone(),
        s.out.cdn_url_map.clone(),
        s.out.cdn_backend.clone(),
        s.out.cdn_bucket.clone(),
    );
    s.edge(&rule, &proxy);
    s.edge(&proxy, &map);
    s.edge(&map, &backend);
    s.edge(&backend, &bucket);

    // Cloud SQL: a primary with a read replica, a kept and an owned instance.
    s.out.sql_primary = s.sql("lab-db", None, Plain);
    s.out.sql_replica = s.sql("lab-db-replica", Some("lab-db"), Plain);
    let (replica, primary) = (s.out.sql_replica.clone(), s.out.sql_primary.clone());
    s.edge(&replica, &primary);
    s.sql("lab-keep-db", None, Keep);
    s.sql("lab-owned-db", None, Owned);
    s.out
}
