//! The `gcp_storage_bucket` native: a Cloud Storage bucket with versioning, a default
//! class, lifecycle rules, public access prevention unless `public` (then a read grant to
//! `allUsers` instead) and the owner labels; with `content`, the files of a directory as
//! its objects (see [`crate::content`]), readable by `allUsers` through the same grant
//! when the bucket is public.

use std::collections::BTreeMap;

use overcast_core::native::{Observed, OwnerTags};
use overcast_core::{Attrs, ErrorClass, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::labels;

/// The role and member a public bucket grants.
const PUBLIC_ROLE: &str = "roles/storage.objectViewer";
const ALL_USERS: &str = "allUsers";

fn str_of<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::invalid(format!("input `{key}` missing or not a string")))
}

fn bool_of(inputs: &Attrs, key: &str) -> bool {
    inputs.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The lifecycle rules of the native's inputs in the JSON API's form.
fn lifecycle_json(inputs: &Attrs) -> Value {
    let rules = inputs
        .get("lifecycle")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rule: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut condition = serde_json::Map::new();
            if let Some(p) = r.get("prefix").and_then(Value::as_str) {
                condition.insert("matchesPrefix".into(), json!([p]));
            }
            let (action, age) = match r.get("to_class").and_then(Value::as_str) {
                Some(class) => (
                    json!({"type": "SetStorageClass", "storageClass": class}),
                    r.get("transition_after_days"),
                ),
                None => (json!({"type": "Delete"}), r.get("expire_after_days")),
            };
            condition.insert("age".into(), age.cloned().unwrap_or(json!(0)));
            json!({"action": action, "condition": condition})
        })
        .collect();
    json!({ "rule": rule })
}

/// The JSON API's lifecycle back in the native's form (see [`lifecycle_json`]).
fn lifecycle_of(bucket: &Value) -> Value {
    let rules = bucket["lifecycle"]["rule"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let out: Vec<Value> = rules
        .iter()
        .map(|r| {
            let prefix = r["condition"]["matchesPrefix"][0].as_str();
            let age = r["condition"]["age"].clone();
            match r["action"]["type"].as_str() {
                Some("SetStorageClass") => json!({
                    "prefix": prefix,
                    "transition_after_days": age,
                    "to_class": r["action"]["storageClass"],
                }),
                _ => json!({"prefix": prefix, "expire_after_days": age}),
            }
        })
        .collect();
    Value::Array(out)
}

/// The bucket fields the native sets (everything but the name, labels and location).
fn settable(inputs: &Attrs) -> Value {
    let public = bool_of(inputs, "public");
    json!({
        "storageClass": inputs.get("class").cloned().unwrap_or(json!("STANDARD")),
        "versioning": {"enabled": bool_of(inputs, "versioning")},
        "lifecycle": lifecycle_json(inputs),
        "iamConfiguration": {
            // Uniform access: the bucket's IAM policy is the only grant, so `public` is
            // one binding rather than per-object ACLs.
            "uniformBucketLevelAccess": {"enabled": true},
            "publicAccessPrevention": if public { "inherited" } else { "enforced" },
        },
    })
}

fn labels_of(bucket: &Value) -> BTreeMap<String, String> {
    bucket["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the bucket's IAM policy grants `allUsers` read.
async fn is_public(c: &Clients, name: &str) -> Result<bool, ProviderError> {
    let policy = c.gcs.get_iam(name).await?;
    Ok(policy["bindings"].as_array().is_some_and(|bs| {
        bs.iter().any(|b| {
            b["role"] == PUBLIC_ROLE
                && b["members"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|x| x == ALL_USERS))
        })
    }))
}

/// Grant or withdraw `allUsers` read, leaving every other binding as it is.
async fn set_public(c: &Clients, name: &str, public: bool) -> Result<(), ProviderError> {
    if is_public(c, name).await? == public {
        return Ok(());
    }
    let mut policy = c.gcs.get_iam(name).await?;
    let mut bindings: Vec<Value> = policy["bindings"].as_array().cloned().unwrap_or_default();
    for b in &mut bindings {
        if b["role"] == PUBLIC_ROLE
            && let Some(m) = b["members"].as_array_mut()
        {
            m.retain(|x| x != ALL_USERS);
        }
    }
    bindings.retain(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()));
    if public {
        bindings.push(json!({"role": PUBLIC_ROLE, "members": [ALL_USERS]}));
    }
    policy["bindings"] = Value::Array(bindings);
    c.gcs.set_iam(name, &policy).await
}

/// Observe a bucket: its settings as inputs, its name and URL as outputs. `content`: the
/// content directory of the last applied (or requested) inputs, which only this machine
/// knows; whether the bucket holds it is `content_in_sync`.
async fn observe(
    c: &Clients,
    bucket: &Value,
    content: Option<&str>,
) -> Result<Observed, ProviderError> {
    let name = bucket["name"].as_str().unwrap_or_default().to_string();
    let public = is_public(c, &name).await?;
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert("location".into(), bucket["location"].clone());
    inputs.insert(
        "versioning".into(),
        json!(bucket["versioning"]["enabled"].as_bool().unwrap_or(false)),
    );
    inputs.insert("class".into(), bucket["storageClass"].clone());
    inputs.insert("public".into(), json!(public));
    inputs.insert("lifecycle".into(), lifecycle_of(bucket));
    let in_sync = match content {
        Some(dir) => Some(crate::content::in_sync(c, &name, &c.spec_dir.join(dir)).await?),
        None => None,
    };
    inputs.insert("content".into(), json!(content));
    inputs.insert("content_in_sync".into(), json!(in_sync));
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("url".into(), json!(format!("{}/{name}", c.gcs.endpoint())));
    outputs.insert("uri".into(), json!(format!("gs://{name}")));
    Ok(Observed::new(name, inputs, outputs))
}

/// Create the bucket, labelled with its owner.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = str_of(inputs, "name")?;
    let mut body = settable(inputs);
    body["name"] = json!(name);
    body["location"] = inputs.get("location").cloned().unwrap_or(json!(c.region));
    body["labels"] = json!(labels::owner_labels(owner));
    let created = c.gcs.insert(&c.project, &body).await?;
    set_public(c, name, bool_of(inputs, "public")).await?;
    let content = sync_content(c, name, inputs).await?;
    observe(c, &created, content).await
}

