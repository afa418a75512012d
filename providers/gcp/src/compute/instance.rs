//! `gcp_compute_instance`: one Compute Engine VM of a compute resource.
//!
//! Inputs: `name`, `zone`, `machine_type` (`e2-small`), `image` (an image or image family
//! path, `projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64`),
//! `startup` (the `startup-script` metadata), `network` (the target network's name) and
//! `tag` (the network tag the compute resource's firewall rule targets). The image is
//! kept in the instance's description (Compute reports the boot disk, not the image it
//! was made from), so a read reports every input. Outputs: `name`, `private_ip`,
//! `public_ip`, `address` (public, else private), `status`.
//!
//! In place: the machine type (stop, setMachineType, start, each waited for), the startup
//! script (setMetadata with the metadata fingerprint) and the owner labels (setLabels with
//! the label fingerprint). A stale fingerprint (412) is re-read and the call tried once
//! more. The image, zone, name, network and tag force a replacement.

use std::collections::{BTreeMap, HashMap};

use google_cloud_compute_v1::model;
use overcast_core::labels::LabelRules;
use overcast_core::native::{LiveStatus, Observed, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, ProviderError};
use serde_json::{Value, json};

use super::client::{Compute, err};
use super::{last_segment, ops, request_id, str_of};

/// The prefix of an instance description that records its image.
const IMAGE_PREFIX: &str = "overcast image: ";
/// The metadata key Compute runs at boot.
pub const STARTUP_KEY: &str = "startup-script";

/// The id of an instance: its resource path.
pub fn id_of(project: &str, zone: &str, name: &str) -> String {
    format!("projects/{project}/zones/{zone}/instances/{name}")
}

/// (zone, name) of an instance id.
pub fn parse_id(id: &str) -> Result<(String, String), ProviderError> {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [.., "zones", zone, "instances", name] => Ok((zone.to_string(), name.to_string())),
        _ => Err(ProviderError::invalid(format!(
            "`{id}` is not an instance id: expected projects/P/zones/Z/instances/N"
        ))),
    }
}

fn input<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::invalid(format!(
            "gcp_compute_instance: input `{key}` missing or not a string"
        ))
    })
}

/// Read an instance.
pub async fn get(c: &Compute, zone: &str, name: &str) -> Result<Value, ProviderError> {
    let r = c
        .instances
        .get()
        .set_project(&c.project)
        .set_zone(zone)
        .set_instance(name)
        .send()
        .await
        .map_err(|e| err(&format!("get instance `{name}`"), e))?;
    serde_json::to_value(r).map_err(|e| ProviderError::fatal(format!("instance `{name}`: {e}")))
}

/// The lifecycle status of an instance status word.
pub fn live_status(status: &str) -> LiveStatus {
    match status {
        "RUNNING" => LiveStatus::Ready,
        "PROVISIONING" | "STAGING" | "REPAIRING" => {
            LiveStatus::Provisioning(status.to_ascii_lowercase())
        }
        // Stopped or suspended by someone: it will not serve until started again.
        "STOPPING" | "STOPPED" | "TERMINATED" | "SUSPENDING" | "SUSPENDED" => {
            LiveStatus::Failed(format!(
                "the instance is {status}: start it (`gcloud compute instances start`) or replace it"
            ))
        }
        "" => LiveStatus::Ready,
        other => LiveStatus::Provisioning(other.to_ascii_lowercase()),
    }
}

fn metadata_value<'a>(live: &'a Value, key: &str) -> Option<&'a str> {
    live.pointer("/metadata/items")?
        .as_array()?
        .iter()
        .find(|i| str_of(i, "key") == key)
        .map(|i| str_of(i, "value"))
}

/// What a live instance reports, as inputs and outputs.
pub fn observed(project: &str, live: &Value) -> Observed {
    let name = str_of(live, "name");
    let zone = last_segment(str_of(live, "zone"));
    let nic = live
        .pointer("/networkInterfaces/0")
        .cloned()
        .unwrap_or(Value::Null);
    let private_ip = str_of(&nic, "networkIP").to_string();
    let public_ip = nic
        .pointer("/accessConfigs/0/natIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let description = str_of(live, "description");
    let image = description.strip_prefix(IMAGE_PREFIX).unwrap_or_default();
    let tag = live
        .pointer("/tags/items/0")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let inputs = json!({
        "name": name,
        "zone": zone,
        "machine_type": last_segment(str_of(live, "machineType")),
        "image": image,
        "startup": metadata_value(live, STARTUP_KEY).unwrap_or_default(),
        "network": last_segment(str_of(&nic, "network")),
        "tag": tag,
    });
    let address = if public_ip.is_empty() {
        &private_ip
    } else {
        &public_ip
    };
    let status = str_of(live, "status");
    let outputs = json!({
        "name": name,
        "private_ip": private_ip,
        "public_ip": public_ip,
        "address": address,
        "status": status,
    });
    let obj = |v: Value| match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    };
    Observed::new(id_of(project, zone, name), obj(inputs), obj(outputs))
        .with_status(live_status(status))
}

