//! `aws_eventbridge_schedule` (a function's `schedule` trigger): an EventBridge rule with a
//! schedule expression, the function as its one target, and the permission that lets
//! EventBridge invoke it. The id is the rule name. `schedule` arrives as an EventBridge
//! expression: `expand` translates the spec's neutral schedule (`every 5m`, five-field
//! cron) through the catalog, and passes EventBridge syntax as written.

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};
use overcast_core::native::Observed;
use overcast_core::{Attrs, ErrorClass, OwnerTags, ProviderError};
use serde_json::json;

use crate::config::Clients;
use crate::errors;
use crate::util::s;

const TARGET_ID: &str = "function";

async fn put(c: &Clients, inputs: &Attrs, tags: Option<Vec<Tag>>) -> Result<(), ProviderError> {
    let (name, expr, arn) = (
        s(inputs, "name")?,
        s(inputs, "schedule")?,
        s(inputs, "function_arn")?,
    );
    let rule = c
        .events
        .put_rule()
        .name(name)
        .schedule_expression(expr)
        .state(RuleState::Enabled)
        .set_tags(tags)
        .send()
        .await
        .map_err(|e| errors::sdk("PutRule", name, e))?;
    let perm = c
        .lambda
        .add_permission()
        .function_name(arn)
        .statement_id(name)
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .set_source_arn(rule.rule_arn().map(str::to_string))
        .send()
        .await;
    if let Err(e) = perm {
        let err = errors::sdk("AddPermission", arn, e);
        // Granted by an earlier attempt, or for the previous expression of this rule.
        if err.class != ErrorClass::Conflict {
            return Err(err);
        }
    }
    let target = Target::builder()
        .id(TARGET_ID)
        .arn(arn)
        .build()
        .map_err(|e| errors::build("target", e))?;
    let out = c
        .events
        .put_targets()
        .rule(name)
        .targets(target)
        .send()
        .await
        .map_err(|e| errors::sdk("PutTargets", name, e))?;
    if out.failed_entry_count() > 0 {
        let why = out
            .failed_entries()
            .first()
            .and_then(|f| f.error_message())
            .unwrap_or("unknown");
        return Err(ProviderError::fatal(format!("PutTargets `{name}`: {why}")));
    }
    Ok(())
}

/// Create the rule (tagged), its target and permission.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let tags = owner
        .pairs()
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .map_err(|e| errors::build("tag", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    put(c, inputs, Some(tags)).await?;
    let name = s(inputs, "name")?;
    read(c, name)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("rule `{name}` not visible yet")))
}

/// Change the expression or the function in place.
pub async fn update(c: &Clients, inputs: &Attrs) -> Result<Observed, ProviderError> {
    put(c, inputs, None).await?;
    let name = s(inputs, "name")?;
    read(c, name)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("rule `{name}` is gone")))
}

/// Read a rule and its target.
pub async fn read(c: &Clients, name: &str) -> Result<Option<Observed>, ProviderError> {
    let rule = match c.events.describe_rule().name(name).send().await {
        Ok(r) => r,
        Err(e) => return errors::gone_as(errors::sdk("DescribeRule", name, e), None),
    };
    let targets = c
        .events
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .map_err(|e| errors::sdk("ListTargetsByRule", name, e))?;
    let arn = targets
        .targets()
        .iter()
        .find(|t| t.id() == TARGET_ID)
        .map(|t| t.arn().to_string());
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert("schedule".into(), json!(rule.schedule_expression()));
    inputs.insert("function_arn".into(), json!(arn));
    let mut outputs = Attrs::new();
    outputs.insert("arn".into(), json!(rule.arn()));
    outputs.insert("state".into(), json!(rule.state().map(|s| s.as_str())));
    Ok(Some(Observed::new(name.to_string(), inputs, outputs)))
}

/// The rule of this name if it carries the owner tags.
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let name = s(inputs, "name")?;
    let Some(found) = read(c, name).await? else {
        return Ok(None);
    };
    let Some(arn) = found.outputs.get("arn").and_then(|a| a.as_str()) else {
        return Ok(None);
    };
    let tags = c
        .events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| errors::sdk("ListTagsForResource", arn, e))?;
    let owned = crate::util::owned_by(tags.tags().iter().map(|t| (t.key(), t.value())), owner);
    Ok(owned.then_some(found))
}

/// Remove the rule's targets, the rule and the permission.
/// A rule found by discovery has no recorded function: then only the target and the rule
/// are removed.
pub async fn delete(c: &Clients, inputs: &Attrs) -> Result<(), ProviderError> {
    let name = s(inputs, "name")?;
    let gone = |r: Result<(), ProviderError>| match r {
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        other => other,
    };
    // Every target, not only overcast's: EventBridge refuses to delete a rule with any.
    let mut ids = vec![TARGET_ID.to_string()];
    let mut token = None;
    loop {
        let page = match c
            .events
            .list_targets_by_rule()
            .rule(name)
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                gone(Err(errors::sdk("ListTargetsByRule", name, e)))?;
                break;
            }
        };
        ids.extend(page.targets().iter().map(|t| t.id().to_string()));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    ids.sort();
    ids.dedup();
    gone(
        c.events
            .remove_targets()
            .rule(name)
            .set_ids(Some(ids))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("RemoveTargets", name, e)),
    )?;
    gone(
        c.events
            .delete_rule()
            .name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("DeleteRule", name, e)),
    )?;
    let Some(arn) = crate::util::opt_s(inputs, "function_arn").filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    gone(
        c.lambda
            .remove_permission()
            .function_name(arn)
            .statement_id(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("RemovePermission", arn, e)),
    )
}
