//! The `gcp_scheduler_job` native: a Cloud Scheduler job that calls a URL (a
//! schedule-triggered function's) on a unix-cron schedule, through google-cloud-scheduler-v1
//! (REST transport, so the contract-test server serves it too).
//!
//! Inputs: `name` (the job id, deterministic), `region` (its location), `schedule`,
//! `time_zone`, `uri`, `http_method`. The id is the job's full resource name
//! `projects/P/locations/R/jobs/NAME`. Jobs are not long-running operations: create and
//! patch answer the job.
//!
//! Owner: Cloud Scheduler jobs have no labels. The owner labels ride in the job's
//! `description` instead, as `overcast owner: k=v,k=v,...` with the keys and values of
//! `overcast_core::labels` under `LabelRules::GCP` (whose alphabet, `[a-z0-9_-]`, has no
//! `=` or `,`, so the line splits back exactly). Discovery decodes it like any label map;
//! a job without that line is not overcast's.

use std::collections::BTreeMap;
use std::sync::Arc;

use google_cloud_scheduler_v1::client::CloudScheduler;
use google_cloud_scheduler_v1::model::{HttpMethod, HttpTarget, Job};
use overcast_core::native::{Observed, OwnerTags};
use overcast_core::{Attrs, ErrorClass, ProviderError};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::config::Clients;
use crate::errors;

/// What a job's description starts with when it carries its owner.
const OWNER_PREFIX: &str = "overcast owner: ";
/// The fields an update may change (a job's name and location are fixed: replace).
const UPDATE_MASK: [&str; 4] = [
    "schedule",
    "time_zone",
    "http_target.uri",
    "http_target.http_method",
];
/// Jobs per listing page.
pub(crate) const PAGE_SIZE: i32 = 500;

/// The Cloud Scheduler client of a target, built on first use: a target with no
/// scheduled function never needs credentials for it.
#[derive(Debug, Clone)]
pub struct Lazy {
    endpoint: Option<String>,
    client: Arc<OnceCell<CloudScheduler>>,
}

impl Lazy {
    /// A client of `endpoint` (`None`: Google, with Application Default Credentials).
    pub fn new(endpoint: Option<String>) -> Lazy {
        Lazy {
            endpoint,
            client: Arc::new(OnceCell::new()),
        }
    }

    async fn get(&self) -> Result<&CloudScheduler, ProviderError> {
        self.client
            .get_or_try_init(|| async {
                let ep = self.endpoint.as_deref();
                let mut b =
                    CloudScheduler::builder().with_credentials(crate::config::creds_for(ep)?);
                if let Some(ep) = ep {
                    b = b.with_endpoint(ep.trim_end_matches('/'));
                }
                // The engine's call layer is the only retry loop.
                b.with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
                    .build()
                    .await
                    .map_err(|e| {
                        ProviderError::fatal(format!(
                            "cannot build the Cloud Scheduler client: {e}"
                        ))
                    })
            })
            .await
    }
}

fn str_of<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::invalid(format!(
            "gcp_scheduler_job: input `{key}` missing or not a string"
        ))
    })
}

/// The job's full resource name for `inputs` in project `project`.
pub fn job_path(project: &str, inputs: &Attrs) -> Result<String, ProviderError> {
    Ok(format!(
        "projects/{project}/locations/{}/jobs/{}",
        str_of(inputs, "region")?,
        str_of(inputs, "name")?
    ))
}

/// The description line that carries `owner`.
pub fn owner_description(owner: &OwnerTags) -> String {
    let mut labels: Vec<(String, String)> =
        crate::labels::owner_labels(owner).into_iter().collect();
    labels.sort();
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{OWNER_PREFIX}{}", pairs.join(","))
}

