//! The `gcp_cloud_function` native: a Cloud Functions (2nd gen) function,
//! `projects/P/locations/REGION/functions/NAME`, built from its source archive in the
//! staging bucket. Create, patch (with an update mask of what changed) and delete are
//! long-running operations polled through the core poller; the lifecycle comes from the
//! function's `state` (DEPLOYING, ACTIVE, FAILED with its state messages, DELETING).
//!
//! Inputs: `name` (short id), `region`, `runtime` (Cloud Functions' id, `python312`),
//! `entry_point`, `source` (directory relative to the spec), `bucket` (the staging
//! bucket), `memory` (MiB), `timeout` (s), `env`, `trigger` (`{type: http}`,
//! `{type: queue, topic: projects/P/topics/T}`, `{type: storage, bucket: NAME}`) and
//! `code_in_sync` (desired `true`: the deployed archive is the source's).
//! Outputs: `name`, `id` (the full resource name), `url`, `source` (`gs://` of the
//! deployed archive), `state`.

use std::collections::{BTreeMap, HashMap};

use google_cloud_functions_v2::model::event_trigger::RetryPolicy;
use google_cloud_functions_v2::model::function::State;
use google_cloud_functions_v2::model::{
    BuildConfig, EventFilter, EventTrigger, Function, ServiceConfig, Source, StorageSource,
};
use google_cloud_wkt::FieldMask;
use overcast_core::native::{LiveStatus, Observed, OwnerTags};
use overcast_core::{Attrs, ErrorClass, OpContext, ProviderError};
use serde_json::{Value, json};

use super::expand::{PUBSUB_EVENT, STORAGE_EVENT};
use super::{ops, source};
use crate::config::Clients;
use crate::{errors, labels};

fn str_of<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::invalid(format!("function input `{key}` missing or not a string"))
    })
}

fn i32_of(inputs: &Attrs, key: &str) -> Result<i32, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| {
            ProviderError::invalid(format!("function input `{key}` missing or out of range"))
        })
}

/// `projects/P/locations/R`.
fn parent(c: &Clients, inputs: &Attrs) -> String {
    let region = inputs
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or(&c.region);
    format!("projects/{}/locations/{region}", c.project)
}

/// The full resource name of the function of `inputs`.
pub fn path(c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
    Ok(format!(
        "{}/functions/{}",
        parent(c, inputs),
        str_of(inputs, "name")?
    ))
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn env_of(inputs: &Attrs) -> HashMap<String, String> {
    inputs
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `availableMemory` of a size in MiB: `256Mi`.
pub fn memory_string(mib: i32) -> String {
    format!("{mib}Mi")
}

/// MiB of an `availableMemory` value (`256Mi`, `1Gi`, `512M`, `2G`).
pub fn memory_mib(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "Mi" => n,
        "Gi" => n * 1024,
        "M" => n * 1_000_000 / 1_048_576,
        "G" => n * 1_000_000_000 / 1_048_576,
        "" => n / 1_048_576,
        "k" | "Ki" => n / 1024,
        _ => return None,
    })
}

/// The event trigger of a `trigger` input (`None`: http).
fn event_trigger(inputs: &Attrs) -> Result<Option<EventTrigger>, ProviderError> {
    let t = inputs
        .get("trigger")
        .cloned()
        .unwrap_or(json!({"type": "http"}));
    let field = |k: &str| {
        t.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ProviderError::invalid(format!("function input `trigger.{k}` missing")))
    };
    Ok(match t.get("type").and_then(Value::as_str) {
        Some("queue") => Some(
            EventTrigger::new()
                .set_event_type(PUBSUB_EVENT)
                .set_pubsub_topic(field("topic")?)
                .set_retry_policy(RetryPolicy::Retry),
        ),
        Some("storage") => Some(
            EventTrigger::new()
                .set_event_type(STORAGE_EVENT)
                .set_event_filters([EventFilter::new()
                    .set_attribute("bucket")
                    .set_value(field("bucket")?)])
                .set_retry_policy(RetryPolicy::DoNotRetry),
        ),
        _ => None,
    })
}

