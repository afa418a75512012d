//! A "lab" account on moto for the nuke tests: a few dozen resources of every type the AWS
//! provider discovers, created straight through the AWS API (the SDK), not by overcast.
//! Most carry no overcast tags; some are tagged `keep=true`; some carry the owner tags of
//! stack `owned` (target `lab`) as the provider's `owner_labels` writes them. There are
//! dependency chains (instances in security groups, a group whose rule references another,
//! a read replica, a distribution over a bucket with an origin access control, functions
//! with a role, event source mappings from queues) and a versioned bucket of a few
//! thousand object versions and delete markers. [`seed_lab`] returns every ARN by role, in
//! the form discovery reports it.

use std::collections::BTreeMap;
use std::path::Path;

use overcast_aws::sdk::{self, aws_config};
use overcast_core::{OwnerTags, Provider};

/// The region the lab is seeded in.
pub const REGION: &str = "us-east-1";
/// The stack whose owner tags some lab resources carry.
pub const OWNED_STACK: &str = "owned";
/// The target of those owner tags.
pub const OWNED_TARGET: &str = "lab";
/// Keys in the big bucket; each has two versions, and every other key a delete marker on
/// top.
pub const BIG_KEYS: usize = 1200;

/// What [`seed_lab`] made, by role: ARNs exactly as the provider's discovery reports them
/// (origin access controls: `cloudfront:origin-access-control/<id>`).
#[derive(Debug, Clone, Default)]
pub struct AwsLab {
    /// moto's account id.
    pub account: String,
    /// [`REGION`].
    pub region: String,
    /// Every bucket (the big one, the distribution's origin, and plain ones).
    pub buckets: Vec<String>,
    /// The versioned bucket of [`AwsLab::big_bucket_versions`] versions and markers.
    pub big_bucket: String,
    /// How many object versions plus delete markers the big bucket holds.
    pub big_bucket_versions: usize,
    /// The bucket behind the distribution.
    pub origin_bucket: String,
    /// Every queue.
    pub queues: Vec<String>,
    /// Every role (one with attached and inline policies used by the functions, one with
    /// an inline policy only, one in an instance profile...).
    pub roles: Vec<String>,
    /// The role the functions run as.
    pub function_role: String,
    /// Every function.
    pub functions: Vec<String>,
    /// Every event source mapping (queue -> function).
    pub event_source_mappings: Vec<String>,
    /// Every EventBridge rule (one targets a function).
    pub rules: Vec<String>,
    /// Every security group (but the default one, which discovery leaves out).
    pub security_groups: Vec<String>,
    /// The group the `web` instances run in.
    pub web_group: String,
    /// A group whose ingress rule references [`AwsLab::web_group`].
    pub db_group: String,
    /// Two groups whose rules reference each other (no edge either way: a cycle).
    pub mutual_groups: Vec<String>,
    /// Every instance.
    pub instances: Vec<String>,
    /// Every DB instance.
    pub databases: Vec<String>,
    /// The primary that has a read replica.
    pub db_primary: String,
    /// Its read replica.
    pub db_replica: String,
    /// The distribution over [`AwsLab::origin_bucket`].
    pub distribution: String,
    /// Every origin access control.
    pub oacs: Vec<String>,
    /// The distribution's origin access control.
    pub oac: String,
    /// What is tagged `keep=true`.
    pub keep: Vec<String>,
    /// What carries the owner tags of stack [`OWNED_STACK`], target [`OWNED_TARGET`].
    pub owned: Vec<String>,
    /// `(user, used)`: the edges `link_discovered` must find on moto (moto does not return
    /// a distribution's origin access control, so that edge, found on AWS, is not here).
    pub edges: Vec<(String, String)>,
    /// The name discovery reports for some resources, by ARN.
    pub names: BTreeMap<String, String>,
}

impl AwsLab {
    /// Every ARN seeded, sorted.
    pub fn all(&self) -> Vec<String> {
        let mut out: Vec<String> = [
            &self.buckets,
            &self.queues,
            &self.roles,
            &self.functions,
            &self.event_source_mappings,
            &self.rules,
            &self.security_groups,
            &self.instances,
            &self.databases,
            &self.oacs,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .chain([self.distribution.clone()])
        .collect();
        out.sort();
        out
    }

    /// Every ARN seeded but those tagged `keep=true`, sorted.
    pub fn not_kept(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|a| !self.keep.contains(a))
            .collect()
    }
}

