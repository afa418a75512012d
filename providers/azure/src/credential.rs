//! Credentials: a chain in the order of the Azure SDKs' `DefaultAzureCredential`, built from
//! azure_identity's credentials (azure_identity 1.0 ships the parts, not the chain).
//!
//! 1. a service principal in the environment (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
//!    `AZURE_CLIENT_SECRET`);
//! 2. workload identity (`AZURE_FEDERATED_TOKEN_FILE` with the tenant and client ids);
//! 3. a managed identity, where the environment says there is one (`IDENTITY_ENDPOINT` of
//!    App Service and Functions, or `OVERCAST_AZURE_MANAGED_IDENTITY=1` on a VM, whose
//!    metadata endpoint is otherwise not probed: on a laptop it only costs a timeout);
//! 4. the Azure CLI's login (`az login`).
//!
//! The first source that is configured is used; when none yields a token, the error names
//! every source tried and why each failed, so the user knows what to set.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use overcast_core::{ErrorClass, ProviderError};
use tokio::sync::Mutex;

/// Where credentials are looked for, for errors.
pub const SOURCES: &str = "the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), \
     workload identity (AZURE_FEDERATED_TOKEN_FILE), a managed identity (IDENTITY_ENDPOINT, or \
     OVERCAST_AZURE_MANAGED_IDENTITY=1 on a VM), then the Azure CLI (`az login`)";

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// One source of the chain: its name and the credential, or why it cannot be built.
type Source = (&'static str, Result<Arc<dyn TokenCredential>, String>);

/// The sources this environment configures, in order.
fn sources() -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    let tenant = env("AZURE_TENANT_ID");
    let client = env("AZURE_CLIENT_ID");
    if let (Some(t), Some(c), Some(secret)) = (&tenant, &client, env("AZURE_CLIENT_SECRET")) {
        out.push((
            "environment service principal",
            ClientSecretCredential::new(t, c.clone(), Secret::new(secret), None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
        ));
    }
    if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        out.push((
            "workload identity",
            WorkloadIdentityCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
        ));
    }
    if env("IDENTITY_ENDPOINT").is_some()
        || env("OVERCAST_AZURE_MANAGED_IDENTITY").as_deref() == Some("1")
    {
        out.push((
            "managed identity",
            ManagedIdentityCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
        ));
    }
    out.push((
        "Azure CLI",
        AzureCliCredential::new(None)
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string()),
    ));
    out
}

/// The chain: tries each source until one yields a token, then keeps that one.
#[derive(Debug, Default)]
pub struct Chain {
    chosen: Mutex<Option<Arc<dyn TokenCredential>>>,
}

impl Chain {
    /// A chain that looks at the environment on first use.
    pub fn new() -> Arc<Chain> {
        Arc::new(Chain::default())
    }

    /// A token for `scope`, or an error naming every source tried.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, ProviderError> {
        self.get_token(&[scope], None).await.map_err(|e| {
            ProviderError::new(ErrorClass::Auth, format!("no Azure credentials: {e}"))
                .with_hint("run `az login`, or export AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
        })
    }
}

#[async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let mut chosen = self.chosen.lock().await;
        if let Some(c) = chosen.as_ref() {
            return c.get_token(scopes, options).await;
        }
        let mut tried = Vec::new();
        for (name, source) in sources() {
            let credential = match source {
                Ok(c) => c,
                Err(e) => {
                    tried.push(format!("{name}: {e}"));
                    continue;
                }
            };
            match credential.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    *chosen = Some(credential);
                    return Ok(token);
                }
                Err(e) => tried.push(format!("{name}: {e}")),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!(
                "tried {}; none gave a token ({SOURCES} are looked for)",
                tried.join("; ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no credential configured (the test machine: no service principal, no Azure
    /// CLI), the one error names every source that was tried and what to do.
    #[tokio::test]
    async fn no_credentials_is_one_error_naming_every_source() {
        let configured = [
            "AZURE_CLIENT_SECRET",
            "AZURE_FEDERATED_TOKEN_FILE",
            "IDENTITY_ENDPOINT",
        ]
        .iter()
        .any(|k| env(k).is_some());
        let has_cli = std::process::Command::new("az")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if configured || has_cli {
            // A developer machine with credentials: nothing to prove here.
            return;
        }
        let e = Chain::new()
            .token("https://management.azure.com/.default")
            .await
            .expect_err("no credentials here");
        assert_eq!(e.class, ErrorClass::Auth);
        assert!(e.message.contains("Azure CLI"), "{}", e.message);
        assert!(e.message.contains("AZURE_CLIENT_SECRET"), "{}", e.message);
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("az login")),
            "{:?}",
            e.hint
        );
    }
}