/// The `trigger` input of a live function.
fn trigger_of(f: &Function) -> Value {
    let Some(t) = &f.event_trigger else {
        return json!({"type": "http"});
    };
    if t.event_type == PUBSUB_EVENT {
        return json!({"type": "queue", "topic": t.pubsub_topic});
    }
    if t.event_type == STORAGE_EVENT {
        let bucket = t
            .event_filters
            .iter()
            .find(|f| f.attribute == "bucket")
            .map(|f| f.value.clone());
        return json!({"type": "storage", "bucket": bucket});
    }
    json!({"type": "event", "event_type": t.event_type})
}

fn storage_source(bucket: &str, object: &str, generation: &str) -> Source {
    Source::new().set_storage_source(
        StorageSource::new()
            .set_bucket(bucket)
            .set_object(object)
            .set_generation(generation.parse::<i64>().unwrap_or_default()),
    )
}

/// The function resource of `inputs` with its source at `bucket/object#generation`.
fn body(
    inputs: &Attrs,
    name: &str,
    bucket: &str,
    object: &str,
    generation: &str,
) -> Result<Function, ProviderError> {
    let build = BuildConfig::new()
        .set_runtime(str_of(inputs, "runtime")?)
        .set_entry_point(str_of(inputs, "entry_point")?)
        .set_source(storage_source(bucket, object, generation));
    let service = ServiceConfig::new()
        .set_available_memory(memory_string(i32_of(inputs, "memory")?))
        .set_timeout_seconds(i32_of(inputs, "timeout")?)
        .set_environment_variables(env_of(inputs));
    let mut f = Function::new()
        .set_name(name)
        .set_build_config(build)
        .set_service_config(service);
    if let Some(t) = event_trigger(inputs)? {
        f = f.set_event_trigger(t);
    }
    Ok(f)
}

/// The deployed archive: `(bucket, object)`.
fn deployed_source(f: &Function) -> Option<(String, String)> {
    let s = f.build_config.as_ref()?.source.as_ref()?.storage_source()?;
    Some((s.bucket.clone(), s.object.clone()))
}

/// The status of a function's `state`.
fn status_of(f: &Function) -> LiveStatus {
    let messages = || {
        f.state_messages
            .iter()
            .map(|m| m.message.clone())
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    match &f.state {
        State::Active => LiveStatus::Ready,
        State::Deploying => LiveStatus::Provisioning("deploying".into()),
        State::Deleting => LiveStatus::Deleting,
        State::Failed | State::Unknown => {
            let m = messages();
            LiveStatus::Failed(if m.is_empty() {
                "the deployment failed (no state message)".into()
            } else {
                m
            })
        }
        // No state reported: nothing says it is not serving.
        _ => LiveStatus::Ready,
    }
}

fn labels_of(f: &Function) -> BTreeMap<String, String> {
    f.labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The function's URL: its service's URI (2nd gen), else the `url` field.
fn url_of(f: &Function) -> String {
    f.service_config
        .as_ref()
        .map(|s| s.uri.clone())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| f.url.clone())
}

/// Observe a function. `prior` holds what only this machine knows (the source directory)
/// and the SHA-256 of the source's archive as it is now, if it could be zipped.
fn observe(f: &Function, prior: &Attrs, local_sha: Option<&str>) -> Observed {
    let id = f.name.clone();
    let build = f.build_config.clone().unwrap_or_default();
    let service = f.service_config.clone().unwrap_or_default();
    let deployed = deployed_source(f);
    let deployed_sha = deployed
        .as_ref()
        .and_then(|(_, o)| source::sha_of_object(o).map(str::to_string));
    // The source gone from this machine (destroy from another checkout): no basis to
    // claim drift then.
    let in_sync = local_sha.is_none_or(|l| deployed_sha.as_deref() == Some(l));
    let region = f.name.split('/').nth(3).unwrap_or_default().to_string();
    let env: serde_json::Map<String, Value> = service
        .environment_variables
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(short(&id)));
    inputs.insert("region".into(), json!(region));
    inputs.insert("runtime".into(), json!(build.runtime));
    inputs.insert("entry_point".into(), json!(build.entry_point));
    inputs.insert(
        "source".into(),
        prior.get("source").cloned().unwrap_or(Value::Null),
    );
    // The adapter's files are in the deployed archive (`code_in_sync` compares it); the
    // function itself does not say which adapter made them, so the recorded one stands.
    inputs.insert(
        "adapter".into(),
        prior.get("adapter").cloned().unwrap_or(Value::Null),
    );
    inputs.insert(
        "bucket".into(),
        deployed.as_ref().map_or(Value::Null, |(b, _)| json!(b)),
    );
    inputs.insert(
        "memory".into(),
        json!(memory_mib(&service.available_memory)),
    );
    inputs.insert("timeout".into(), json!(service.timeout_seconds));
    inputs.insert("env".into(), Value::Object(env));
    inputs.insert("trigger".into(), trigger_of(f));
    inputs.insert("code_in_sync".into(), json!(in_sync));
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(short(&id)));
    outputs.insert("id".into(), json!(id));
    outputs.insert("url".into(), json!(url_of(f)));
    if let Some((b, o)) = &deployed {
        outputs.insert("source".into(), json!(format!("gs://{b}/{o}")));
    }
    outputs.insert("state".into(), json!(f.state.name().unwrap_or_default()));
    Observed::new(id, inputs, outputs).with_status(status_of(f))
}

