//! `aws_iam_role`: a function's execution role, trusted by one service, with managed
//! policies attached. The id is the role name.

use overcast_core::native::Observed;
use overcast_core::{Attrs, ErrorClass, OwnerTags, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::errors;
use crate::util::s;

fn trust_policy(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    })
    .to_string()
}

fn policies(inputs: &Attrs) -> Vec<String> {
    let mut p: Vec<String> = inputs
        .get("policies")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    p.sort();
    p
}

/// IAM returns policy documents URL-encoded (RFC 3986); emulators often do not.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Create the role (or take over the one a retried create left), then attach its policies.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = s(inputs, "name")?;
    let tags = owner
        .pairs()
        .iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .map_err(|e| errors::build("tag", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let r = c
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust_policy(s(inputs, "service")?))
        .set_tags(Some(tags))
        .send()
        .await;
    if let Err(e) = r {
        let err = errors::sdk("CreateRole", name, e);
        if err.class != ErrorClass::Conflict || adopt(c, inputs, owner).await?.is_none() {
            return Err(err);
        }
    }
    sync_policies(c, name, &[], &policies(inputs)).await?;
    read(c, name)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("role `{name}` not visible yet")))
}

async fn sync_policies(
    c: &Clients,
    name: &str,
    before: &[String],
    after: &[String],
) -> Result<(), ProviderError> {
    for p in after.iter().filter(|p| !before.contains(p)) {
        c.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(p)
            .send()
            .await
            .map_err(|e| errors::sdk("AttachRolePolicy", name, e))?;
    }
    for p in before.iter().filter(|p| !after.contains(p)) {
        match c
            .iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(p)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if errors::code(&e) == Some("NoSuchEntity") => {}
            Err(e) => return Err(errors::sdk("DetachRolePolicy", name, e)),
        }
    }
    Ok(())
}

async fn attached(c: &Clients, name: &str) -> Result<Vec<String>, ProviderError> {
    let mut out = Vec::new();
    let mut pages = c
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListAttachedRolePolicies", name, e))?;
        out.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
    }
    out.sort();
    Ok(out)
}

/// Attach and detach policies to match.
pub async fn update(c: &Clients, name: &str, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let before = attached(c, name).await?;
    sync_policies(c, name, &before, &policies(inputs)).await?;
    read(c, name)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("role `{name}` is gone")))
}

/// Read a role by name.
pub async fn read(c: &Clients, name: &str) -> Result<Option<Observed>, ProviderError> {
    let role = match c.iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if errors::code(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(errors::sdk("GetRole", name, e)),
    };
    let Some(role) = role else { return Ok(None) };
    let doc = role
        .assume_role_policy_document()
        .map(percent_decode)
        .unwrap_or_default();
    let doc: Value = serde_json::from_str(&doc).unwrap_or(Value::Null);
    let service = doc
        .pointer("/Statement/0/Principal/Service")
        .map(|v| match v {
            Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        })
        .unwrap_or(Value::Null);
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(role.role_name()));
    inputs.insert("service".into(), service);
    inputs.insert("policies".into(), json!(attached(c, name).await?));
    let mut outputs = Attrs::new();
    outputs.insert("arn".into(), json!(role.arn()));
    outputs.insert("name".into(), json!(role.role_name()));
    Ok(Some(Observed::new(name.to_string(), inputs, outputs)))
}

/// The role of this name if it carries the owner tags.
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let name = s(inputs, "name")?;
    let tags = match c.iam.list_role_tags().role_name(name).send().await {
        Ok(out) => out.tags,
        Err(e) if errors::code(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(errors::sdk("ListRoleTags", name, e)),
    };
    if crate::util::owned_by(tags.iter().map(|t| (t.key(), t.value())), owner) {
        read(c, name).await
    } else {
        Ok(None)
    }
}

/// Detach the role's managed policies, delete its inline policies, take it out of its
/// instance profiles (IAM refuses to delete a role with any of these), then delete it. The
/// instance profiles themselves stay: they are not a type overcast discovers.
pub async fn delete(c: &Clients, name: &str) -> Result<(), ProviderError> {
    let before = match attached(c, name).await {
        Ok(p) => p,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    sync_policies(c, name, &before, &[]).await?;
    delete_inline_policies(c, name).await?;
    leave_instance_profiles(c, name).await?;
    match c.iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if errors::code(&e) == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(errors::sdk("DeleteRole", name, e)),
    }
}

async fn delete_inline_policies(c: &Clients, name: &str) -> Result<(), ProviderError> {
    let mut pages = c
        .iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .send();
    let mut inline = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListRolePolicies", name, e))?;
        inline.extend(page.policy_names().iter().cloned());
    }
    for p in inline {
        match c
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(&p)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if errors::code(&e) == Some("NoSuchEntity") => {}
            Err(e) => return Err(errors::sdk("DeleteRolePolicy", name, e)),
        }
    }
    Ok(())
}

async fn leave_instance_profiles(c: &Clients, name: &str) -> Result<(), ProviderError> {
    let mut pages = c
        .iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .send();
    let mut profiles = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListInstanceProfilesForRole", name, e))?;
        profiles.extend(
            page.instance_profiles()
                .iter()
                .map(|p| p.instance_profile_name().to_string()),
        );
    }
    for p in profiles {
        match c
            .iam
            .remove_role_from_instance_profile()
            .role_name(name)
            .instance_profile_name(&p)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if errors::code(&e) == Some("NoSuchEntity") => {}
            Err(e) => return Err(errors::sdk("RemoveRoleFromInstanceProfile", name, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn policy_documents_are_url_decoded() {
        assert_eq!(super::percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(super::percent_decode("{\"a\":1}"), "{\"a\":1}");
    }
}