/// Upload the content directory of `inputs`, if any (every create and update re-syncs:
/// an unchanged object costs nothing but its line in the listing); the directory.
async fn sync_content<'a>(
    c: &Clients,
    name: &str,
    inputs: &'a Attrs,
) -> Result<Option<&'a str>, ProviderError> {
    let dir = content_of(inputs);
    if let Some(dir) = dir {
        crate::content::sync(c, name, &c.spec_dir.join(dir)).await?;
    }
    Ok(dir)
}

/// The content directory of a native's inputs.
pub fn content_of(inputs: &Attrs) -> Option<&str> {
    inputs.get("content").and_then(Value::as_str)
}

/// The bucket `name` (a not-found error when it is gone), with its labels; `content`: the
/// content directory to compare it with (see [`observe`]).
pub async fn read(
    c: &Clients,
    name: &str,
    content: Option<&str>,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let b = c.gcs.get(name).await?;
    Ok((observe(c, &b, content).await?, labels_of(&b)))
}

/// Bring the bucket to `inputs`: one patch guarded by the metageneration just read (a
/// concurrent change fails with 412, which the call layer retries after this re-read).
pub async fn update(c: &Clients, name: &str, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let current = c.gcs.get(name).await?;
    let generation = current["metageneration"].as_str().map(str::to_string);
    let public = bool_of(inputs, "public");
    if !public {
        // Withdraw the grant before enforcing prevention, which refuses it.
        set_public(c, name, false).await?;
    }
    let patched = c
        .gcs
        .patch(name, &settable(inputs), generation.as_deref())
        .await?;
    if public {
        set_public(c, name, true).await?;
    }
    let content = sync_content(c, name, inputs).await?;
    observe(c, &patched, content).await
}

/// Empty the bucket (every object and generation: the stack owns the bucket and what is
/// in it, as on AWS) and delete it. An object written between the two is refused by the
/// service (409): say so plainly.
pub async fn delete(c: &Clients, name: &str) -> Result<(), ProviderError> {
    crate::content::empty(c, name).await?;
    c.gcs.delete(name).await.map_err(|e| {
        if e.class == ErrorClass::Conflict {
            ProviderError::new(
                ErrorClass::Conflict,
                format!("bucket `{name}` still holds objects: {}", e.message),
            )
            .with_hint(format!(
                "something wrote to it while it was emptied: stop the writer and run the \
                 command again, or empty it with `gcloud storage rm -r gs://{name}/**`"
            ))
        } else {
            e
        }
    })
}

/// A bucket as discovery lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its location, lower case (`us-central1`, `eu`).
    pub location: Option<String>,
    /// `timeCreated` (RFC 3339).
    pub created: Option<String>,
}

/// Every bucket of the project, with its labels, location and creation time.
pub async fn list(c: &Clients) -> Result<Vec<Listed>, ProviderError> {
    Ok(c.gcs
        .list(&c.project)
        .await?
        .iter()
        .filter_map(|b| {
            Some(Listed {
                name: b["name"].as_str()?.to_string(),
                labels: labels_of(b),
                location: b["location"].as_str().map(str::to_ascii_lowercase),
                created: b["timeCreated"].as_str().map(str::to_string),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_round_trips_through_the_json_api_form() {
        let inputs: Attrs = serde_json::from_value(json!({"lifecycle": [
            {"prefix": "logs/", "transition_after_days": 30, "to_class": "NEARLINE"},
            {"prefix": null, "expire_after_days": 365},
        ]}))
        .expect("inputs");
        let api = json!({"lifecycle": lifecycle_json(&inputs)});
        assert_eq!(
            api["lifecycle"]["rule"][0]["action"]["storageClass"],
            "NEARLINE"
        );
        assert_eq!(api["lifecycle"]["rule"][1]["condition"]["age"], 365);
        assert_eq!(lifecycle_of(&api), inputs["lifecycle"]);
    }
}
