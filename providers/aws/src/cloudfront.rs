//! `aws_cloudfront_origin_access_control` and `aws_cloudfront_distribution` (cdn).
//! A bucket origin is reached through an origin access control (the bucket stays private;
//! `aws_s3_bucket_cdn_access` grants this distribution read access); a compute origin is
//! a custom HTTP origin. Every change is an in-place UpdateDistribution with the ETag;
//! a delete disables the distribution, waits until it is deployed, then deletes, as AWS
//! requires.

use aws_sdk_cloudfront::types::{
    CookiePreference, CustomOriginConfig, DefaultCacheBehavior, DistributionConfig,
    DistributionConfigWithTags, ForwardedValues, ItemSelection, Origin, OriginAccessControlConfig,
    OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, OriginProtocolPolicy, Origins, S3OriginConfig, Tag, Tags,
    ViewerProtocolPolicy,
};
use overcast_core::native::Observed;
use overcast_core::{Attrs, ErrorClass, OwnerTags, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::errors;
use crate::names::short_hash;
use crate::util::{s, u, wait_for};
use overcast_core::op::OpContext;

const ORIGIN_ID: &str = "origin";
/// Edge caches keep responses at most a year, whatever `cache_ttl` says.
const MAX_TTL: i64 = 31_536_000;

fn b(what: &str) -> impl Fn(aws_smithy_types::error::operation::BuildError) -> ProviderError + '_ {
    move |e| errors::build(what, e)
}

// The legacy TTL fields (deprecated in favour of cache policies) map `cache_ttl` directly;
// a cache policy would be one more native to manage for the same effect.
#[allow(deprecated)]
fn config(
    inputs: &Attrs,
    caller_reference: &str,
    enabled: bool,
) -> Result<DistributionConfig, ProviderError> {
    let domain = s(inputs, "origin_domain")?;
    let mut origin = Origin::builder().id(ORIGIN_ID).domain_name(domain);
    if s(inputs, "origin_kind")? == "s3" {
        // With an origin access control the legacy identity stays empty.
        origin = origin
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .origin_access_control_id(s(inputs, "oac_id")?);
    } else {
        origin = origin.custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpOnly)
                .build()
                .map_err(b("custom origin"))?,
        );
    }
    let ttl = i64::try_from(u(inputs, "cache_ttl")?)
        .unwrap_or(MAX_TTL)
        .min(MAX_TTL);
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id(ORIGIN_ID)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .forwarded_values(
            ForwardedValues::builder()
                .query_string(false)
                .cookies(
                    CookiePreference::builder()
                        .forward(ItemSelection::None)
                        .build()
                        .map_err(b("cookies"))?,
                )
                .build()
                .map_err(b("forwarded values"))?,
        )
        .min_ttl(0)
        .default_ttl(ttl)
        .max_ttl(MAX_TTL.max(ttl))
        .build()
        .map_err(b("cache behavior"))?;
    DistributionConfig::builder()
        .caller_reference(caller_reference)
        .comment(s(inputs, "comment")?)
        .enabled(enabled)
        .default_root_object(s(inputs, "default_object")?)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin.build().map_err(b("origin"))?)
                .build()
                .map_err(b("origins"))?,
        )
        .default_cache_behavior(behavior)
        .build()
        .map_err(b("distribution config"))
}

#[allow(deprecated)]
fn observed(d: &aws_sdk_cloudfront::types::Distribution, prior: Option<&Attrs>) -> Observed {
    let cfg = d.distribution_config();
    let origin = cfg
        .and_then(|c| c.origins())
        .and_then(|o| o.items().first());
    // AWS returns exactly one of the two configs; moto returns neither, and then the last
    // applied kind is all there is to report.
    let kind = match origin.map(|o| {
        (
            o.s3_origin_config().is_some(),
            o.custom_origin_config().is_some(),
        )
    }) {
        Some((true, _)) => json!("s3"),
        Some((false, true)) => json!("custom"),
        _ => prior
            .and_then(|p| p.get("origin_kind"))
            .cloned()
            .unwrap_or(Value::Null),
    };
    let behavior = cfg.and_then(|c| c.default_cache_behavior());
    // moto drops `OriginAccessControlId` (AWS returns it, empty when unset): when the field
    // is absent altogether, the last applied value is all there is to report.
    let oac = match origin.and_then(|o| o.origin_access_control_id()) {
        Some(id) if !id.is_empty() => json!(id),
        Some(_) => Value::Null,
        None => prior
            .and_then(|p| p.get("oac_id"))
            .cloned()
            .unwrap_or(Value::Null),
    };
    let mut inputs = Attrs::new();
    inputs.insert("comment".into(), json!(cfg.map(|c| c.comment())));
    inputs.insert(
        "origin_domain".into(),
        json!(origin.map(|o| o.domain_name())),
    );
    inputs.insert("origin_kind".into(), json!(kind));
    inputs.insert("oac_id".into(), json!(oac));
    inputs.insert(
        "cache_ttl".into(),
        json!(behavior.and_then(|b| b.default_ttl())),
    );
    inputs.insert(
        "default_object".into(),
        json!(cfg.and_then(|c| c.default_root_object())),
    );
    let mut outputs = Attrs::new();
    outputs.insert("arn".into(), json!(d.arn()));
    outputs.insert("domain".into(), json!(d.domain_name()));
    outputs.insert("url".into(), json!(format!("https://{}", d.domain_name())));
    outputs.insert("status".into(), json!(d.status()));
    outputs.insert("enabled".into(), json!(cfg.map(|c| c.enabled())));
    Observed::new(d.id().to_string(), inputs, outputs)
}