/// The live function `path` (a not-found error when it is gone).
pub async fn get(c: &Clients, path: &str) -> Result<Function, ProviderError> {
    c.functions
        .get_function()
        .set_name(path)
        .send()
        .await
        .map_err(|e| errors::gax(&format!("GetFunction {path}"), e))
}

/// The SHA-256 of the source's archive now, if the source is on this machine.
async fn local_sha(c: &Clients, inputs: &Attrs) -> Option<String> {
    let dir = inputs.get("source").and_then(Value::as_str)?;
    let adapter = inputs.get("adapter").unwrap_or(&Value::Null);
    source::zip(&c.spec_dir, dir, adapter)
        .await
        .ok()
        .map(|a| a.sha256)
}

/// Read the function `path`, with its labels.
pub async fn read(
    c: &Clients,
    path: &str,
    prior: &Attrs,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let f = get(c, path).await?;
    let sha = local_sha(c, prior).await;
    Ok((observe(&f, prior, sha.as_deref()), labels_of(&f)))
}

/// Zip and upload the source of `inputs`; the archive and its object's generation.
async fn stage(c: &Clients, inputs: &Attrs) -> Result<(source::Archive, String), ProviderError> {
    let name = str_of(inputs, "name")?;
    let adapter = inputs.get("adapter").unwrap_or(&Value::Null);
    let archive = source::zip(&c.spec_dir, str_of(inputs, "source")?, adapter).await?;
    let meta = source::upload(&c.gcs, str_of(inputs, "bucket")?, name, &archive).await?;
    Ok((archive, meta.generation))
}

/// Create the function from its source, labelled with its owner. A function of that
/// name that is ours (a create whose answer was lost) is brought to the inputs instead.
pub async fn create(
    ctx: &OpContext,
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = str_of(inputs, "name")?;
    let path = path(c, inputs)?;
    let bucket = str_of(inputs, "bucket")?;
    let (archive, generation) = stage(c, inputs).await?;
    let f = body(inputs, &path, bucket, &archive.object(name), &generation)?
        .set_labels(labels::owner_labels(owner));
    // Cloud Functions takes no request id: the deterministic function id is the
    // idempotency key. A repeated create answers ALREADY_EXISTS, at once (409) or as the
    // operation's error: either way the function is adopted if it is ours.
    let created = async {
        let op = c
            .functions
            .create_function()
            .set_parent(parent(c, inputs))
            .set_function_id(name)
            .set_function(f)
            .send()
            .await
            .map_err(|e| errors::gax(&format!("CreateFunction {path}"), e))?;
        ops::wait(
            ctx,
            &c.functions,
            &format!("function `{path}` to deploy"),
            op,
        )
        .await
    }
    .await;
    match created {
        Ok(()) => {}
        Err(e) if e.class == ErrorClass::Conflict => {
            return match adopt(c, inputs, owner).await? {
                Some(_) => update(ctx, c, &path, inputs).await,
                None => Err(ProviderError::new(
                    ErrorClass::Conflict,
                    format!(
                        "function `{path}` exists and is not this stack's: {}",
                        e.message
                    ),
                )
                .with_hint("delete it, or give the resource another name")),
            };
        }
        Err(e) => return Err(e),
    }
    let f = get(c, &path).await?;
    Ok(observe(&f, inputs, Some(&archive.sha256)))
}

