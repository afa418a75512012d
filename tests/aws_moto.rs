//! The AWS provider end to end, through the `overcast` binary, against moto (an AWS
//! emulator) started on 127.0.0.1 by these tests. Results are checked through the
//! emulator's own API with the AWS SDK clients, not only through overcast.
//!
//! moto and ministack come from `scripts/test.sh` (venvs under ~/.cache/overcast), found
//! through OVERCAST_MOTO_SERVER and OVERCAST_MINISTACK (tests/common/servers.rs starts
//! them). If one cannot be started the tests FAIL: a skipped provider test would prove
//! nothing.
#![cfg(feature = "aws")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use overcast_aws::sdk::{self, aws_config};

// ---------------------------------------------------------------------------------------
// moto: one server per test, on a port of its own, killed by PID when the guard drops
// (also when the test panics). The helpers live in tests/common/servers.rs.

mod common;

use common::servers::{Server, http_get, start_ministack, start_moto};

/// A bucket's versioning status through moto's HTTP API (the SDK cannot parse moto's
/// GetBucketVersioning answer: its root element has another name).
fn versioning(moto: &Server, bucket: &str) -> String {
    let body = http_get(moto.port, &format!("/{bucket}?versioning")).expect("GET ?versioning");
    body.split("<Status>")
        .nth(1)
        .and_then(|r| r.split("</Status>").next())
        .unwrap_or("")
        .to_string()
}

/// The operation context of a direct provider call in these tests.
fn op() -> overcast_core::OpContext {
    overcast_core::OpContext::detached("aws-test")
}

// ---------------------------------------------------------------------------------------
// The binary and the stack.

struct Stack {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl Stack {
    fn new(endpoint: &str, yaml: &str) -> Stack {
        let dir = tempfile::tempdir().expect("tempdir");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
        std::fs::create_dir_all(dir.path().join("fn")).expect("mkdir");
        std::fs::copy(fixtures.join("fn/main.py"), dir.path().join("fn/main.py")).expect("copy");
        std::fs::create_dir_all(dir.path().join("www")).expect("mkdir");
        std::fs::copy(
            fixtures.join("www/index.html"),
            dir.path().join("www/index.html"),
        )
        .expect("copy");
        std::fs::write(dir.path().join("overcast.yaml"), yaml).expect("write spec");
        Stack {
            dir,
            endpoint: endpoint.to_string(),
        }
    }

    /// A copy of an example directory whose `targets:` block is replaced by one aws target
    /// at the emulator: the example's resources are left exactly as they are.
    fn example_on_aws(endpoint: &str, example: &str, local_targets: &str) -> Stack {
        let dir = tempfile::tempdir().expect("tempdir");
        common::copy_stack(&common::example_dir(example), dir.path());
        let spec = dir.path().join("overcast.yaml");
        let text = std::fs::read_to_string(&spec).expect("read example spec");
        assert!(
            text.contains(local_targets) && text.contains("\nvariables:\n"),
            "examples/{example} no longer has the targets block this test replaces"
        );
        let text = text
            .replacen(
                local_targets,
                "targets:\n  aws:\n    provider: aws\n    region: us-east-1\n    endpoint_url: ${var.endpoint}\n",
                1,
            )
            .replacen(
                "\nvariables:\n",
                "\nvariables:\n  endpoint:\n    type: string\n",
                1,
            );
        std::fs::write(&spec, text).expect("write spec");
        Stack {
            dir,
            endpoint: endpoint.to_string(),
        }
    }

    fn edit(&self, from: &str, to: &str) {
        let p = self.dir.path().join("overcast.yaml");
        let text = std::fs::read_to_string(&p).expect("read spec");
        assert!(text.contains(from), "spec has no `{from}`");
        std::fs::write(&p, text.replacen(from, to, 1)).expect("write spec");
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        // Empty shared config files: nothing of the machine's own AWS setup leaks in.
        let empty = self.dir.path().join("aws-empty-config");
        std::fs::write(&empty, "").expect("write empty config");
        Command::new(env!("CARGO_BIN_EXE_overcast"))
            .current_dir(self.dir.path())
            .args(["--no-color", "--var"])
            .arg(format!("endpoint={}", self.endpoint))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", &empty)
            .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .envs(env.iter().copied())
            .output()
            .expect("run overcast")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "overcast {args:?} failed:\n{text}");
        text
    }