/// The owner labels a description carries (empty when it carries none).
pub fn labels_of_description(description: &str) -> BTreeMap<String, String> {
    let Some(rest) = description.strip_prefix(OWNER_PREFIX) else {
        return BTreeMap::new();
    };
    rest.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn http_method(inputs: &Attrs) -> Result<HttpMethod, ProviderError> {
    let m = inputs
        .get("http_method")
        .and_then(Value::as_str)
        .unwrap_or("POST");
    match HttpMethod::from(m) {
        HttpMethod::Unspecified | HttpMethod::UnknownValue(_) => {
            Err(ProviderError::invalid(format!(
                "gcp_scheduler_job `{}`: `http_method` `{m}` is not one Cloud Scheduler knows \
                 (POST, GET, HEAD, PUT, DELETE, PATCH, OPTIONS)",
                inputs.get("name").and_then(Value::as_str).unwrap_or("?")
            )))
        }
        ok => Ok(ok),
    }
}

/// The job of `inputs` (no description: the caller adds the owner on create).
fn job_of(project: &str, inputs: &Attrs) -> Result<Job, ProviderError> {
    Ok(Job::new()
        .set_name(job_path(project, inputs)?)
        .set_schedule(str_of(inputs, "schedule")?)
        .set_time_zone(
            inputs
                .get("time_zone")
                .and_then(Value::as_str)
                .unwrap_or("Etc/UTC"),
        )
        .set_http_target(
            HttpTarget::new()
                .set_uri(str_of(inputs, "uri")?)
                .set_http_method(http_method(inputs)?),
        ))
}

/// A job as the native's inputs and outputs, with its owner labels.
fn observe(job: &Job) -> (Observed, BTreeMap<String, String>) {
    let parts: Vec<&str> = job.name.split('/').collect();
    let (region, id) = match parts.as_slice() {
        ["projects", _, "locations", region, "jobs", id] => (*region, *id),
        _ => ("", job.name.as_str()),
    };
    let (uri, method) = match job.http_target() {
        Some(t) => (
            t.uri.clone(),
            t.http_method.name().unwrap_or("POST").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(id));
    inputs.insert("region".into(), json!(region));
    inputs.insert("schedule".into(), json!(job.schedule));
    inputs.insert("time_zone".into(), json!(job.time_zone));
    inputs.insert("uri".into(), json!(uri));
    inputs.insert("http_method".into(), json!(method));
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(job.name));
    outputs.insert("name".into(), json!(id));
    outputs.insert("state".into(), json!(job.state.name().unwrap_or("")));
    (
        Observed::new(job.name.clone(), inputs, outputs),
        labels_of_description(&job.description),
    )
}

/// The job `name` (its full resource name), with its owner labels; not-found when gone.
pub async fn read(
    c: &Clients,
    name: &str,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let job = c
        .scheduler
        .get()
        .await?
        .get_job()
        .set_name(name)
        .send()
        .await
        .map_err(|e| errors::gax(&format!("get Cloud Scheduler job {name}"), e))?;
    Ok(observe(&job))
}

/// Create the job, its owner in its description. A job of that name already there is
/// adopted when it is ours (a create whose answer was lost), else a conflict.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let job = job_of(&c.project, inputs)?.set_description(owner_description(owner));
    let name = job.name.clone();
    let parent = name
        .rsplit_once("/jobs/")
        .map(|(p, _)| p.to_string())
        .unwrap_or_default();
    let made = c
        .scheduler
        .get()
        .await?
        .create_job()
        .set_parent(parent)
        .set_job(job)
        .send()
        .await
        .map_err(|e| errors::gax(&format!("create Cloud Scheduler job {name}"), e));
    match made {
        Ok(job) => Ok(observe(&job).0),
        Err(e) if e.class == ErrorClass::Conflict => {
            let (obs, labels) = read(c, &name).await?;
            if crate::labels::owned_by(&labels, owner) {
                return Ok(obs);
            }
            Err(ProviderError::new(
                ErrorClass::Conflict,
                format!(
                    "Cloud Scheduler job `{name}` already exists and is not this stack's (its \
                     description does not carry this resource's owner)"
                ),
            )
            .with_hint("delete that job, or rename the stack or resource so the job id differs"))
        }
        Err(e) => Err(e),
    }
}

/// The job of the request's deterministic name, if it carries the request's owner.
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let name = job_path(&c.project, inputs)?;
    match overcast_core::error::gone_as(read(c, &name).await.map(Some), None)? {
        Some((obs, labels)) if crate::labels::owned_by(&labels, owner) => Ok(Some(obs)),
        _ => Ok(None),
    }
}