/// The update-mask paths whose live value differs from `want`.
fn changed_paths(live: &Function, want: &Function) -> Vec<&'static str> {
    let lb = live.build_config.clone().unwrap_or_default();
    let wb = want.build_config.clone().unwrap_or_default();
    let ls = live.service_config.clone().unwrap_or_default();
    let ws = want.service_config.clone().unwrap_or_default();
    let source_of = |b: &BuildConfig| {
        b.source
            .as_ref()
            .and_then(|s| s.storage_source())
            .map(|s| (s.bucket.clone(), s.object.clone()))
    };
    let mut paths = Vec::new();
    if lb.runtime != wb.runtime {
        paths.push("build_config.runtime");
    }
    if lb.entry_point != wb.entry_point {
        paths.push("build_config.entry_point");
    }
    if source_of(&lb) != source_of(&wb) {
        paths.push("build_config.source");
    }
    if memory_mib(&ls.available_memory) != memory_mib(&ws.available_memory) {
        paths.push("service_config.available_memory");
    }
    if ls.timeout_seconds != ws.timeout_seconds {
        paths.push("service_config.timeout_seconds");
    }
    if ls.environment_variables != ws.environment_variables {
        paths.push("service_config.environment_variables");
    }
    paths
}

/// Bring the function to `inputs` in place: upload the source if it is new, then one
/// patch of the fields that differ, then drop the archives no longer deployed.
pub async fn update(
    ctx: &OpContext,
    c: &Clients,
    path: &str,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let name = str_of(inputs, "name")?;
    let bucket = str_of(inputs, "bucket")?;
    let (archive, generation) = stage(c, inputs).await?;
    let object = archive.object(name);
    let live = get(c, path).await?;
    let want = body(inputs, path, bucket, &object, &generation)?;
    let mut paths = changed_paths(&live, &want);
    if paths.is_empty() && live.state == State::Failed {
        // A deployment that failed (a create whose operation ended in error, adopted
        // by the retried create) is redeployed from its source even when nothing changed.
        paths.push("build_config.source");
    }
    if !paths.is_empty() {
        let op = c
            .functions
            .update_function()
            .set_function(want)
            .set_update_mask(FieldMask::default().set_paths(paths))
            .send()
            .await
            .map_err(|e| errors::gax(&format!("UpdateFunction {path}"), e))?;
        ops::wait(
            ctx,
            &c.functions,
            &format!("function `{path}` to redeploy"),
            op,
        )
        .await?;
    }
    source::delete_archives(&c.gcs, bucket, name, Some(&object)).await?;
    let f = get(c, path).await?;
    Ok(observe(&f, inputs, Some(&archive.sha256)))
}

