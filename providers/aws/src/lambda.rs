//! `aws_lambda_function` (+ `aws_lambda_event_source_mapping` for queue triggers and
//! `aws_lambda_function_url` for http triggers). The code is a deterministic zip of the
//! source directory (sorted entries, fixed timestamps), so its SHA-256 equals Lambda's
//! `CodeSha256` exactly when the deployed code is the source: `read` reports that as
//! `code_in_sync`.

use std::collections::HashMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionUrlAuthType, LastUpdateStatus, Runtime,
};
use base64::Engine;
use overcast_core::archive::zip_dir;
use overcast_core::native::Observed;
use overcast_core::{Attrs, ErrorClass, OwnerTags, ProviderError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Clients;
use crate::errors;
use crate::util::{i32_of, s, wait_for};
use overcast_core::op::OpContext;

const URL_PERMISSION: &str = "overcast-function-url-public";

/// Lambda's `CodeSha256` of a zip: base64 of its SHA-256.
pub fn code_sha(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

fn env(inputs: &Attrs) -> HashMap<String, String> {
    inputs
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Lambda answers ResourceConflictException both for "exists" and for "an update is in
/// progress": the second is transient.
fn lambda_err<E>(
    op: &str,
    what: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> ProviderError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let mut err = errors::sdk(op, what, e);
    let m = err.message.to_ascii_lowercase();
    if m.contains("in progress") || m.contains("cannot be assumed") || m.contains("pending") {
        // A new role takes seconds to become assumable by Lambda; an update must finish first.
        err.class = ErrorClass::Retryable;
    }
    err
}

async fn zip_source(c: &Clients, inputs: &Attrs) -> Result<Vec<u8>, ProviderError> {
    let src = c.spec_dir.join(s(inputs, "source")?);
    tokio::task::spawn_blocking(move || zip_dir(&src))
        .await
        .map_err(|e| ProviderError::fatal(format!("zip task: {e}")))?
}

/// Create the function with its code, configuration and owner tags.
pub async fn create(
    ctx: &OpContext,
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = s(inputs, "name")?;
    let zip = zip_source(c, inputs).await?;
    let tags: HashMap<String, String> = owner
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let r = c
        .lambda
        .create_function()
        .function_name(name)
        .role(s(inputs, "role_arn")?)
        .runtime(Runtime::from(s(inputs, "runtime")?))
        .handler(s(inputs, "handler")?)
        .memory_size(i32_of(inputs, "memory")?)
        .timeout(i32_of(inputs, "timeout")?)
        .environment(
            Environment::builder()
                .set_variables(Some(env(inputs)))
                .build(),
        )
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .set_tags(Some(tags))
        .send()
        .await;
    if let Err(e) = r {
        let err = lambda_err("CreateFunction", name, e);
        // A retried create: the function exists and is ours; bring it to the inputs.
        if err.class == ErrorClass::Conflict && adopt(c, inputs, owner).await?.is_some() {
            return update(ctx, c, name, &Attrs::new(), inputs).await;
        }
        return Err(err);
    }
    read(c, name, inputs)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("function `{name}` not visible yet")))
}

async fn wait_updated(ctx: &OpContext, c: &Clients, name: &str) -> Result<(), ProviderError> {
    wait_for(
        ctx,
        &format!("function `{name}` to finish its update"),
        "update in progress",
        || async {
            let out = c
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| lambda_err("GetFunctionConfiguration", name, e))?;
            Ok((out.last_update_status() != Some(&LastUpdateStatus::InProgress)).then_some(()))
        },
    )
    .await
}

/// Update configuration and/or code in place.
pub async fn update(
    ctx: &OpContext,
    c: &Clients,
    name: &str,
    prior: &Attrs,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let config_keys = ["role_arn", "runtime", "handler", "memory", "timeout", "env"];
    if config_keys.iter().any(|k| prior.get(*k) != inputs.get(*k)) {
        c.lambda
            .update_function_configuration()
            .function_name(name)
            .role(s(inputs, "role_arn")?)
            .runtime(Runtime::from(s(inputs, "runtime")?))
            .handler(s(inputs, "handler")?)
            .memory_size(i32_of(inputs, "memory")?)
            .timeout(i32_of(inputs, "timeout")?)
            .environment(
                Environment::builder()
                    .set_variables(Some(env(inputs)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| lambda_err("UpdateFunctionConfiguration", name, e))?;
        wait_updated(ctx, c, name).await?;
    }
    let zip = zip_source(c, inputs).await?;
    let live = c
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| lambda_err("GetFunctionConfiguration", name, e))?;
    if live.code_sha256() != Some(code_sha(&zip).as_str()) {
        c.lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(zip))
            .send()
            .await
            .map_err(|e| lambda_err("UpdateFunctionCode", name, e))?;
        wait_updated(ctx, c, name).await?;
    }
    read(c, name, inputs)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("function `{name}` is gone")))
}