/// SDK clients straight at the emulator.
pub struct LabClients {
    pub s3: sdk::s3::Client,
    pub sqs: sdk::sqs::Client,
    pub lambda: sdk::lambda::Client,
    pub iam: sdk::iam::Client,
    pub ec2: sdk::ec2::Client,
    pub rds: sdk::rds::Client,
    pub cloudfront: sdk::cloudfront::Client,
    pub events: sdk::events::Client,
}

/// The SDK configuration of moto at `endpoint` (fixed test credentials, [`REGION`]).
pub async fn lab_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(sdk::s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// Clients for moto at `endpoint`.
pub async fn lab_clients(endpoint: &str) -> LabClients {
    let c = lab_sdk_config(endpoint).await;
    LabClients {
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
        events: sdk::events::Client::new(&c),
    }
}

/// The AWS provider of the lab (target [`OWNED_TARGET`] of stack [`OWNED_STACK`]) on moto.
pub async fn lab_provider(endpoint: &str) -> overcast_aws::AwsProvider {
    let dir = std::env::temp_dir();
    let ctx = overcast_core::ProviderContext {
        stack: OWNED_STACK.into(),
        target: OWNED_TARGET.into(),
        settings: serde_json::json!({"region": REGION, "endpoint_url": endpoint})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        spec_dir: dir.clone(),
        work_dir: dir,
    };
    overcast_aws::AwsProvider::with_sdk_config(ctx, lab_sdk_config(endpoint).await)
        .expect("aws provider")
}

/// How a seeded resource is tagged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Plain,
    Keep,
    Owned,
}

/// The tags of a resource marked `mark` (`resource`: its owner address when owned).
fn tags_of(p: &overcast_aws::AwsProvider, mark: Mark, resource: &str) -> Vec<(String, String)> {
    let mut t = vec![("lab".to_string(), "nuke".to_string())];
    match mark {
        Mark::Plain => {}
        Mark::Keep => t.push(("keep".into(), "true".into())),
        Mark::Owned => t.extend(p.owner_labels(&OwnerTags {
            stack: OWNED_STACK.into(),
            target: OWNED_TARGET.into(),
            resource: resource.into(),
        })),
    }
    t
}

struct Seeder {
    c: LabClients,
    p: overcast_aws::AwsProvider,
    lab: AwsLab,
}

impl Seeder {
    fn mark(&mut self, arn: &str, mark: Mark) {
        match mark {
            Mark::Plain => {}
            Mark::Keep => self.lab.keep.push(arn.to_string()),
            Mark::Owned => self.lab.owned.push(arn.to_string()),
        }
    }

    fn tags(&self, mark: Mark, resource: &str) -> Vec<(String, String)> {
        tags_of(&self.p, mark, resource)
    }