/// Create the distribution with its owner tags. The caller reference is a hash of the
/// owner and the inputs, so a retried create returns the same distribution.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let reference = short_hash(&[
        &owner.stack,
        &owner.target,
        &owner.resource,
        &Value::Object(inputs.clone()).to_string(),
    ]);
    let tags = owner
        .pairs()
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().map_err(b("tag")))
        .collect::<Result<Vec<_>, _>>()?;
    let with_tags = DistributionConfigWithTags::builder()
        .distribution_config(config(inputs, &reference, true)?)
        .tags(Tags::builder().set_items(Some(tags)).build())
        .build();
    let out = c
        .cloudfront
        .create_distribution_with_tags()
        .distribution_config_with_tags(with_tags)
        .send()
        .await
        .map_err(|e| errors::sdk("CreateDistributionWithTags", &owner.resource, e))?;
    let d = out
        .distribution()
        .ok_or_else(|| ProviderError::fatal("CreateDistribution returned no distribution"))?;
    Ok(observed(d, Some(inputs)))
}

/// Read a distribution by id (`prior`: the last applied inputs).
pub async fn read(c: &Clients, id: &str, prior: &Attrs) -> Result<Option<Observed>, ProviderError> {
    match c.cloudfront.get_distribution().id(id).send().await {
        Ok(out) => Ok(out.distribution().map(|d| observed(d, Some(prior)))),
        Err(e) => errors::gone_as(errors::sdk("GetDistribution", id, e), None),
    }
}

async fn current(c: &Clients, id: &str) -> Result<(DistributionConfig, String), ProviderError> {
    let out = c
        .cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(|e| errors::sdk("GetDistributionConfig", id, e))?;
    let etag = out.e_tag().unwrap_or_default().to_string();
    let cfg = out
        .distribution_config
        .ok_or_else(|| ProviderError::fatal(format!("distribution `{id}` has no config")))?;
    Ok((cfg, etag))
}

/// Apply new inputs in place (UpdateDistribution with the current ETag).
pub async fn update(c: &Clients, id: &str, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let (cfg, etag) = current(c, id).await?;
    let next = config(inputs, cfg.caller_reference(), cfg.enabled())?;
    c.cloudfront
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(next)
        .send()
        .await
        .map_err(|e| errors::sdk("UpdateDistribution", id, e))?;
    read(c, id, inputs)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("distribution `{id}` is gone")))
}