/// Delete the function, then the source archives it had in the staging bucket (so the
/// bucket can be deleted after the last function).
pub async fn delete(
    ctx: &OpContext,
    c: &Clients,
    path: &str,
    prior: &Attrs,
) -> Result<(), ProviderError> {
    // Where its archives are: the live function says (a discovered function has no
    // recorded inputs), else the recorded inputs.
    let live = match get(c, path).await {
        Ok(f) => Some(f),
        Err(e) if e.class == ErrorClass::NotFound => None,
        Err(e) => return Err(e),
    };
    let bucket = live
        .as_ref()
        .and_then(deployed_source)
        .map(|(b, _)| b)
        .or_else(|| {
            prior
                .get("bucket")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    if live.is_some() {
        let deleted = async {
            let op = c
                .functions
                .delete_function()
                .set_name(path)
                .send()
                .await
                .map_err(|e| errors::gax(&format!("DeleteFunction {path}"), e))?;
            ops::wait(
                ctx,
                &c.functions,
                &format!("function `{path}` to be deleted"),
                op,
            )
            .await
        }
        .await;
        // Gone meanwhile (at once or as the operation's error): deleted all the same.
        overcast_core::error::gone_as(deleted, ())?;
    }
    if let Some(bucket) = bucket {
        source::delete_archives(&c.gcs, &bucket, short(path), None).await?;
    }
    Ok(())
}

/// The function of `inputs`' name if it carries the owner's labels.
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let path = path(c, inputs)?;
    let found = overcast_core::error::gone_as(read(c, &path, inputs).await.map(Some), None)?;
    Ok(match found {
        Some((obs, l)) if labels::owned_by(&l, owner) => Some(obs),
        _ => None,
    })
}

/// Every function of the project in the target's region, page by page.
pub async fn list(c: &Clients) -> Result<Vec<Function>, ProviderError> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .functions
            .list_functions()
            .set_parent(format!("projects/{}/locations/{}", c.project, c.region))
            .set_page_token(token.clone())
            .send()
            .await
            .map_err(|e| errors::gax("ListFunctions", e))?;
        out.extend(page.functions);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

/// The labels of a listed function.
pub fn labels(f: &Function) -> BTreeMap<String, String> {
    labels_of(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_reads_back_in_mib() {
        assert_eq!(memory_string(256), "256Mi");
        assert_eq!(memory_mib("256Mi"), Some(256));
        assert_eq!(memory_mib("1Gi"), Some(1024));
        assert_eq!(memory_mib("512M"), Some(488));
        assert_eq!(memory_mib("lots"), None);
    }

    #[test]
    fn triggers_round_trip() {
        for t in [
            json!({"type": "http"}),
            json!({"type": "queue", "topic": "projects/p/topics/t"}),
            json!({"type": "storage", "bucket": "b"}),
        ] {
            let inputs: Attrs = json!({"trigger": t})
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut f = Function::new();
            if let Some(e) = event_trigger(&inputs).expect("trigger") {
                f = f.set_event_trigger(e);
            }
            assert_eq!(trigger_of(&f), t);
        }
    }

    #[test]
    fn the_update_mask_names_only_what_changed() {
        let inputs: Attrs = json!({"runtime": "python312", "entry_point": "h", "memory": 256,
                                   "timeout": 60, "env": {"A": "1"}, "trigger": {"type": "http"}})
        .as_object()
        .cloned()
        .unwrap_or_default();
        let live = body(&inputs, "f", "b", "f/1.zip", "1").expect("body");
        let mut changed = inputs.clone();
        changed.insert("memory".into(), json!(512));
        changed.insert("env".into(), json!({"A": "2"}));
        let want = body(&changed, "f", "b", "f/2.zip", "2").expect("body");
        assert_eq!(
            changed_paths(&live, &want),
            [
                "build_config.source",
                "service_config.available_memory",
                "service_config.environment_variables"
            ]
        );
        assert!(changed_paths(&live, &live).is_empty());
    }

    #[test]
    fn state_maps_to_the_lifecycle() {
        let f = Function::new()
            .set_state(State::Failed)
            .set_state_messages([
                google_cloud_functions_v2::model::StateMessage::new().set_message("build failed")
            ]);
        assert_eq!(status_of(&f), LiveStatus::Failed("build failed".into()));
        assert_eq!(
            status_of(&Function::new().set_state(State::Deploying)),
            LiveStatus::Provisioning("deploying".into())
        );
        assert_eq!(
            status_of(&Function::new().set_state(State::Active)),
            LiveStatus::Ready
        );
    }
}