/// Read a function. `prior` gives the source directory, which only this machine knows.
pub async fn read(
    c: &Clients,
    name: &str,
    prior: &Attrs,
) -> Result<Option<Observed>, ProviderError> {
    let f = match c
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(f) => f,
        Err(e) => return errors::gone_as(lambda_err("GetFunctionConfiguration", name, e), None),
    };
    // The source may be gone from this machine (destroy from another checkout): no basis
    // to claim drift then.
    let in_sync = match zip_source(c, prior).await {
        Ok(zip) => f.code_sha256() == Some(code_sha(&zip).as_str()),
        Err(_) => true,
    };
    let env: serde_json::Map<String, Value> = f
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
        .unwrap_or_default();
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert("role_arn".into(), json!(f.role()));
    inputs.insert("runtime".into(), json!(f.runtime().map(|r| r.as_str())));
    inputs.insert("handler".into(), json!(f.handler()));
    inputs.insert(
        "source".into(),
        prior.get("source").cloned().unwrap_or(Value::Null),
    );
    inputs.insert("memory".into(), json!(f.memory_size()));
    inputs.insert("timeout".into(), json!(f.timeout()));
    inputs.insert("env".into(), Value::Object(env));
    inputs.insert("code_in_sync".into(), json!(in_sync));
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("arn".into(), json!(f.function_arn()));
    Ok(Some(Observed::new(name.to_string(), inputs, outputs)))
}

/// The function of this name if it carries the owner tags.
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let name = s(inputs, "name")?;
    let f = match c.lambda.get_function().function_name(name).send().await {
        Ok(f) => f,
        Err(e) => return errors::gone_as(lambda_err("GetFunction", name, e), None),
    };
    let owned = f.tags().is_some_and(|t| {
        crate::util::owned_by(t.iter().map(|(k, v)| (k.as_str(), v.as_str())), owner)
    });
    if owned {
        read(c, name, inputs).await
    } else {
        Ok(None)
    }
}

/// Delete the function.
pub async fn delete(c: &Clients, name: &str) -> Result<(), ProviderError> {
    match c.lambda.delete_function().function_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_as(lambda_err("DeleteFunction", name, e), ()),
    }
}

/// Invoke the function synchronously.
pub async fn invoke(c: &Clients, name: &str, payload: &Value) -> Result<Value, ProviderError> {
    let out = c
        .lambda
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload.to_string().into_bytes()))
        .send()
        .await
        .map_err(|e| lambda_err("Invoke", name, e))?;
    let body = out
        .payload()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let value: Value =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    match out.function_error() {
        Some(kind) => Err(ProviderError::fatal(format!(
            "function `{name}` failed ({kind}): {value}"
        ))),
        None => Ok(value),
    }
}

fn fn_name_of_arn(arn: &str) -> &str {
    // arn:aws:lambda:region:account:function:NAME[:qualifier]
    arn.split(':').nth(6).unwrap_or(arn)
}

/// Create the SQS event source mapping of a queue trigger (id: its UUID).
pub async fn create_mapping(c: &Clients, inputs: &Attrs) -> Result<Observed, ProviderError> {
    if let Some(found) = adopt_mapping(c, inputs).await? {
        return Ok(found);
    }
    let f = s(inputs, "function_name")?;
    let out = c
        .lambda
        .create_event_source_mapping()
        .function_name(f)
        .event_source_arn(s(inputs, "event_source_arn")?)
        .batch_size(i32_of(inputs, "batch_size")?)
        .send()
        .await
        .map_err(|e| lambda_err("CreateEventSourceMapping", f, e))?;
    let id = out
        .uuid()
        .ok_or_else(|| ProviderError::fatal("CreateEventSourceMapping returned no UUID"))?;
    read_mapping(c, id)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("mapping `{id}` not visible yet")))
}

/// Change the batch size in place.
pub async fn update_mapping(
    c: &Clients,
    id: &str,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    c.lambda
        .update_event_source_mapping()
        .uuid(id)
        .batch_size(i32_of(inputs, "batch_size")?)
        .send()
        .await
        .map_err(|e| lambda_err("UpdateEventSourceMapping", id, e))?;
    read_mapping(c, id)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("mapping `{id}` is gone")))
}