/// Bring the job `name` to `inputs` in place: one patch of the schedule, time zone and
/// target (the fields in its update mask).
pub async fn update(c: &Clients, name: &str, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let job = job_of(&c.project, inputs)?.set_name(name);
    let done = c
        .scheduler
        .get()
        .await?
        .update_job()
        .set_job(job)
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(UPDATE_MASK))
        .send()
        .await
        .map_err(|e| errors::gax(&format!("update Cloud Scheduler job {name}"), e))?;
    Ok(observe(&done).0)
}

/// Delete the job (a not-found error counts as deleted, by the provider).
pub async fn delete(c: &Clients, name: &str) -> Result<(), ProviderError> {
    c.scheduler
        .get()
        .await?
        .delete_job()
        .set_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| errors::gax(&format!("delete Cloud Scheduler job {name}"), e))
}

/// Every job of the target's region (page by page), by full name, with its owner labels.
pub async fn list(c: &Clients) -> Result<Vec<(String, BTreeMap<String, String>)>, ProviderError> {
    list_pages(c, PAGE_SIZE).await
}

/// [`list`] with a page size (tests use a small one to prove the paging).
pub async fn list_pages(
    c: &Clients,
    page_size: i32,
) -> Result<Vec<(String, BTreeMap<String, String>)>, ProviderError> {
    Ok(jobs(c, page_size)
        .await?
        .iter()
        .map(|j| (j.name.clone(), labels(j)))
        .collect())
}

/// The owner labels a job carries (in its description: jobs have no labels).
pub fn labels(job: &Job) -> BTreeMap<String, String> {
    labels_of_description(&job.description)
}

/// Every job of the target's region, as the API lists them, page by page.
pub async fn jobs(c: &Clients, page_size: i32) -> Result<Vec<Job>, ProviderError> {
    let parent = format!("projects/{}/locations/{}", c.project, c.region);
    let client = c.scheduler.get().await?;
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_jobs()
            .set_parent(&parent)
            .set_page_size(page_size)
            .set_page_token(&token)
            .send()
            .await
            .map_err(|e| errors::gax(&format!("list Cloud Scheduler jobs of {parent}"), e))?;
        out.extend(page.jobs);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

/// The resources a job calls: its Pub/Sub topic (full name) or its HTTP target's URI.
pub fn target_of(job: &Job) -> (Option<&str>, Option<&str>) {
    let topic = job
        .pubsub_target()
        .map(|t| t.topic_name.as_str())
        .filter(|t| !t.is_empty());
    let uri = job
        .http_target()
        .map(|t| t.uri.as_str())
        .filter(|u| !u.is_empty());
    (topic, uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_round_trips_through_the_description() {
        let owner = OwnerTags {
            stack: format!("Shop.{}", "x".repeat(70)),
            target: "prod_eu".into(),
            resource: "nightly.schedule".into(),
        };
        let d = owner_description(&owner);
        assert!(d.starts_with(OWNER_PREFIX), "{d}");
        assert!(
            d.len() <= 500,
            "a description holds 500 characters: {}",
            d.len()
        );
        assert!(crate::labels::owned_by(&labels_of_description(&d), &owner));
        assert!(labels_of_description("a job someone wrote").is_empty());
    }

    #[test]
    fn a_job_reads_back_as_the_inputs_that_made_it() {
        let inputs: Attrs = serde_json::from_value(json!({
            "name": "oc-shop-gcp-nightly", "region": "europe-west1", "schedule": "0 3 * * *",
            "time_zone": "Etc/UTC", "uri": "https://fn.example/run", "http_method": "POST",
        }))
        .expect("inputs");
        let job = job_of("p", &inputs).expect("job");
        assert_eq!(
            job.name,
            "projects/p/locations/europe-west1/jobs/oc-shop-gcp-nightly"
        );
        let (obs, labels) = observe(&job);
        assert_eq!(obs.inputs, inputs);
        assert!(labels.is_empty());
        let mut bad = inputs.clone();
        bad.insert("http_method".into(), json!("FETCH"));
        let e = job_of("p", &bad).unwrap_err();
        assert!(e.message.contains("FETCH"), "{}", e.message);
    }
}