    async fn bucket(&mut self, name: &str, mark: Mark) -> String {
        self.c
            .s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("CreateBucket");
        let tags: Vec<sdk::s3::types::Tag> = self
            .tags(mark, &format!("{name}.bucket"))
            .into_iter()
            .map(|(k, v)| {
                sdk::s3::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("tag")
            })
            .collect();
        self.c
            .s3
            .put_bucket_tagging()
            .bucket(name)
            .tagging(
                sdk::s3::types::Tagging::builder()
                    .set_tag_set(Some(tags))
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .expect("PutBucketTagging");
        let arn = format!("arn:aws:s3:::{name}");
        self.mark(&arn, mark);
        self.lab.buckets.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        arn
    }

    /// Versioning on, [`BIG_KEYS`] keys of two versions each, a delete marker on every
    /// other key: the count of versions and markers.
    async fn fill_big_bucket(&mut self, name: &str) -> usize {
        self.c
            .s3
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                sdk::s3::types::VersioningConfiguration::builder()
                    .status(sdk::s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketVersioning");
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in 0..16 {
            let s3 = self.c.s3.clone();
            let bucket = name.to_string();
            tasks.spawn(async move {
                for i in (chunk..BIG_KEYS).step_by(16) {
                    let key = format!("dir{}/obj-{i:05}", i % 7);
                    for v in 0..2 {
                        s3.put_object()
                            .bucket(&bucket)
                            .key(&key)
                            .body(format!("v{v}").into_bytes().into())
                            .send()
                            .await
                            .expect("PutObject");
                    }
                    if i % 2 == 0 {
                        s3.delete_object()
                            .bucket(&bucket)
                            .key(&key)
                            .send()
                            .await
                            .expect("DeleteObject (marker)");
                    }
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.expect("put task");
        }
        BIG_KEYS * 2 + BIG_KEYS / 2
    }

    async fn queue(&mut self, name: &str, mark: Mark) -> String {
        let out = self
            .c
            .sqs
            .create_queue()
            .queue_name(name)
            .set_tags(Some(
                self.tags(mark, &format!("{name}.queue"))
                    .into_iter()
                    .collect(),
            ))
            .send()
            .await
            .expect("CreateQueue");
        let arn = format!("arn:aws:sqs:{REGION}:{}:{name}", self.lab.account);
        assert!(out.queue_url().is_some_and(|u| u.ends_with(name)));
        self.mark(&arn, mark);
        self.lab.queues.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        arn
    }

    async fn role(&mut self, name: &str, mark: Mark) -> String {
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let tags: Vec<sdk::iam::types::Tag> = self
            .tags(mark, &format!("{name}.role"))
            .into_iter()
            .map(|(k, v)| {
                sdk::iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("tag")
            })
            .collect();
        let out = self
            .c
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .set_tags(Some(tags))
            .send()
            .await
            .expect("CreateRole");
        let arn = out.role().map(|r| r.arn().to_string()).expect("role arn");
        self.mark(&arn, mark);
        self.lab.roles.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        arn
    }

    async fn inline_policy(&self, role: &str) {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "sqs:ReceiveMessage", "Resource": "*"}]});
        self.c
            .iam
            .put_role_policy()
            .role_name(role)
            .policy_name("inline")
            .policy_document(doc.to_string())
            .send()
            .await
            .expect("PutRolePolicy");
    }

    async fn function(&mut self, name: &str, role_arn: &str, mark: Mark, zip: &[u8]) -> String {
        let out = self
            .c
            .lambda
            .create_function()
            .function_name(name)
            .runtime(sdk::lambda::types::Runtime::Python312)
            .handler("main.handler")
            .role(role_arn)
            .code(
                sdk::lambda::types::FunctionCode::builder()
                    .zip_file(sdk::lambda::primitives::Blob::new(zip.to_vec()))
                    .build(),
            )
            .set_tags(Some(
                self.tags(mark, &format!("{name}.function"))
                    .into_iter()
                    .collect(),
            ))
            .send()
            .await
            .expect("CreateFunction");
        let arn = out.function_arn().expect("function arn").to_string();
        self.mark(&arn, mark);
        self.lab.functions.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        self.lab.edges.push((arn.clone(), role_arn.to_string()));
        arn
    }

    async fn mapping(&mut self, queue_arn: &str, function_arn: &str) -> String {
        let out = self
            .c
            .lambda
            .create_event_source_mapping()
            .event_source_arn(queue_arn)
            .function_name(function_arn)
            .batch_size(10)
            .send()
            .await
            .expect("CreateEventSourceMapping");
        let uuid = out.uuid().expect("uuid");
        let arn = out.event_source_mapping_arn().map_or_else(
            || format!("lambda:event-source-mapping/{uuid}"),
            str::to_string,
        );
        self.lab.event_source_mappings.push(arn.clone());
        self.lab.edges.push((arn.clone(), queue_arn.to_string()));
        self.lab.edges.push((arn.clone(), function_arn.to_string()));
        arn
    }

    async fn rule(&mut self, name: &str, mark: Mark, target: Option<&str>) -> String {
        let tags: Vec<sdk::events::types::Tag> = self
            .tags(mark, &format!("{name}.schedule"))
            .into_iter()
            .map(|(k, v)| {
                sdk::events::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("tag")
            })
            .collect();
        let out = self
            .c
            .events
            .put_rule()
            .name(name)
            .schedule_expression("rate(1 hour)")
            .set_tags(Some(tags))
            .send()
            .await
            .expect("PutRule");
        if let Some(f) = target {
            self.c
                .events
                .put_targets()
                .rule(name)
                .targets(
                    sdk::events::types::Target::builder()
                        .id("someone-elses-target")
                        .arn(f)
                        .build()
                        .expect("target"),
                )
                .send()
                .await
                .expect("PutTargets");
        }
        let arn = out.rule_arn().expect("rule arn").to_string();
        self.mark(&arn, mark);
        self.lab.rules.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        arn
    }

    fn ec2_tags(
        &self,
        mark: Mark,
        resource: &str,
        name: Option<&str>,
    ) -> Vec<sdk::ec2::types::Tag> {
        let mut tags: Vec<sdk::ec2::types::Tag> = self
            .tags(mark, resource)
            .into_iter()
            .map(|(k, v)| sdk::ec2::types::Tag::builder().key(k).value(v).build())
            .collect();
        if let Some(n) = name {
            tags.push(sdk::ec2::types::Tag::builder().key("Name").value(n).build());
        }
        tags
    }

    /// A security group `(id, arn)`.
    async fn group(&mut self, name: &str, mark: Mark) -> (String, String) {
        let out = self
            .c
            .ec2
            .create_security_group()
            .group_name(name)
            .description("nuke lab")
            .tag_specifications(
                sdk::ec2::types::TagSpecification::builder()
                    .resource_type(sdk::ec2::types::ResourceType::SecurityGroup)
                    .set_tags(Some(self.ec2_tags(mark, &format!("{name}.sg"), None)))
                    .build(),
            )
            .send()
            .await
            .expect("CreateSecurityGroup");
        let id = out.group_id().expect("group id").to_string();
        let arn = format!(
            "arn:aws:ec2:{REGION}:{}:security-group/{id}",
            self.lab.account
        );
        self.mark(&arn, mark);
        self.lab.security_groups.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        (id, arn)
    }

    /// Let `from` in to `to` on 5432: `to`'s rule references `from`.
    async fn allow_from(&self, to: &str, from: &str) {
        self.c
            .ec2
            .authorize_security_group_ingress()
            .group_id(to)
            .ip_permissions(
                sdk::ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(5432)
                    .to_port(5432)
                    .user_id_group_pairs(
                        sdk::ec2::types::UserIdGroupPair::builder()
                            .group_id(from)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");
    }

    async fn instance(&mut self, name: &str, group: (&str, &str), mark: Mark) -> String {
        let out = self
            .c
            .ec2
            .run_instances()
            .image_id(AMI)
            .instance_type(sdk::ec2::types::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .security_group_ids(group.0)
            .tag_specifications(
                sdk::ec2::types::TagSpecification::builder()
                    .resource_type(sdk::ec2::types::ResourceType::Instance)
                    .set_tags(Some(self.ec2_tags(
                        mark,
                        &format!("{name}.instance[0]"),
                        Some(name),
                    )))
                    .build(),
            )
            .send()
            .await
            .expect("RunInstances");
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .expect("instance id");
        let arn = format!("arn:aws:ec2:{REGION}:{}:instance/{id}", self.lab.account);
        self.mark(&arn, mark);
        self.lab.instances.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        self.lab.edges.push((arn.clone(), group.1.to_string()));
        arn
    }

    async fn database(&mut self, id: &str, mark: Mark) -> String {
        let tags: Vec<sdk::rds::types::Tag> = self
            .tags(mark, &format!("{id}.db"))
            .into_iter()
            .map(|(k, v)| sdk::rds::types::Tag::builder().key(k).value(v).build())
            .collect();
        let out = self
            .c
            .rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("lab")
            .master_user_password("lab-password-1")
            .set_tags(Some(tags))
            .send()
            .await
            .expect("CreateDBInstance");
        let arn = out
            .db_instance()
            .and_then(|d| d.db_instance_arn())
            .expect("db arn")
            .to_string();
        self.mark(&arn, mark);
        self.lab.databases.push(arn.clone());
        self.lab.names.insert(arn.clone(), id.into());
        arn
    }

    async fn replica(&mut self, id: &str, source: &str, source_arn: &str) -> String {
        let out = self
            .c
            .rds
            .create_db_instance_read_replica()
            .db_instance_identifier(id)
            .source_db_instance_identifier(source)
            .db_instance_class("db.t3.micro")
            .send()
            .await
            .expect("CreateDBInstanceReadReplica");
        let arn = out
            .db_instance()
            .and_then(|d| d.db_instance_arn())
            .expect("replica arn")
            .to_string();
        self.lab.databases.push(arn.clone());
        self.lab.names.insert(arn.clone(), id.into());
        self.lab.edges.push((arn.clone(), source_arn.to_string()));
        arn
    }

    /// An origin access control `(id, arn)`.
    async fn oac(&mut self, name: &str) -> (String, String) {
        use sdk::cloudfront::types::{
            OriginAccessControlConfig, OriginAccessControlOriginTypes,
            OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols,
        };
        let out = self
            .c
            .cloudfront
            .create_origin_access_control()
            .origin_access_control_config(
                OriginAccessControlConfig::builder()
                    .name(name)
                    .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
                    .signing_behavior(OriginAccessControlSigningBehaviors::Always)
                    .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
                    .build()
                    .expect("oac config"),
            )
            .send()
            .await
            .expect("CreateOriginAccessControl");
        let id = out
            .origin_access_control()
            .map(|o| o.id().to_string())
            .expect("oac id");
        let arn = format!("cloudfront:origin-access-control/{id}");
        self.lab.oacs.push(arn.clone());
        self.lab.names.insert(arn.clone(), name.into());
        (id, arn)
    }

    #[allow(deprecated)]
    async fn distribution(&mut self, bucket: &str, bucket_arn: &str, oac: &str) -> String {
        use sdk::cloudfront::types::{
            CookiePreference, DefaultCacheBehavior, DistributionConfig, ForwardedValues,
            ItemSelection, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
        };
        let origin = Origin::builder()
            .id("origin")
            .domain_name(format!("{bucket}.s3.{REGION}.amazonaws.com"))
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .origin_access_control_id(oac)
            .build()
            .expect("origin");
        let behavior = DefaultCacheBehavior::builder()
            .target_origin_id("origin")
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .forwarded_values(
                ForwardedValues::builder()
                    .query_string(false)
                    .cookies(
                        CookiePreference::builder()
                            .forward(ItemSelection::None)
                            .build()
                            .expect("cookies"),
                    )
                    .build()
                    .expect("forwarded values"),
            )
            .min_ttl(0)
            .build()
            .expect("behavior");
        let cfg = DistributionConfig::builder()
            .caller_reference("nuke-lab")
            .comment("nuke lab")
            .enabled(true)
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(origin)
                    .build()
                    .expect("origins"),
            )
            .default_cache_behavior(behavior)
            .build()
            .expect("distribution config");
        let out = self
            .c
            .cloudfront
            .create_distribution()
            .distribution_config(cfg)
            .send()
            .await
            .expect("CreateDistribution");
        let d = out.distribution().expect("distribution");
        let arn = d.arn().to_string();
        self.lab
            .names
            .insert(arn.clone(), d.domain_name().to_string());
        self.lab.edges.push((arn.clone(), bucket_arn.to_string()));
        arn
    }
}

/// An AMI moto serves (tests/fixtures/aws/amis.json).
const AMI: &str = "ami-0a0b0c0d00000001";

/// Seed the lab on moto at `endpoint` (a fresh moto: names are fixed). Takes a few seconds
/// (the big bucket's puts).
pub async fn seed_lab(endpoint: &str) -> AwsLab {
    let mut s = Seeder {
        c: lab_clients(endpoint).await,
        p: lab_provider(endpoint).await,
        lab: AwsLab {
            account: "123456789012".into(),
            region: REGION.into(),
            ..AwsLab::default()
        },
    };
    let zip = overcast_core::archive::zip_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/fn"),
    )
    .expect("zip the function fixture");

    // Buckets: a big versioned one, the distribution's origin, plain, kept, owned.
    s.lab.big_bucket = s.bucket("lab-big", Mark::Plain).await;
    s.lab.big_bucket_versions = s.fill_big_bucket("lab-big").await;
    s.lab.origin_bucket = s.bucket("lab-origin", Mark::Plain).await;
    for i in 0..3 {
        s.bucket(&format!("lab-plain-{i}"), Mark::Plain).await;
    }
    s.bucket("lab-keep", Mark::Keep).await;
    s.bucket("lab-owned", Mark::Owned).await;

    // Queues.
    let mut queues = Vec::new();
    for i in 0..3 {
        queues.push(s.queue(&format!("lab-q-{i}"), Mark::Plain).await);
    }
    s.queue("lab-q-keep", Mark::Keep).await;
    s.queue("lab-q-owned", Mark::Owned).await;

    // Roles: the functions' (managed + inline policies), inline only, in an instance
    // profile, kept, owned.
    let fn_role = s.role("lab-fn-role", Mark::Plain).await;
    s.lab.function_role = fn_role.clone();
    s.c.iam
        .attach_role_policy()
        .role_name("lab-fn-role")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        .send()
        .await
        .expect("AttachRolePolicy");
    s.inline_policy("lab-fn-role").await;
    s.role("lab-role-inline", Mark::Plain).await;
    s.inline_policy("lab-role-inline").await;
    s.role("lab-role-profile", Mark::Plain).await;
    s.c.iam
        .create_instance_profile()
        .instance_profile_name("lab-profile")
        .send()
        .await
        .expect("CreateInstanceProfile");
    s.c.iam
        .add_role_to_instance_profile()
        .instance_profile_name("lab-profile")
        .role_name("lab-role-profile")
        .send()
        .await
        .expect("AddRoleToInstanceProfile");
    let keep_role = s.role("lab-role-keep", Mark::Keep).await;
    let owned_role = s.role("lab-role-owned", Mark::Owned).await;

    // Functions, and event source mappings from queues to them.
    let f0 = s.function("lab-fn-0", &fn_role, Mark::Plain, &zip).await;
    let f1 = s.function("lab-fn-1", &fn_role, Mark::Plain, &zip).await;
    s.function("lab-fn-keep", &keep_role, Mark::Keep, &zip)
        .await;
    s.function("lab-fn-owned", &owned_role, Mark::Owned, &zip)
        .await;
    s.mapping(&queues[0], &f0).await;
    s.mapping(&queues[1], &f1).await;

    // EventBridge rules (one with a target someone else added).
    s.rule("lab-rule-0", Mark::Plain, Some(&f1)).await;
    s.rule("lab-rule-1", Mark::Plain, None).await;
    s.rule("lab-rule-keep", Mark::Keep, None).await;
    s.rule("lab-rule-owned", Mark::Owned, None).await;

    // Security groups: web (instances), db (references web), a mutual pair, free, kept,
    // owned; instances in web, kept and owned groups.
    let web = s.group("lab-sg-web", Mark::Plain).await;
    let db = s.group("lab-sg-db", Mark::Plain).await;
    s.allow_from(&db.0, &web.0).await;
    s.lab.edges.push((db.1.clone(), web.1.clone()));
    s.lab.web_group = web.1.clone();
    s.lab.db_group = db.1.clone();
    let a = s.group("lab-sg-a", Mark::Plain).await;
    let b = s.group("lab-sg-b", Mark::Plain).await;
    s.allow_from(&a.0, &b.0).await;
    s.allow_from(&b.0, &a.0).await;
    s.lab.mutual_groups = vec![a.1, b.1];
    s.group("lab-sg-free", Mark::Plain).await;
    let keep_sg = s.group("lab-sg-keep", Mark::Keep).await;
    let owned_sg = s.group("lab-sg-owned", Mark::Owned).await;
    for i in 0..2 {
        s.instance(&format!("lab-web-{i}"), (&web.0, &web.1), Mark::Plain)
            .await;
    }
    s.instance("lab-vm-keep", (&keep_sg.0, &keep_sg.1), Mark::Keep)
        .await;
    s.instance("lab-vm-owned", (&owned_sg.0, &owned_sg.1), Mark::Owned)
        .await;

    // Databases: a primary with a replica, a plain one, a kept one, an owned one.
    let primary = s.database("lab-db", Mark::Plain).await;
    s.lab.db_primary = primary.clone();
    s.lab.db_replica = s.replica("lab-db-replica", "lab-db", &primary).await;
    s.database("lab-db-solo", Mark::Plain).await;
    s.database("lab-db-keep", Mark::Keep).await;
    s.database("lab-db-owned", Mark::Owned).await;

    // CloudFront: a distribution over the origin bucket through an OAC, and a spare OAC.
    let (oac_id, oac_arn) = s.oac("lab-oac").await;
    s.lab.oac = oac_arn;
    s.oac("lab-oac-spare").await;
    let origin = s.lab.origin_bucket.clone();
    s.lab.distribution = s.distribution("lab-origin", &origin, &oac_id).await;

    for v in [
        &mut s.lab.keep,
        &mut s.lab.owned,
        &mut s.lab.buckets,
        &mut s.lab.queues,
        &mut s.lab.roles,
        &mut s.lab.functions,
        &mut s.lab.event_source_mappings,
        &mut s.lab.rules,
        &mut s.lab.security_groups,
        &mut s.lab.instances,
        &mut s.lab.databases,
        &mut s.lab.oacs,
    ] {
        v.sort();
    }
    s.lab.edges.sort();
    s.lab
}