    /// `plan --detailed-exitcode`: (exit code, output).
    fn plan(&self) -> (i32, String) {
        let out = self.run(&["plan", "--detailed-exitcode"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

// ---------------------------------------------------------------------------------------
// SDK clients straight at the emulator.

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(sdk::s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

struct Clients {
    s3: sdk::s3::Client,
    sqs: sdk::sqs::Client,
    lambda: sdk::lambda::Client,
    iam: sdk::iam::Client,
    ec2: sdk::ec2::Client,
    rds: sdk::rds::Client,
    cloudfront: sdk::cloudfront::Client,
    tagging: sdk::tagging::Client,
}

async fn clients(endpoint: &str) -> Clients {
    let c = sdk_config(endpoint).await;
    Clients {
        s3: sdk::s3::Client::from_conf(
            sdk::s3::config::Builder::from(&c)
                .force_path_style(true)
                .build(),
        ),
        sqs: sdk::sqs::Client::new(&c),
        lambda: sdk::lambda::Client::new(&c),
        iam: sdk::iam::Client::new(&c),
        ec2: sdk::ec2::Client::new(&c),
        rds: sdk::rds::Client::new(&c),
        cloudfront: sdk::cloudfront::Client::new(&c),
        tagging: sdk::tagging::Client::new(&c),
    }
}

/// ARNs of everything the Tagging API returns for the stack.
async fn tagged(c: &Clients, stack: &str) -> Vec<String> {
    let out = c
        .tagging
        .get_resources()
        .tag_filters(
            sdk::tagging::types::TagFilter::builder()
                .key("overcast:stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .expect("GetResources");
    out.resource_tag_mapping_list()
        .iter()
        .filter_map(|m| m.resource_arn().map(str::to_string))
        .collect()
}

/// A Lambda function's environment variables, read from the emulator.
async fn function_env(c: &Clients, name: &str) -> std::collections::HashMap<String, String> {
    let f = c
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .expect("function configuration");
    f.environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default()
}

/// ARNs still tagged for the stack, but for terminated instances: AWS (and moto) keep
/// those listed for a while after they are gone.
async fn live_leftovers(c: &Clients, stack: &str) -> Vec<String> {
    let inst = c.ec2.describe_instances().send().await.expect("instances");
    let terminated: Vec<String> = inst
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("terminated"))
        .filter_map(|i| i.instance_id().map(|id| format!(":instance/{id}")))
        .collect();
    tagged(c, stack)
        .await
        .into_iter()
        .filter(|arn| !terminated.iter().any(|t| arn.ends_with(t.as_str())))
        .collect()
}

fn json_output(stack: &Stack, name: &str) -> String {
    let out = stack.ok(&["output", name]);
    out.trim().to_string()
}

async fn queue_attr(c: &Clients, url: &str, name: sdk::sqs::types::QueueAttributeName) -> String {
    let out = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("GetQueueAttributes");
    out.attributes()
        .and_then(|a| a.get(&name))
        .cloned()
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------

/// Apply the six kinds, check them in the emulator, plan again (no changes), update in
/// place, replace, see out-of-band drift, destroy and check nothing tagged remains.
#[test]
fn six_kinds_apply_update_replace_drift_destroy() {
    let moto = start_moto();
    let rt = rt();
    let c = rt.block_on(clients(&moto.endpoint));
    let yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/stack.yaml"),
    )
    .expect("fixture");
    let stack = Stack::new(&moto.endpoint, &yaml);

    stack.ok(&["apply", "--auto-approve"]);
    let bucket = json_output(&stack, "bucket");
    let queue_url = json_output(&stack, "queue");

    rt.block_on(async {
        // storage: versioning, class rule + lifecycle rule, public access block, tags.
        assert_eq!(versioning(&moto, &bucket), "Enabled");
        let lc =
            c.s3.get_bucket_lifecycle_configuration()
                .bucket(&bucket)
                .send()
                .await
                .expect("lifecycle");
        let ids: Vec<&str> = lc.rules().iter().filter_map(|r| r.id()).collect();
        assert!(
            ids.contains(&"overcast-class") && ids.contains(&"overcast-rule-0"),
            "{ids:?}"
        );
        let pab =
            c.s3.get_public_access_block()
                .bucket(&bucket)
                .send()
                .await
                .expect("pab");
        assert_eq!(
            pab.public_access_block_configuration()
                .and_then(|p| p.block_public_policy()),
            Some(true)
        );
        let tags =
            c.s3.get_bucket_tagging()
                .bucket(&bucket)
                .send()
                .await
                .expect("tags");
        assert!(
            tags.tag_set()
                .iter()
                .any(|t| t.key() == "overcast:resource" && t.value() == "site.bucket")
        );
        // cdn: the bucket policy lets exactly the distribution read it.
        let policy =
            c.s3.get_bucket_policy()
                .bucket(&bucket)
                .send()
                .await
                .expect("policy");
        // schedule trigger: an EventBridge rule targeting the nightly function.
        let events = sdk::events::Client::new(&sdk_config(&moto.endpoint).await);
        let rules = events.list_rules().send().await.expect("rules");
        let rule = rules
            .rules()
            .iter()
            .find(|r| r.name().is_some_and(|n| n.contains("nightly")))
            .expect("the nightly rule");
        assert_eq!(rule.schedule_expression(), Some("rate(1 day)"));
        let targets = events
            .list_targets_by_rule()
            .rule(rule.name().unwrap_or_default())
            .send()
            .await
            .expect("targets");
        assert!(targets.targets()[0].arn().contains("nightly"));
        // storage trigger: the bucket notifies the thumbs function, which lets S3 call it.
        let notif =
            c.s3.get_bucket_notification_configuration()
                .bucket(&bucket)
                .send()
                .await
                .expect("notification configuration");
        let thumbs_arn = notif
            .lambda_function_configurations()
            .iter()
            .map(|l| l.lambda_function_arn().to_string())
            .find(|a| a.contains("thumbs"))
            .expect("a notification for the thumbs function");
        let grant = c
            .lambda
            .get_policy()
            .function_name(&thumbs_arn)
            .send()
            .await
            .expect("thumbs policy");
        assert!(
            grant
                .policy()
                .unwrap_or_default()
                .contains("s3.amazonaws.com"),
            "{grant:?}"
        );
        // storage content: the directory's file is an object, with its hash.
        let obj =
            c.s3.head_object()
                .bucket(&bucket)
                .key("index.html")
                .send()
                .await
                .expect("object");
        assert!(
            obj.metadata()
                .is_some_and(|m| m.contains_key("overcast-sha256"))
        );
        assert!(
            policy
                .policy()
                .unwrap_or_default()
                .contains("cloudfront.amazonaws.com")
        );

        // queue: attributes and redrive to the dead-letter queue.
        use sdk::sqs::types::QueueAttributeName as Q;
        assert_eq!(queue_attr(&c, &queue_url, Q::VisibilityTimeout).await, "45");
        assert_eq!(
            queue_attr(&c, &queue_url, Q::MessageRetentionPeriod).await,
            "172800"
        );
        let redrive = queue_attr(&c, &queue_url, Q::RedrivePolicy).await;
        assert!(
            redrive.contains("dlq") && redrive.contains('3'),
            "{redrive}"
        );

        // function: configuration, role, trigger, url.
        let fns = c.lambda.list_functions().send().await.expect("functions");
        let worker = fns
            .functions()
            .iter()
            .find(|f| f.function_name().is_some_and(|n| n.contains("worker")))
            .expect("worker function");
        assert_eq!(worker.memory_size(), Some(256));
        assert_eq!(worker.runtime().map(|r| r.as_str()), Some("python3.12"));
        let role_name = worker
            .role()
            .and_then(|r| r.rsplit('/').next())
            .expect("role");
        let attached = c
            .iam
            .list_attached_role_policies()
            .role_name(role_name)
            .send()
            .await
            .expect("role policies");
        assert!(
            attached
                .attached_policies()
                .iter()
                .any(|p| p.policy_name() == Some("AWSLambdaSQSQueueExecutionRole"))
        );
        let maps = c
            .lambda
            .list_event_source_mappings()
            .function_name(worker.function_name().unwrap_or_default())
            .send()
            .await
            .expect("mappings");
        assert_eq!(maps.event_source_mappings().len(), 1);

        // compute: running instance of the asked type behind a group with port 80.
        let inst = c
            .ec2
            .describe_instances()
            .filters(
                sdk::ec2::types::Filter::builder()
                    .name("tag:overcast:stack")
                    .values("awstest")
                    .build(),
            )
            .send()
            .await
            .expect("instances");
        let i = inst
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .expect("an instance");
        assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.small"));
        let sg = i
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .expect("sg");
        let g = c
            .ec2
            .describe_security_groups()
            .group_ids(sg)
            .send()
            .await
            .expect("sg");
        assert!(
            g.security_groups()[0]
                .ip_permissions()
                .iter()
                .any(|p| p.from_port() == Some(80))
        );

        // database: instance class, engine, replica.
        let dbs = c.rds.describe_db_instances().send().await.expect("dbs");
        let primary = dbs
            .db_instances()
            .iter()
            .find(|d| d.read_replica_source_db_instance_identifier().is_none())
            .expect("primary");
        assert_eq!(primary.db_instance_class(), Some("db.t3.small"));
        assert_eq!(primary.engine(), Some("postgres"));
        assert_eq!(primary.backup_retention_period(), Some(7));
        assert_eq!(dbs.db_instances().len(), 2, "primary + one read replica");

        // cdn: a distribution whose origin is the bucket, through an OAC.
        let list = c
            .cloudfront
            .list_distributions()
            .send()
            .await
            .expect("distributions");
        let d = &list.distribution_list().expect("list").items()[0];
        let origin = &d.origins().expect("origins").items()[0];
        assert!(
            origin.domain_name().starts_with(&bucket),
            "{}",
            origin.domain_name()
        );
        // moto does not keep the origin's OriginAccessControlId: the OAC itself is checked.
        let oacs = c
            .cloudfront
            .list_origin_access_controls()
            .send()
            .await
            .expect("oacs");
        assert_eq!(
            oacs.origin_access_control_list().map(|l| l.items().len()),
            Some(1)
        );
    });

    // Discovery finds every tagged kind, through the provider crate's pub fn.
    rt.block_on(async {
        let ctx = overcast_core::ProviderContext {
            stack: "awstest".into(),
            target: "aws".into(),
            settings: serde_json::json!({"region": "us-east-1", "endpoint_url": moto.endpoint})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            spec_dir: PathBuf::from("."),
            work_dir: PathBuf::from("."),
        };
        let sdk = sdk_config(&moto.endpoint).await;
        let p = overcast_aws::AwsProvider::with_sdk_config(ctx, sdk).expect("provider");
        use overcast_core::Provider as _;
        let found = p
            .discover(
                &op(),
                &overcast_aws::DiscoveryFilter::stack("awstest", None),
            )
            .await
            .expect("discover");
        let types: std::collections::BTreeSet<&str> =
            found.iter().map(|r| r.resource_type.as_str()).collect();
        for t in [
            "s3:bucket",
            "sqs:queue",
            "lambda:function",
            "ec2:instance",
            "rds:db",
            "iam:role",
        ] {
            assert!(types.contains(t), "discovery misses {t}: {types:?}");
        }
    });

    // Nothing changed: the plan is empty (read returns inputs in the shape of expand).
    let (code, text) = stack.plan();
    assert_eq!(code, 0, "second plan should be empty:\n{text}");

    // Update in place: queue timeout, function memory, instance size, backups, cache TTL.
    stack.edit("visibility_timeout: 45", "visibility_timeout: 60");
    stack.edit("memory: 256", "memory: 512");
    stack.edit("size: small\n    ports", "size: medium\n    ports");
    stack.edit("backup_retention_days: 7", "backup_retention_days: 3");
    stack.edit("cache_ttl: 1h", "cache_ttl: 2h");
    stack.edit("rate(1 day)", "rate(12 hours)");
    let (code, text) = stack.plan();
    assert_eq!(code, 2, "{text}");
    assert!(
        !text.to_lowercase().contains("replace"),
        "in-place changes only:\n{text}"
    );
    stack.ok(&["apply", "--auto-approve"]);
    rt.block_on(async {
        use sdk::sqs::types::QueueAttributeName as Q;
        assert_eq!(queue_attr(&c, &queue_url, Q::VisibilityTimeout).await, "60");
        let fns = c.lambda.list_functions().send().await.expect("functions");
        assert!(fns.functions().iter().any(|f| f.memory_size() == Some(512)));
        let inst = c.ec2.describe_instances().send().await.expect("instances");
        assert!(
            inst.reservations()
                .iter()
                .flat_map(|r| r.instances())
                .any(|i| i.instance_type().map(|t| t.as_str()) == Some("t3.medium"))
        );
        let dbs = c.rds.describe_db_instances().send().await.expect("dbs");
        assert!(
            dbs.db_instances()
                .iter()
                .any(|d| d.backup_retention_period() == Some(3))
        );
        let events = sdk::events::Client::new(&sdk_config(&moto.endpoint).await);
        let rules = events.list_rules().send().await.expect("rules");
        assert!(
            rules
                .rules()
                .iter()
                .any(|r| r.schedule_expression() == Some("rate(12 hours)")),
            "schedule updated in place"
        );
    });
    let (code, text) = stack.plan();
    assert_eq!(
        code, 0,
        "after the update the plan should be empty:\n{text}"
    );

    // Replace: a standard queue cannot become FIFO.
    stack.edit("ordered: false", "ordered: true");
    let (code, text) = stack.plan();
    assert_eq!(code, 2, "{text}");
    assert!(text.to_lowercase().contains("replace"), "{text}");
    stack.ok(&["apply", "--auto-approve"]);
    let fifo_url = json_output(&stack, "queue");
    assert!(fifo_url.ends_with(".fifo"), "{fifo_url}");
    rt.block_on(async {
        let urls = c.sqs.list_queues().send().await.expect("queues");
        assert!(
            !urls.queue_urls().contains(&queue_url),
            "old queue left behind"
        );
    });
    let (code, text) = stack.plan();
    assert_eq!(
        code, 0,
        "after the replace the plan should be empty:\n{text}"
    );

    // Drift: change things behind overcast's back; the plan sees them, apply repairs them.
    rt.block_on(async {
        use sdk::sqs::types::QueueAttributeName as Q;
        c.sqs
            .set_queue_attributes()
            .queue_url(&fifo_url)
            .attributes(Q::VisibilityTimeout, "99")
            .send()
            .await
            .expect("drift queue");
        c.s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                sdk::s3::types::VersioningConfiguration::builder()
                    .status(sdk::s3::types::BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await
            .expect("drift bucket");
        c.s3.delete_object()
            .bucket(&bucket)
            .key("index.html")
            .send()
            .await
            .expect("drift content");
        c.s3.put_bucket_notification_configuration()
            .bucket(&bucket)
            .notification_configuration(
                sdk::s3::types::NotificationConfiguration::builder().build(),
            )
            .send()
            .await
            .expect("drift notifications");
    });
    let (code, text) = stack.plan();
    assert_eq!(code, 2, "drift should show:\n{text}");
    assert!(
        text.contains("visibility_timeout")
            && text.contains("versioning")
            && text.contains("content_in_sync")
            && text.contains("thumbs.trigger"),
        "{text}"
    );
    stack.ok(&["apply", "--auto-approve"]);
    let (code, text) = stack.plan();
    assert_eq!(code, 0, "apply should repair the drift:\n{text}");
    rt.block_on(async {
        let o =
            c.s3.head_object()
                .bucket(&bucket)
                .key("index.html")
                .send()
                .await;
        assert!(o.is_ok(), "the content was uploaded again: {o:?}");
        let notif =
            c.s3.get_bucket_notification_configuration()
                .bucket(&bucket)
                .send()
                .await
                .expect("notification configuration");
        assert_eq!(notif.lambda_function_configurations().len(), 1);
    });

    // Destroy: nothing tagged for the stack remains, roles included.
    stack.ok(&["destroy", "--auto-approve"]);
    rt.block_on(async {
        let left = live_leftovers(&c, "awstest").await;
        assert!(left.is_empty(), "left behind: {left:?}");
        let roles = c.iam.list_roles().send().await.expect("roles");
        assert!(
            !roles
                .roles()
                .iter()
                .any(|r| r.role_name().starts_with("oc-awstest-")),
            "roles left behind"
        );
        assert!(
            c.s3.list_buckets()
                .send()
                .await
                .expect("buckets")
                .buckets()
                .is_empty()
        );
        let dists = c
            .cloudfront
            .list_distributions()
            .send()
            .await
            .expect("distributions");
        assert!(
            dists
                .distribution_list()
                .is_none_or(|l| l.items().is_empty())
        );
    });
}

/// Credentials from a named profile whose `credential_process` prints them (the way SSO
/// helpers and vaults hand out credentials), chosen by the target's `profile` setting.
#[test]
fn credentials_come_from_a_profiles_credential_process() {
    let moto = start_moto();
    let yaml = "stack: proc\ntargets:\n  aws:\n    provider: aws\n    region: us-east-1\n    profile: lab\n    endpoint_url: ${var.endpoint}\nvariables:\n  endpoint: { type: string }\nresources:\n  q:\n    kind: queue\n";
    let stack = Stack::new(&moto.endpoint, yaml);
    let dir = stack.dir.path();
    let marker = dir.join("process-ran");
    let script = dir.join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"testing\", \"SecretAccessKey\": \"testing\"}}'\n",
            marker.display()
        ),
    )
    .expect("write script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        format!("[profile lab]\ncredential_process = {}\n", script.display()),
    )
    .expect("write config");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_overcast"))
            .current_dir(dir)
            .args(["--no-color", "--var"])
            .arg(format!("endpoint={}", moto.endpoint))
            .args(args)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .expect("run overcast")
    };
    let out = run(&["apply", "--auto-approve"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        marker.exists(),
        "the profile's credential_process was not run"
    );
    assert!(run(&["destroy", "--auto-approve"]).status.success());
}

/// No credentials anywhere: one clear error before any change, naming what was tried.
#[test]
fn missing_credentials_fail_preflight_clearly() {
    let yaml = "stack: nocreds\ntargets:\n  aws:\n    provider: aws\n    region: us-east-1\n    endpoint_url: ${var.endpoint}\nvariables:\n  endpoint: { type: string }\nresources:\n  q:\n    kind: queue\n";
    // Nothing answers on this port (held, never accepted, so nobody else can take it):
    // preflight must fail on credentials before any call.
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port();
    let stack = Stack::new(&format!("http://127.0.0.1:{port}"), yaml);
    let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .current_dir(stack.dir.path())
        .args(["--no-color", "--var"])
        .arg(format!("endpoint={}", stack.endpoint))
        .args(["plan"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .output()
        .expect("run overcast");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert!(
        text.contains("AWS_ACCESS_KEY_ID"),
        "the error names what was tried:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------
// A fault-injecting proxy in front of moto: the first `n` requests get a throttling
// answer in the protocol of the service (S3: 503 SlowDown, JSON protocols: 400
// ThrottlingException, query protocols: 400 Throttling), or a bare 503.

fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

/// Set `Connection: close` on a request or response head (one exchange per connection).
fn close_connection(msg: &[u8]) -> Vec<u8> {
    let Some(end) = msg.windows(4).position(|w| w == b"\r\n\r\n") else {
        return msg.to_vec();
    };
    let head = String::from_utf8_lossy(&msg[..end]);
    let mut lines: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&msg[end..]);
    out
}

fn fault(req: &[u8], n: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(req).to_ascii_lowercase();
    let (status, ctype, body) = if n % 4 == 3 {
        (
            "503 Service Unavailable",
            "text/plain",
            "overloaded".to_string(),
        )
    } else if text.contains("x-amz-target:") {
        (
            "400 Bad Request",
            "application/x-amz-json-1.0",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        )
    } else if text.contains("action=") {
        (
            "400 Bad Request",
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>".to_string(),
        )
    } else {
        (
            "503 Slow Down",
            "application/xml",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_string(),
        )
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Proxy {
    endpoint: String,
    injected: Arc<AtomicUsize>,
}

/// What the proxy does with one request.
#[derive(Clone, Debug)]
enum Act {
    /// Forward it and relay the answer.
    Forward,
    /// Answer this instead of forwarding.
    Answer(Vec<u8>),
    /// Forward it, read the answer, close the client's connection unanswered.
    DropAfterForward,
    /// Close the connection without forwarding it.
    DropBeforeForward,
    /// Forward, but hold the answer for a while.
    Slow,
}

/// A proxy in front of `upstream_port` that asks `decide(n, request)` what to do with the
/// n-th resource request (the preflight identity check is always forwarded: it runs once,
/// before any resource call) and counts the requests it did not simply forward.
fn start_proxy_with(
    upstream_port: u16,
    decide: impl Fn(usize, &[u8]) -> Act + Send + Sync + 'static,
) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let injected = Arc::new(AtomicUsize::new(0));
    let decide = Arc::new(decide);
    let (seen2, injected2) = (seen.clone(), injected.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let (seen, injected, decide) = (seen2.clone(), injected2.clone(), decide.clone());
            std::thread::spawn(move || {
                let Some(req) = read_request(&mut client) else {
                    return;
                };
                let preflight = String::from_utf8_lossy(&req).contains("Action=GetCallerIdentity");
                let act = if preflight {
                    Act::Forward
                } else {
                    decide(seen.fetch_add(1, Ordering::SeqCst), &req)
                };
                if !matches!(act, Act::Forward) {
                    injected.fetch_add(1, Ordering::SeqCst);
                }
                match &act {
                    Act::Answer(bytes) => {
                        let _ = client.write_all(bytes);
                        return;
                    }
                    Act::DropBeforeForward => return,
                    _ => {}
                }
                let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    return;
                };
                if up.write_all(&close_connection(&req)).is_err() {
                    return;
                }
                let mut resp = Vec::new();
                let _ = up.read_to_end(&mut resp);
                match act {
                    // The request took effect upstream; the client never hears of it.
                    Act::DropAfterForward => {}
                    Act::Slow => {
                        std::thread::sleep(Duration::from_millis(1500));
                        let _ = client.write_all(&close_connection(&resp));
                    }
                    _ => {
                        let _ = client.write_all(&close_connection(&resp));
                    }
                }
            });
        }
    });
    Proxy {
        endpoint: format!("http://127.0.0.1:{port}"),
        injected,
    }
}

/// The first `faults` resource requests get a throttling answer or a 503 (see [`fault`]).
fn start_proxy(upstream_port: u16, faults: usize) -> Proxy {
    start_proxy_with(upstream_port, move |n, req| {
        if n < faults {
            Act::Answer(fault(req, n))
        } else {
            Act::Forward
        }
    })
}

/// Throttling and 5xx answers are retried by the engine (the SDK's own retries are off)
/// and the apply converges.
#[test]
fn throttling_and_5xx_are_retried_until_the_apply_converges() {
    let moto = start_moto();
    let proxy = start_proxy(moto.port, 12);
    let yaml = "stack: flaky\ntargets:\n  aws:\n    provider: aws\n    region: us-east-1\n    endpoint_url: ${var.endpoint}\nvariables:\n  endpoint: { type: string }\nresources:\n  files:\n    kind: storage\n    versioning: true\n  jobs:\n    kind: queue\n    visibility_timeout: 40\noutputs:\n  bucket: ${files.name}\n  queue: ${jobs.url}\n";
    let stack = Stack::new(&proxy.endpoint, yaml);
    stack.ok(&["apply", "--auto-approve"]);
    assert_eq!(
        proxy.injected.load(Ordering::SeqCst),
        12,
        "every fault was served"
    );
    let bucket = json_output(&stack, "bucket");
    let rt = rt();
    rt.block_on(async {
        let c = clients(&moto.endpoint).await;
        assert_eq!(versioning(&moto, &bucket), "Enabled");
        let urls = c.sqs.list_queues().send().await.expect("queues");
        assert_eq!(
            urls.queue_urls().len(),
            1,
            "exactly one queue: no duplicate from a retry"
        );
        let buckets = c.s3.list_buckets().send().await.expect("buckets");
        assert_eq!(buckets.buckets().len(), 1);
    });
    let (code, text) = stack.plan();
    assert_eq!(code, 0, "{text}");
}

// ---------------------------------------------------------------------------------------
// ministack: unlike moto it refuses to delete an enabled distribution
// (DistributionNotDisabled) and checks If-Match, as CloudFront does.

/// A server that needs its port up front is started again on a new port when another
/// process holds the one it was given, and the guard stops it by PID.
#[test]
fn ministack_is_started_again_on_a_new_port_when_its_port_is_taken() {
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = held.local_addr().expect("addr").port();
    let server = common::servers::ministack();
    let ms = common::servers::start_on_ports(
        "ministack",
        [taken, common::servers::free_port()],
        |port| {
            let mut c = Command::new(&server);
            c.env("GATEWAY_PORT", port.to_string())
                .env("BIND_HOST", "127.0.0.1");
            c
        },
        |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    assert_ne!(ms.port, taken, "{}", ms.output_tail());
    let pid = ms.pid() as i32;
    assert!(common::alive(pid));
    drop(ms);
    assert!(
        !common::alive(pid),
        "the guard stopped ministack (pid {pid})"
    );
}

/// A cdn in front of a bucket on an emulator that enforces CloudFront's rules: the
/// distribution is created with the origin access control, and destroy disables it, waits
/// until it is deployed, then deletes it with the right ETag.
#[test]
fn cdn_lifecycle_against_ministack_disables_before_delete() {
    let ms = start_ministack();
    let yaml = "stack: edge\ntargets:\n  aws:\n    provider: aws\n    region: us-east-1\n    endpoint_url: ${var.endpoint}\nvariables:\n  endpoint: { type: string }\nresources:\n  site:\n    kind: storage\n  cdn:\n    kind: cdn\n    origin: ${site}\n    cache_ttl: 10m\noutputs:\n  url: ${cdn.url}\n";
    let stack = Stack::new(&ms.endpoint, yaml);
    stack.ok(&["apply", "--auto-approve"]);
    let rt = rt();
    let c = rt.block_on(clients(&ms.endpoint));
    rt.block_on(async {
        let list = c
            .cloudfront
            .list_distributions()
            .send()
            .await
            .expect("distributions");
        let items = list
            .distribution_list()
            .map(|l| l.items().to_vec())
            .unwrap_or_default();
        assert_eq!(items.len(), 1);
        let origin = &items[0].origins().expect("origins").items()[0];
        assert!(
            origin
                .origin_access_control_id()
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(
            items[0].default_cache_behavior().and_then(|b| {
                #[allow(deprecated)]
                b.default_ttl()
            }),
            Some(600)
        );
    });
    let (code, text) = stack.plan();
    assert_eq!(code, 0, "{text}");
    // An in-place change goes through UpdateDistribution with If-Match.
    stack.edit("cache_ttl: 10m", "cache_ttl: 20m");
    stack.ok(&["apply", "--auto-approve"]);
    stack.ok(&["destroy", "--auto-approve"]);
    rt.block_on(async {
        let list = c
            .cloudfront
            .list_distributions()
            .send()
            .await
            .expect("distributions");
        assert!(
            list.distribution_list()
                .is_none_or(|l| l.items().is_empty()),
            "distribution left"
        );
        let oacs = c
            .cloudfront
            .list_origin_access_controls()
            .send()
            .await
            .expect("oacs");
        assert!(
            oacs.origin_access_control_list()
                .is_none_or(|l| l.items().is_empty()),
            "OAC left"
        );
        assert!(
            c.s3.list_buckets()
                .send()
                .await
                .expect("buckets")
                .buckets()
                .is_empty()
        );
    });
}

// ---------------------------------------------------------------------------------------
// adopt: after an interrupted create (created, not recorded), the provider finds the
// resource by its owner tags or deterministic name, and only if it carries the owner tags.

#[test]
fn adopt_finds_what_an_interrupted_create_left_and_only_that() {
    use overcast_core::native::CreateRequest;
    use overcast_core::{AbstractResource, Kind, NativeAddr, OwnerTags, Provider};

    let moto = start_moto();
    let rt = rt();
    rt.block_on(async {
        let ctx = overcast_core::ProviderContext {
            stack: "adopt".into(),
            target: "aws".into(),
            settings: serde_json::json!({"region": "us-east-1", "endpoint_url": moto.endpoint})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            spec_dir: PathBuf::from("."),
            work_dir: PathBuf::from("."),
        };
        let p = overcast_aws::AwsProvider::with_sdk_config(ctx, sdk_config(&moto.endpoint).await)
            .expect("provider");
        let resources = [
            (
                "files",
                Kind::Storage,
                serde_json::json!({"versioning": true}),
            ),
            ("jobs", Kind::Queue, serde_json::json!({})),
            (
                "web",
                Kind::Compute,
                serde_json::json!({"image": "amazon-linux-2", "size": "nano", "ports": [22]}),
            ),
            ("db", Kind::Database, serde_json::json!({"engine": "mysql"})),
        ];
        let mut sg_id = String::new();
        for (name, kind, props) in resources {
            let res = AbstractResource {
                name: name.into(),
                properties: overcast_core::kinds::Properties::from_value(kind, props)
                    .expect("props"),
                referenced_kinds: Default::default(),
            };
            for spec in p.expand(&res).expect("expand") {
                let mut inputs = spec.inputs.clone();
                if let Some(v) = inputs.get_mut("security_group_id") {
                    *v = serde_json::json!(sg_id);
                }
                let addr = NativeAddr::new(name, spec.local.clone());
                let owner = OwnerTags {
                    stack: "adopt".into(),
                    target: "aws".into(),
                    resource: addr.to_string(),
                };
                let req = CreateRequest {
                    addr: addr.clone(),
                    kind,
                    type_name: spec.type_name.clone(),
                    inputs,
                    owner,
                    secrets: p.generate_secrets(&spec.type_name),
                };
                assert!(
                    p.adopt(&op(), &req).await.expect("adopt before").is_none(),
                    "{addr}: nothing yet"
                );
                let created = p.create(&op(), &req).await.expect("create");
                if spec.local == "sg" {
                    sg_id = created.id.clone();
                }
                // The create's result was lost: adopt finds the same resource.
                let adopted = p
                    .adopt(&op(), &req)
                    .await
                    .expect("adopt")
                    .unwrap_or_else(|| panic!("{addr} not adopted"));
                assert_eq!(adopted.id, created.id, "{addr}");
                // Someone else's request (other owner tags) does not take it over.
                let mut foreign = req.clone();
                foreign.owner.stack = "someone-else".into();
                assert!(
                    p.adopt(&op(), &foreign)
                        .await
                        .expect("adopt foreign")
                        .is_none(),
                    "{addr} adopted by a foreign owner"
                );
            }
        }
    });
}

/// The quickstart example, unchanged but for its target, on aws against moto: all six
/// kinds are created (checked through the emulator's API), a second plan is empty, a
/// variable change updates the function in place, and destroy leaves nothing tagged.
#[test]
fn quickstart_example_runs_unchanged_on_aws() {
    let moto = start_moto();
    let rt = rt();
    let c = rt.block_on(clients(&moto.endpoint));
    let stack = Stack::example_on_aws(
        &moto.endpoint,
        "quickstart",
        "targets:\n  local:\n    provider: local\n",
    );

    stack.ok(&["apply", "--auto-approve"]);
    let function = json_output(&stack, "function");
    let site_url = json_output(&stack, "site_url");
    assert!(site_url.contains("cloudfront"), "{site_url}");

    rt.block_on(async {
        // storage: public, so no public access block; the site's file is an object.
        let buckets = c.s3.list_buckets().send().await.expect("buckets");
        let bucket = buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .find(|n| n.contains("site"))
            .expect("the site bucket")
            .to_string();
        c.s3.head_object()
            .bucket(&bucket)
            .key("index.html")
            .send()
            .await
            .expect("index.html uploaded");
        assert!(
            c.s3.get_public_access_block()
                .bucket(&bucket)
                .send()
                .await
                .is_err(),
            "a public bucket has no public access block"
        );
        // queue with its dead-letter queue.
        let queues = c.sqs.list_queues().send().await.expect("queues");
        let urls = queues.queue_urls();
        assert_eq!(
            urls.iter().filter(|u| u.contains("jobs")).count(),
            2,
            "{urls:?}"
        );
        // database.
        let dbs = c
            .rds
            .describe_db_instances()
            .send()
            .await
            .expect("db instances");
        let db = dbs.db_instances().first().expect("the database");
        assert_eq!(db.engine(), Some("postgres"));
        assert_eq!(db.db_name(), Some("quickstart"));
        // function, its environment resolved from the database and the queue.
        let env = function_env(&c, &function).await;
        assert_eq!(env.get("GREETING").map(String::as_str), Some("Hello"));
        assert_eq!(
            env.get("DB_ENDPOINT").map(String::as_str),
            db.endpoint().and_then(|e| e.address())
        );
        assert!(env.get("QUEUE_URL").is_some_and(|u| u.contains("jobs")));
        // compute: a running instance with the startup script as user data, and its group
        // opening the declared port.
        let reservations = c.ec2.describe_instances().send().await.expect("instances");
        let instance = reservations
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| {
                i.tags()
                    .iter()
                    .any(|t| t.key() == Some("overcast:stack") && t.value() == Some("quickstart"))
            })
            .expect("the api instance");
        let group = instance
            .security_groups()
            .first()
            .and_then(|g| g.group_id());
        let groups = c
            .ec2
            .describe_security_groups()
            .set_group_ids(group.map(|g| vec![g.to_string()]))
            .send()
            .await
            .expect("groups");
        assert!(
            groups.security_groups()[0]
                .ip_permissions()
                .iter()
                .any(|p| p.from_port() == Some(8080))
        );
        // cdn.
        let dists = c
            .cloudfront
            .list_distributions()
            .send()
            .await
            .expect("distributions");
        assert_eq!(
            dists
                .distribution_list()
                .map(|l| l.items().len())
                .unwrap_or(0),
            1
        );
    });

    let (code, out) = stack.plan();
    assert_eq!(code, 0, "a second plan must be empty:\n{out}");

    let out = stack.ok(&["apply", "--auto-approve", "--var", "greeting=Hi"]);
    assert!(out.contains("1 updated") || out.contains("update"), "{out}");
    rt.block_on(async {
        let env = function_env(&c, &function).await;
        assert_eq!(env.get("GREETING").map(String::as_str), Some("Hi"));
    });

    // Drift: the queue changed behind overcast's back shows in the plan and is repaired.
    rt.block_on(async {
        let urls = c.sqs.list_queues().send().await.expect("queues");
        let jobs = urls
            .queue_urls()
            .iter()
            .find(|u| u.contains("jobs") && !u.contains("dlq"))
            .expect("the jobs queue")
            .clone();
        c.sqs
            .set_queue_attributes()
            .queue_url(&jobs)
            .attributes(sdk::sqs::types::QueueAttributeName::VisibilityTimeout, "99")
            .send()
            .await
            .expect("drift the queue");
    });
    let out = stack.run(&["plan", "--detailed-exitcode", "--var", "greeting=Hi"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "drift should show:\n{text}");
    assert!(text.contains("visibility_timeout"), "{text}");
    stack.ok(&["apply", "--auto-approve", "--var", "greeting=Hi"]);
    let out = stack.run(&["plan", "--detailed-exitcode", "--var", "greeting=Hi"]);
    assert_eq!(out.status.code(), Some(0), "apply should repair the drift");

    stack.ok(&["destroy", "--auto-approve", "--var", "greeting=Hi"]);
    let left = rt.block_on(live_leftovers(&c, "quickstart"));
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The master password generated for a database is recorded in the create's write-ahead
/// intent, so a crash between the create and its recorded result loses nothing: the next
/// plan adopts the instance with the password it was created with.
#[test]
#[cfg_attr(not(feature = "test-hooks"), ignore = "needs --features test-hooks")]
fn database_adopted_after_a_crash_keeps_its_generated_password() {
    let moto = start_moto();
    let yaml = r#"
stack: crashdb
targets:
  aws:
    provider: aws
    region: us-east-1
    endpoint_url: ${var.endpoint}
variables:
  endpoint:
    type: string
resources:
  db:
    kind: database
    engine: postgres
    size: small
outputs:
  password: { value: "${db.password}", sensitive: true }
"#;
    let stack = Stack::new(&moto.endpoint, yaml);
    let out = stack.run_env(
        &["apply", "--auto-approve"],
        &[("OVERCAST_TEST_CRASH_BEFORE_RECORD", "db.db")],
    );
    assert!(!out.status.success(), "the apply was to be killed");
    let journal = stack.dir.path().join(".overcast/state/crashdb.aws.journal");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let recorded = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| find_key(&v, "secrets").cloned())
        .and_then(|s| {
            s.get("password")
                .and_then(|p| p.as_str())
                .map(str::to_string)
        })
        .expect("the intent records the generated password");

    // Discovery sees the instance, tagged for the stack but not in its state yet.
    let standing = |stack: &Stack| {
        let out = stack.ok(&["discover", "--json", "--type", "rds:db"]);
        let doc: serde_json::Value = serde_json::from_str(out.trim()).expect("discover JSON");
        let list = doc["resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 1, "{doc}");
        assert_eq!(list[0]["tags"]["overcast:resource"], "db.db", "{doc}");
        list[0]["standing"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(standing(&stack), "not in state");

    // The next command adopts the instance; its state keeps the intent's password.
    let out = stack.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("adopting"), "{out}");
    assert_eq!(json_output(&stack, "password"), recorded);
    assert_eq!(standing(&stack), "in state");
    let table = stack.ok(&["discover", "--all"]);
    assert!(
        table.contains("rds:db") && table.contains("in state"),
        "{table}"
    );
    let bad = stack.run(&["discover", "--type", "rds:instance"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("rds:db"));
    stack.ok(&["destroy", "--auto-approve"]);
}

/// The first value under `key` anywhere in `v`.
fn find_key<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m
            .get(key)
            .or_else(|| m.values().find_map(|x| find_key(x, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Transport faults: a proxy that breaks connections the ways networks do. Dropping the
// connection after forwarding is the dangerous one: the request took effect, the answer is
// lost, and a create retried blindly would create twice.

/// A proxy that breaks every `every`-th resource request, cycling through the ways a
/// network breaks a call, deterministically.
fn start_breaking_proxy(upstream_port: u16, every: usize) -> Proxy {
    start_proxy_with(upstream_port, move |n, _| {
        let n = n + 1;
        if n % every != 0 {
            return Act::Forward;
        }
        match (n / every) % 4 {
            0 => Act::DropAfterForward,
            1 => Act::DropBeforeForward,
            2 => Act::Answer(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            ),
            _ => Act::Slow,
        }
    })
}

/// Apply, no-op plan and destroy of buckets, queues and an EC2 instance through a proxy
/// that breaks one call in five: everything converges, nothing is created twice, nothing
/// is left behind. Checked through moto's own API.
#[test]
fn dropped_connections_and_slow_answers_converge_without_duplicates_or_leftovers() {
    let moto = start_moto();
    let port: u16 = moto
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("moto port");
    let proxy = start_breaking_proxy(port, 5);
    let yaml = "stack: lossy\ntargets:\n  aws:\n    provider: aws\n    region: us-east-1\n    endpoint_url: ${var.endpoint}\nvariables:\n  endpoint: { type: string }\nresources:\n  files:\n    kind: storage\n  logs:\n    kind: storage\n  jobs:\n    kind: queue\n  web:\n    kind: compute\n    size: nano\n    image: ubuntu-24.04\n";
    let stack = Stack::new(&proxy.endpoint, yaml);
    stack.ok(&["apply", "--auto-approve"]);
    assert!(
        proxy.injected.load(Ordering::SeqCst) >= 4,
        "the proxy broke calls of every kind ({} broken)",
        proxy.injected.load(Ordering::SeqCst)
    );
    let rt = rt();
    let count = |c: &Clients| {
        rt.block_on(async {
            let buckets =
                c.s3.list_buckets()
                    .send()
                    .await
                    .expect("buckets")
                    .buckets()
                    .len();
            let queues = c
                .sqs
                .list_queues()
                .send()
                .await
                .expect("queues")
                .queue_urls()
                .len();
            let instances = c
                .ec2
                .describe_instances()
                .send()
                .await
                .expect("instances")
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter(|i| {
                    i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated")
                })
                .count();
            (buckets, queues, instances)
        })
    };
    let c = rt.block_on(clients(&moto.endpoint));
    assert_eq!(
        count(&c),
        (2, 1, 1),
        "exactly what the stack declares: no duplicate"
    );
    let (code, text) = stack.plan();
    assert_eq!(code, 0, "converged: {text}");
    stack.ok(&["destroy", "--auto-approve"]);
    assert_eq!(count(&c), (0, 0, 0), "nothing left behind");
}

// ---------------------------------------------------------------------------------------
// The provider conformance suite (overcast_core::conformance) on moto.

#[test]
fn the_aws_provider_passes_the_conformance_suite_on_moto() {
    use overcast_core::Kind;
    use overcast_core::conformance::{self, Case, Target};
    let moto = start_moto();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
    let case = |name: &str, kind, props| Case::new(name, kind, props).expect("valid properties");
    let cases =
        vec![
        case("files", Kind::Storage, serde_json::json!({}))
            .with_update(serde_json::json!({"versioning": true}))
            .expect("update"),
        case("jobs", Kind::Queue, serde_json::json!({"visibility_timeout": 30}))
            .with_update(serde_json::json!({"visibility_timeout": 60}))
            .expect("update")
            .with_replace(serde_json::json!({"visibility_timeout": 60, "ordered": true}))
            .expect("replace"),
        case(
            "web",
            Kind::Compute,
            serde_json::json!({"image": "amazon-linux-2", "size": "nano", "ports": [22]}),
        )
        .with_update(serde_json::json!({"image": "amazon-linux-2", "size": "micro", "ports": [22]}))
        .expect("update")
        .with_replace(serde_json::json!({"image": "ubuntu-24.04", "size": "micro", "ports": [22]}))
        .expect("replace"),
        case("db", Kind::Database, serde_json::json!({"engine": "postgres", "storage_gb": 20}))
            .with_update(serde_json::json!({"engine": "postgres", "storage_gb": 30}))
            .expect("update"),
        case(
            "api",
            Kind::Function,
            serde_json::json!({"runtime": "python3.12", "handler": "main.handler", "source": "fn"}),
        )
        .with_update(serde_json::json!({"runtime": "python3.12", "handler": "main.handler",
                                        "source": "fn", "memory": 256}))
        .expect("update"),
    ];
    let rt = rt();
    let failures = rt.block_on(async {
        let ctx = overcast_core::ProviderContext {
            stack: "conform".into(),
            target: "aws".into(),
            settings: serde_json::json!({"region": "us-east-1", "endpoint_url": moto.endpoint})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            spec_dir: fixtures.clone(),
            work_dir: fixtures.clone(),
        };
        let p = overcast_aws::AwsProvider::with_sdk_config(ctx, sdk_config(&moto.endpoint).await)
            .expect("provider");
        let target = Target {
            stack: "conform".into(),
            target: "aws".into(),
        };
        let mut failures = Vec::new();
        for case in &cases {
            if let Err(f) = conformance::check(&p, &target, case).await {
                failures.push(f.to_string());
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "the AWS provider fails the conformance suite on moto:\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------
// scripts/emulators.sh: what a user runs to try the AWS provider offline.

/// Kills a process by PID when dropped, if it still runs (also when the test panics).
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if common::alive(self.0) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

/// `bash scripts/emulators.sh start aws` starts moto and prints, as its last lines, a
/// `targets:` block and the environment to export; a stack with exactly that block, run
/// with exactly that environment, applies against it (checked through moto's API);
/// `stop` stops that process.
#[test]
fn emulators_script_starts_moto_for_a_user_and_stops_it() {
    let state = tempfile::tempdir().expect("tempdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/emulators.sh");
    let emulators = |args: &[&str]| {
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .env("OVERCAST_EMULATORS_DIR", state.path())
            .output()
            .expect("run scripts/emulators.sh");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "emulators.sh {args:?} failed:\n{text}"
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let pid_file = state.path().join("aws.pid");
    let recorded_pid = || -> Option<i32> {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
    };
    let started = std::panic::catch_unwind(|| emulators(&["start", "aws"]));
    let _guard = recorded_pid().map(KillOnDrop);
    let printed = started.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let pid = recorded_pid().expect("start records the PID");
    assert!(common::alive(pid), "moto (pid {pid}) runs");

    // The last lines: the targets block, then the exports.
    let lines: Vec<&str> = printed.lines().collect();
    let targets: String = lines
        .iter()
        .skip_while(|l| **l != "targets:")
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let endpoint = targets
        .lines()
        .find_map(|l| l.trim().strip_prefix("endpoint_url: "))
        .unwrap_or_else(|| panic!("no endpoint_url in:\n{printed}"))
        .to_string();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{printed}");
    assert!(
        targets.contains("\n  aws:\n    provider: aws\n"),
        "{printed}"
    );
    let env: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(
        env.iter().any(|(k, _)| k == "AWS_ACCESS_KEY_ID"),
        "{printed}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("export ")),
        "the exports come last:\n{printed}"
    );
    // Starting again finds it running: same process, same target.
    assert_eq!(emulators(&["start", "aws"]), printed);
    assert_eq!(recorded_pid(), Some(pid));

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("overcast.yaml"),
        format!(
            "stack: offline\n{targets}resources:\n  files:\n    kind: storage\n  jobs:\n    kind: queue\n"
        ),
    )
    .expect("write spec");
    // Empty shared config files: nothing of the machine's own AWS setup leaks in.
    let empty = dir.path().join("aws-empty-config");
    std::fs::write(&empty, "").expect("write empty config");
    let overcast = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_overcast"))
            .current_dir(dir.path())
            .arg("--no-color")
            .args(args)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_CONFIG_FILE", &empty)
            .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run overcast")
    };
    let ok = |args: &[&str]| {
        let out = overcast(args);
        assert!(
            out.status.success(),
            "overcast {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["apply", "--auto-approve"]);
    let rt = rt();
    let c = rt.block_on(clients(&endpoint));
    rt.block_on(async {
        let buckets = c.s3.list_buckets().send().await.expect("buckets");
        assert_eq!(buckets.buckets().len(), 1, "the bucket is in moto");
        let queues = c.sqs.list_queues().send().await.expect("queues");
        assert_eq!(queues.queue_urls().len(), 1, "the queue is in moto");
    });
    let plan = overcast(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
    ok(&["destroy", "--auto-approve"]);
    rt.block_on(async {
        let buckets = c.s3.list_buckets().send().await.expect("buckets");
        assert!(buckets.buckets().is_empty(), "destroyed in moto");
    });

    emulators(&["stop"]);
    assert!(
        common::wait_until(Duration::from_secs(10), || !common::alive(pid)),
        "moto (pid {pid}) still runs after stop"
    );
    assert!(!pid_file.exists(), "stop forgets the PID");
    let port: u16 = endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(
        http_get(port, "/moto-api/").is_none(),
        "something still answers on {endpoint}"
    );
    assert!(emulators(&["status"]).contains("not running"));
}