/// The insert body of an instance.
pub fn body(inputs: &Attrs, owner: &OwnerTags) -> Result<Value, ProviderError> {
    let zone = input(inputs, "zone")?;
    let image = input(inputs, "image")?;
    let startup = inputs
        .get("startup")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tag = input(inputs, "tag")?;
    let mut items = Vec::new();
    if !startup.is_empty() {
        items.push(json!({"key": STARTUP_KEY, "value": startup}));
    }
    Ok(json!({
        "name": input(inputs, "name")?,
        "description": format!("{IMAGE_PREFIX}{image}"),
        "machineType": format!("zones/{zone}/machineTypes/{}", input(inputs, "machine_type")?),
        "disks": [{"boot": true, "autoDelete": true, "initializeParams": {"sourceImage": image}}],
        "networkInterfaces": [{
            "network": format!("global/networks/{}", input(inputs, "network")?),
            "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT"}],
        }],
        "metadata": {"items": items},
        "tags": {"items": [tag]},
        "labels": super::label_map(owner),
    }))
}

fn owned(live: &Value, owner: &OwnerTags) -> bool {
    crate::labels::owned_by(&super::labels_of(live), owner)
}

/// An image family the instance would boot from exists (`images.getFromFamily`): a
/// missing one is named before anything is made, with what to use instead.
pub async fn check_image(c: &Compute, name: &str, image: &str) -> Result<(), ProviderError> {
    let parts: Vec<&str> = image.split('/').collect();
    let ["projects", project, "global", "images", "family", family] = parts.as_slice() else {
        return Ok(());
    };
    let found = c
        .images
        .get_from_family()
        .set_project(*project)
        .set_family(*family)
        .send()
        .await;
    match found {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = err(&format!("instance `{name}`: image family `{image}`"), e);
            if e.class == ErrorClass::NotFound {
                return Err(ProviderError::invalid(format!(
                    "instance `{name}`: image family `{family}` does not exist in project `{project}`"
                ))
                .with_hint("use a catalog image (`ubuntu-24.04`, `debian-12`, ...) or an existing family"));
            }
            Err(e)
        }
    }
}

/// Create an instance and wait until Compute has made it. A name taken by an instance of
/// the same owner (a create whose answer was lost) is adopted; by another, a conflict.
pub async fn create(
    c: &Compute,
    ctx: &OpContext,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let zone = input(inputs, "zone")?;
    let name = input(inputs, "name")?;
    check_image(c, name, input(inputs, "image")?).await?;
    let body = body(inputs, owner)?;
    let what = format!("insert instance `{name}`");
    let rid = request_id(ctx, "insert", &id_of(&c.project, zone, name), &body);
    let instance: model::Instance =
        serde_json::from_value(body).map_err(|e| ProviderError::invalid(format!("{what}: {e}")))?;
    let sent = c
        .instances
        .insert()
        .set_project(&c.project)
        .set_zone(zone)
        .set_request_id(rid)
        .set_body(instance)
        .send()
        .await;
    match ops::json(sent, &what) {
        Ok(op) => {
            ops::wait(c, ctx, &what, op).await?;
        }
        Err(e) if e.class == ErrorClass::Conflict => {
            let live = get(c, zone, name)
                .await
                .map_err(|e| super::in_flight(e, "instance", name))?;
            if !owned(&live, owner) {
                return Err(ProviderError::new(
                    ErrorClass::Conflict,
                    format!("instance `{name}` in zone {zone} exists and overcast did not create it for `{}`", owner.resource),
                )
                .with_hint("delete or rename that instance, or give this resource another name"));
            }
        }
        Err(e) => return Err(e),
    }
    Ok(observed(&c.project, &get(c, zone, name).await?))
}

/// The instance of `name` if it carries `owner`'s labels.
pub async fn adopt(
    c: &Compute,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let live = get(c, input(inputs, "zone")?, input(inputs, "name")?).await?;
    Ok(owned(&live, owner).then(|| observed(&c.project, &live)))
}