/// Read a mapping by UUID.
pub async fn read_mapping(c: &Clients, id: &str) -> Result<Option<Observed>, ProviderError> {
    let m = match c.lambda.get_event_source_mapping().uuid(id).send().await {
        Ok(m) => m,
        Err(e) => return errors::gone_as(lambda_err("GetEventSourceMapping", id, e), None),
    };
    let mut inputs = Attrs::new();
    inputs.insert(
        "function_name".into(),
        json!(m.function_arn().map(fn_name_of_arn)),
    );
    inputs.insert("event_source_arn".into(), json!(m.event_source_arn()));
    inputs.insert("batch_size".into(), json!(m.batch_size()));
    let mut outputs = Attrs::new();
    outputs.insert("uuid".into(), json!(id));
    outputs.insert("state".into(), json!(m.state()));
    Ok(Some(Observed::new(id.to_string(), inputs, outputs)))
}

/// The mapping between this function and this source, if there is one.
pub async fn adopt_mapping(c: &Clients, inputs: &Attrs) -> Result<Option<Observed>, ProviderError> {
    let f = s(inputs, "function_name")?;
    let src = s(inputs, "event_source_arn")?;
    let out = match c
        .lambda
        .list_event_source_mappings()
        .function_name(f)
        .event_source_arn(src)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => return errors::gone_as(lambda_err("ListEventSourceMappings", f, e), None),
    };
    match out.event_source_mappings().first().and_then(|m| m.uuid()) {
        Some(id) => read_mapping(c, id).await,
        None => Ok(None),
    }
}

/// Delete a mapping.
pub async fn delete_mapping(c: &Clients, id: &str) -> Result<(), ProviderError> {
    match c.lambda.delete_event_source_mapping().uuid(id).send().await {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_as(lambda_err("DeleteEventSourceMapping", id, e), ()),
    }
}

/// Create the public function URL (id: the function name) and the permission that lets
/// anyone call it.
pub async fn create_url(c: &Clients, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let f = s(inputs, "function_name")?;
    if let Some(found) = read_url(c, f).await? {
        return Ok(found);
    }
    c.lambda
        .create_function_url_config()
        .function_name(f)
        .auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .map_err(|e| lambda_err("CreateFunctionUrlConfig", f, e))?;
    let perm = c
        .lambda
        .add_permission()
        .function_name(f)
        .statement_id(URL_PERMISSION)
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .function_url_auth_type(FunctionUrlAuthType::None)
        .send()
        .await;
    if let Err(e) = perm {
        let err = lambda_err("AddPermission", f, e);
        if err.class != ErrorClass::Conflict {
            return Err(err);
        }
    }
    read_url(c, f)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("url of `{f}` not visible yet")))
}

/// Read a function URL by function name.
pub async fn read_url(c: &Clients, f: &str) -> Result<Option<Observed>, ProviderError> {
    let out = match c
        .lambda
        .get_function_url_config()
        .function_name(f)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => return errors::gone_as(lambda_err("GetFunctionUrlConfig", f, e), None),
    };
    let mut inputs = Attrs::new();
    inputs.insert("function_name".into(), json!(f));
    inputs.insert("auth_type".into(), json!(out.auth_type().as_str()));
    let mut outputs = Attrs::new();
    outputs.insert("url".into(), json!(out.function_url()));
    Ok(Some(Observed::new(f.to_string(), inputs, outputs)))
}

/// Delete a function URL and its permission.
pub async fn delete_url(c: &Clients, f: &str) -> Result<(), ProviderError> {
    if let Err(e) = c
        .lambda
        .remove_permission()
        .function_name(f)
        .statement_id(URL_PERMISSION)
        .send()
        .await
    {
        let err = lambda_err("RemovePermission", f, e);
        if err.class != ErrorClass::NotFound {
            return Err(err);
        }
    }
    match c
        .lambda
        .delete_function_url_config()
        .function_name(f)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_as(lambda_err("DeleteFunctionUrlConfig", f, e), ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_deterministic() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("main.py"),
            "def handler(e, c):\n    return e\n",
        )
        .expect("write");
        std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("lib/util.py"), "X = 1\n").expect("write");
        let a = zip_dir(dir.path()).expect("zip");
        let b = zip_dir(dir.path()).expect("zip");
        assert_eq!(code_sha(&a), code_sha(&b));
        std::fs::write(dir.path().join("lib/util.py"), "X = 2\n").expect("write");
        assert_ne!(code_sha(&a), code_sha(&zip_dir(dir.path()).expect("zip")));
        assert_eq!(
            fn_name_of_arn("arn:aws:lambda:us-east-1:123:function:f1"),
            "f1"
        );
    }
}