/// Disable, wait until deployed, delete.
pub async fn delete(ctx: &OpContext, c: &Clients, id: &str) -> Result<(), ProviderError> {
    let (cfg, etag) = match current(c, id).await {
        Ok(x) => x,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if cfg.enabled() {
        let mut disabled = cfg.clone();
        disabled.enabled = false;
        c.cloudfront
            .update_distribution()
            .id(id)
            .if_match(etag)
            .distribution_config(disabled)
            .send()
            .await
            .map_err(|e| errors::sdk("UpdateDistribution", id, e))?;
    }
    // Disabling takes minutes on AWS; the engine's write timeout bounds the wait.
    let etag = wait_for(
        ctx,
        &format!("distribution `{id}` to be disabled and deployed"),
        "disabling (deploying to edge locations)",
        || async {
            let out = c
                .cloudfront
                .get_distribution()
                .id(id)
                .send()
                .await
                .map_err(|e| errors::sdk("GetDistribution", id, e))?;
            let d = out.distribution();
            let done = d.is_some_and(|d| {
                d.status() == "Deployed" && d.distribution_config().is_some_and(|c| !c.enabled())
            });
            Ok(done.then(|| out.e_tag().unwrap_or_default().to_string()))
        },
    )
    .await?;
    match c
        .cloudfront
        .delete_distribution()
        .id(id)
        .if_match(etag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_is_ok(errors::sdk("DeleteDistribution", id, e)),
    }
}

/// The distribution carrying the owner tags, if any (paginated list, tags per item).
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .cloudfront
            .list_distributions()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| errors::sdk("ListDistributions", &owner.resource, e))?;
        let Some(list) = out.distribution_list() else {
            return Ok(None);
        };
        for d in list.items() {
            let tags = c
                .cloudfront
                .list_tags_for_resource()
                .resource(d.arn())
                .send()
                .await
                .map_err(|e| errors::sdk("ListTagsForResource", d.arn(), e))?;
            let items = tags.tags().map(|t| t.items()).unwrap_or_default();
            if crate::util::owned_by(
                items
                    .iter()
                    .map(|t| (t.key(), t.value().unwrap_or_default())),
                owner,
            ) {
                return read(c, d.id(), inputs).await;
            }
        }
        match list.next_marker().filter(|_| list.is_truncated()) {
            Some(m) => marker = Some(m.to_string()),
            None => return Ok(None),
        }
    }
}

/// Create an origin access control for S3 (signs every request with SigV4).
pub async fn create_oac(c: &Clients, inputs: &Attrs) -> Result<Observed, ProviderError> {
    if let Some(found) = adopt_oac(c, inputs).await? {
        return Ok(found);
    }
    let name = s(inputs, "name")?;
    let cfg = OriginAccessControlConfig::builder()
        .name(name)
        .description("overcast: read access of a distribution to its bucket")
        .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
        .signing_behavior(OriginAccessControlSigningBehaviors::Always)
        .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
        .build()
        .map_err(b("origin access control"))?;
    let out = c
        .cloudfront
        .create_origin_access_control()
        .origin_access_control_config(cfg)
        .send()
        .await
        .map_err(|e| errors::sdk("CreateOriginAccessControl", name, e))?;
    let id = out
        .origin_access_control()
        .map(|o| o.id().to_string())
        .ok_or_else(|| ProviderError::fatal("no OAC id returned"))?;
    read_oac(c, &id)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("OAC `{id}` not visible yet")))
}

/// Read an origin access control by id.
pub async fn read_oac(c: &Clients, id: &str) -> Result<Option<Observed>, ProviderError> {
    let out = match c.cloudfront.get_origin_access_control().id(id).send().await {
        Ok(o) => o,
        Err(e) => return errors::gone_as(errors::sdk("GetOriginAccessControl", id, e), None),
    };
    let name = out
        .origin_access_control()
        .and_then(|o| o.origin_access_control_config())
        .map(|c| c.name().to_string());
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(id));
    Ok(Some(Observed::new(id.to_string(), inputs, outputs)))
}

/// The OAC of this name (OACs carry no tags; the name is deterministic).
pub async fn adopt_oac(c: &Clients, inputs: &Attrs) -> Result<Option<Observed>, ProviderError> {
    let name = s(inputs, "name")?;
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .cloudfront
            .list_origin_access_controls()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| errors::sdk("ListOriginAccessControls", name, e))?;
        let Some(list) = out.origin_access_control_list() else {
            return Ok(None);
        };
        if let Some(o) = list.items().iter().find(|o| o.name() == name) {
            return read_oac(c, o.id()).await;
        }
        match list.next_marker().filter(|_| list.is_truncated()) {
            Some(m) => marker = Some(m.to_string()),
            None => return Ok(None),
        }
    }
}

/// Delete an origin access control (needs its ETag).
pub async fn delete_oac(c: &Clients, id: &str) -> Result<(), ProviderError> {
    let etag = match c.cloudfront.get_origin_access_control().id(id).send().await {
        Ok(o) => o.e_tag().unwrap_or_default().to_string(),
        Err(e) => return errors::gone_as(errors::sdk("GetOriginAccessControl", id, e), ()),
    };
    match c
        .cloudfront
        .delete_origin_access_control()
        .id(id)
        .if_match(etag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_is_ok(errors::sdk("DeleteOriginAccessControl", id, e)),
    }
}