async fn call(
    c: &Compute,
    ctx: &OpContext,
    what: &str,
    sent: Result<model::Operation, google_cloud_gax::error::Error>,
) -> Result<(), ProviderError> {
    let op = ops::json(sent, what)?;
    ops::wait(c, ctx, what, op).await.map(|_| ())
}

/// Stop, change the machine type, start: each call waited for.
pub async fn set_machine_type(
    c: &Compute,
    ctx: &OpContext,
    zone: &str,
    name: &str,
    machine_type: &str,
) -> Result<(), ProviderError> {
    // The numeric id in each call's `requestId`: a change of a later instance of the same
    // name is another call.
    let live_id = get(c, zone, name)
        .await?
        .get("id")
        .cloned()
        .unwrap_or_default();
    let id = format!("{}#{live_id}", id_of(&c.project, zone, name));
    let p = &c.project;
    ctx.progress("stopping to change the machine type");
    call(
        c,
        ctx,
        &format!("stop instance `{name}`"),
        c.instances
            .stop()
            .set_project(p)
            .set_zone(zone)
            .set_instance(name)
            .set_request_id(request_id(ctx, "stop", &id, &()))
            .send()
            .await,
    )
    .await?;
    let link = format!("zones/{zone}/machineTypes/{machine_type}");
    let req = model::InstancesSetMachineTypeRequest::new().set_machine_type(link.clone());
    call(
        c,
        ctx,
        &format!("set the machine type of instance `{name}` to {machine_type}"),
        c.instances
            .set_machine_type()
            .set_project(p)
            .set_zone(zone)
            .set_instance(name)
            .set_request_id(request_id(ctx, "setMachineType", &id, &link))
            .set_body(req)
            .send()
            .await,
    )
    .await?;
    ctx.progress("starting");
    call(
        c,
        ctx,
        &format!("start instance `{name}`"),
        c.instances
            .start()
            .set_project(p)
            .set_zone(zone)
            .set_instance(name)
            .set_request_id(request_id(ctx, "start", &id, &()))
            .send()
            .await,
    )
    .await
}

fn fingerprint_of(live: &Value, pointer: &str) -> Result<bytes::Bytes, ProviderError> {
    use base64::Engine as _;
    let text = live
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Compute writes bytes in URL-safe base64; the standard alphabet is accepted too.
    base64::engine::general_purpose::URL_SAFE
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .map(bytes::Bytes::from)
        .map_err(|e| ProviderError::fatal(format!("unreadable fingerprint `{text}`: {e}")))
}

/// Set the instance's metadata `startup-script` (other metadata kept), with the metadata
/// fingerprint of a fresh read; a 412 (changed meanwhile) is re-read and tried once more.
pub async fn set_startup(
    c: &Compute,
    ctx: &OpContext,
    zone: &str,
    name: &str,
    startup: &str,
) -> Result<(), ProviderError> {
    let id = id_of(&c.project, zone, name);
    let what = format!("set the startup script of instance `{name}`");
    let mut attempt = 0;
    loop {
        let live = get(c, zone, name).await?;
        let mut items: Vec<Value> = live
            .pointer("/metadata/items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| str_of(i, "key") != STARTUP_KEY)
            .collect();
        if !startup.is_empty() {
            items.push(json!({"key": STARTUP_KEY, "value": startup}));
        }
        let body = json!({"items": items, "fingerprint": live.pointer("/metadata/fingerprint")});
        let meta: model::Metadata = serde_json::from_value(body.clone())
            .map_err(|e| ProviderError::invalid(format!("{what}: {e}")))?;
        let sent = c
            .instances
            .set_metadata()
            .set_project(&c.project)
            .set_zone(zone)
            .set_instance(name)
            .set_request_id(request_id(ctx, "setMetadata", &id, &body))
            .set_body(meta)
            .send()
            .await;
        match call(c, ctx, &what, sent).await {
            Err(e) if e.class == ErrorClass::Precondition && attempt == 0 => attempt += 1,
            other => return other,
        }
    }
}

/// Set the instance's labels to `labels`. The label fingerprint (base64, as Compute
/// answers it) is `fingerprint` when given (what an earlier read saw), else a fresh read's; a 412 (stale fingerprint) is
/// re-read and tried once more.
pub async fn set_labels(
    c: &Compute,
    ctx: &OpContext,
    zone: &str,
    name: &str,
    labels: &HashMap<String, String>,
    fingerprint: Option<&str>,
) -> Result<(), ProviderError> {
    let id = id_of(&c.project, zone, name);
    let what = format!("set the labels of instance `{name}`");
    let mut known = fingerprint
        .map(|f| fingerprint_of(&json!({ "f": f }), "/f"))
        .transpose()?;
    let mut attempt = 0;
    loop {
        let fp = match known.take() {
            Some(fp) => fp,
            None => fingerprint_of(&get(c, zone, name).await?, "/labelFingerprint")?,
        };
        let req = model::InstancesSetLabelsRequest::new()
            .set_labels(labels.clone())
            .set_label_fingerprint(fp.clone());
        let rid = request_id(
            ctx,
            "setLabels",
            &id,
            &(labels.iter().collect::<BTreeMap<_, _>>(), fp.to_vec()),
        );
        let sent = c
            .instances
            .set_labels()
            .set_project(&c.project)
            .set_zone(zone)
            .set_instance(name)
            .set_request_id(rid)
            .set_body(req)
            .send()
            .await;
        match call(c, ctx, &what, sent).await {
            Err(e) if e.class == ErrorClass::Precondition && attempt == 0 => attempt += 1,
            other => return other,
        }
    }
}

/// Bring an instance to `inputs` in place; `resource` is its native address, written
/// into its owner label when it moved.
pub async fn update(
    c: &Compute,
    ctx: &OpContext,
    id: &str,
    resource: &str,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let (zone, name) = parse_id(id)?;
    let live = get(c, &zone, &name).await?;
    let now = observed(&c.project, &live);
    let want_type = input(inputs, "machine_type")?;
    if now.inputs.get("machine_type").and_then(Value::as_str) != Some(want_type) {
        set_machine_type(c, ctx, &zone, &name, want_type).await?;
    }
    let startup = inputs
        .get("startup")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if now
        .inputs
        .get("startup")
        .and_then(Value::as_str)
        .unwrap_or_default()
        != startup
    {
        set_startup(c, ctx, &zone, &name, startup).await?;
    }
    // The owner label follows the native's address (a resource renamed in the spec
    // keeps its instances).
    let labels = super::labels_of(&live);
    if let Some(owner) = overcast_core::labels::decode(&labels, &LabelRules::GCP)
        && owner.resource != resource
    {
        let moved = OwnerTags {
            resource: resource.to_string(),
            ..owner
        };
        let mut next: HashMap<String, String> = labels
            .into_iter()
            .filter(|(k, _)| !k.starts_with("overcast-"))
            .collect();
        next.extend(super::label_map(&moved));
        set_labels(
            c,
            ctx,
            &zone,
            &name,
            &next,
            Some(str_of(&live, "labelFingerprint")),
        )
        .await?;
    }
    Ok(observed(&c.project, &get(c, &zone, &name).await?))
}

/// Delete an instance and wait until it is gone (a 404 on its read: already gone).
pub async fn delete(c: &Compute, ctx: &OpContext, id: &str) -> Result<(), ProviderError> {
    let (zone, name) = parse_id(id)?;
    // The numeric id in the `requestId`: a retry deletes this instance, never a later one
    // of the same name.
    let live = get(c, &zone, &name).await?;
    let rid = request_id(ctx, "delete", id, &live.get("id"));
    call(
        c,
        ctx,
        &format!("delete instance `{name}`"),
        c.instances
            .delete()
            .set_project(&c.project)
            .set_zone(&zone)
            .set_instance(&name)
            .set_request_id(rid)
            .send()
            .await,
    )
    .await
}

/// Every instance of the target's zone, through every page.
pub async fn list(c: &Compute) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .instances
            .list()
            .set_project(&c.project)
            .set_zone(&c.zone)
            .set_or_clear_page_token(token.take())
            .send()
            .await
            .map_err(|e| err(&format!("list instances of zone {}", c.zone), e))?;
        let page = serde_json::to_value(page).unwrap_or(Value::Null);
        if let Some(items) = page.get("items").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        match page.get("nextPageToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_statuses_map() {
        let id = id_of("p", "us-central1-a", "vm");
        assert_eq!(
            parse_id(&id).expect("id"),
            ("us-central1-a".into(), "vm".into())
        );
        assert!(parse_id("vm").is_err());
        assert_eq!(live_status("RUNNING"), LiveStatus::Ready);
        assert!(matches!(
            live_status("STAGING"),
            LiveStatus::Provisioning(_)
        ));
        assert!(matches!(live_status("TERMINATED"), LiveStatus::Failed(_)));
    }
}
