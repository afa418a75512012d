//! A `function` resource as Azure natives: its storage account and packages container, its
//! Consumption plan and its function app (see [`super`]).

use std::collections::BTreeMap;

use overcast_core::catalog::schedule::Schedule;
use overcast_core::catalog::{Cloud, catalog};
use overcast_core::kinds::{FunctionProps, TriggerType};
use overcast_core::names::short_hash;
use overcast_core::{AbstractResource, Kind, NativeSpec, ProviderError};
use serde_json::{Value, json};

use super::PACKAGES;
use crate::expand::{Ctx, attrs, types};

/// Linux Consumption runs an invocation for at most 10 minutes (`functionTimeout`).
pub const CONSUMPTION_TIMEOUT_MAX_S: u64 = 600;
/// The newest language versions Linux Consumption runs (it gets no new ones).
const CONSUMPTION_LAST: &[(&str, &str)] = &[("python", "3.12"), ("node", "22")];
/// App settings overcast writes itself; `env` may not set them.
pub const MANAGED_SETTINGS: &[&str] = &[
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage",
    "WEBSITE_RUN_FROM_PACKAGE",
    super::app::SERVICEBUS_SETTING,
    super::app::BLOB_SETTING,
];

/// A function app's name: a global DNS label of 2 to 60 characters, so the subscription is
/// part of its hash (two subscriptions never derive the same name).
pub fn app_name(ctx: &Ctx<'_>, resource: &str) -> String {
    let base = ctx.name(resource, "", 53);
    format!(
        "{base}{}",
        &short_hash(&[ctx.subscription, ctx.stack, ctx.target, resource])[..6]
    )
}

/// The function's name inside its app (`/api/<name>`): the resource's name in the
/// characters Azure Functions allows (a letter first, then letters, digits, `-` and `_`).
pub fn function_name(resource: &str) -> String {
    let mut out: String = resource
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(127)
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 'f');
        out.truncate(127);
    }
    out
}

/// `python|3.12` as `linuxFxVersion` writes it: `Python|3.12`.
pub fn linux_fx(catalog_id: &str) -> String {
    let (stack, version) = catalog_id.split_once('|').unwrap_or((catalog_id, ""));
    let mut chars = stack.chars();
    let stack: String = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .chain(chars)
        .collect();
    format!("{stack}|{version}")
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

fn whole_ref<'a>(s: &str, kinds: &'a BTreeMap<String, Kind>) -> Option<(&'a String, Kind)> {
    let name = overcast_core::refs::whole_resource_ref(s)?;
    kinds.get_key_value(name).map(|(n, k)| (n, *k))
}

/// The trigger as the app native holds it.
fn trigger(
    name: &str,
    p: &FunctionProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<Value, ProviderError> {
    let Some(t) = &p.trigger else {
        return Ok(json!({"type": "http"}));
    };
    Ok(match t.kind {
        TriggerType::Http => json!({"type": "http"}),
        TriggerType::Schedule => {
            let written = t.schedule.as_deref().ok_or_else(|| {
                ProviderError::invalid(format!(
                    "function `{name}`: a schedule trigger needs `schedule`, e.g. `every 5m`"
                ))
            })?;
            let ncrontab = Schedule::parse(written)
                .and_then(|s| s.for_cloud(Cloud::Azure))
                .map_err(|e| {
                    ProviderError::invalid(format!(
                        "function `{name}`: schedule `{written}`: {}",
                        e.message
                    ))
                    .with_hint(format!("write {}", e.expected))
                })?;
            json!({"type": "schedule", "schedule": ncrontab})
        }
        TriggerType::Queue => match t.source.as_deref().and_then(|s| whole_ref(s, kinds)) {
            // Names and sessions come from the queue's natives: the app depends on them.
            Some((q, Kind::Queue)) => json!({
                "type": "queue",
                "namespace": format!("${{{q}.namespace.name}}"),
                "queue": format!("${{{q}.queue.name}}"),
                "sessions": format!("${{{q}.queue.sessions}}"),
            }),
            _ => {
                return Err(ProviderError::invalid(format!(
                    "function `{name}`: a queue trigger needs `source: ${{<queue resource>}}`"
                )));
            }
        },
        TriggerType::Storage => match t.source.as_deref().and_then(|s| whole_ref(s, kinds)) {
            Some((s, Kind::Storage)) => json!({
                "type": "storage",
                "account": format!("${{{s}.account.name}}"),
                "container": format!("${{{s}.container.name}}"),
            }),
            _ => {
                return Err(ProviderError::invalid(format!(
                    "function `{name}`: a storage trigger needs `source: ${{<storage resource>}}`"
                )));
            }
        },
    })
}

/// The handler's module and function (`main.handler`).
fn handler_parts<'a>(name: &str, handler: &'a str) -> Result<(&'a str, &'a str), ProviderError> {
    handler
        .rsplit_once('.')
        .filter(|(m, f)| !m.is_empty() && !f.is_empty())
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "function `{name}`: handler `{handler}` is not `module.function`"
            ))
            .with_hint("write e.g. `handler: main.handler`")
        })
}

/// `env` as app settings: names Linux accepts (letters, digits, `_`), none of overcast's.
fn check_env(name: &str, p: &FunctionProps) -> Result<(), ProviderError> {
    for key in p.env.keys() {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ProviderError::invalid(format!(
                "function `{name}`: env `{key}` is not a name Azure Functions on Linux takes \
                 (letters, digits and `_`)"
            )));
        }
        if MANAGED_SETTINGS.iter().any(|m| m.eq_ignore_ascii_case(key)) {
            return Err(ProviderError::invalid(format!(
                "function `{name}`: env `{key}` is an app setting overcast sets itself"
            )));
        }
    }
    Ok(())
}

/// Expand a function resource.
pub fn expand(
    ctx: &Ctx<'_>,
    res: &AbstractResource,
    p: &FunctionProps,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let name = res.name.as_str();
    let runtime = catalog().runtime(Cloud::Azure, &p.runtime).ok_or_else(|| {
        ProviderError::invalid(format!(
            "function `{name}`: runtime `{}` has no Azure Functions equivalent",
            p.runtime
        ))
    })?;
    let (language, version) = runtime.id.split_once('|').unwrap_or((&runtime.id, ""));
    if let Some((_, last)) = CONSUMPTION_LAST.iter().find(|(l, _)| *l == language)
        && version_key(version) > version_key(last)
    {
        return Err(ProviderError::invalid(format!(
            "function `{name}`: runtime `{}` does not run on Azure Functions' Linux Consumption \
             plan, whose last {language} is {last}",
            p.runtime
        ))
        .with_hint(format!(
            "use a runtime up to {language} {last} on this target"
        )));
    }
    handler_parts(name, &p.handler)?;
    check_env(name, p)?;
    let trigger = trigger(name, p, &res.referenced_kinds)?;
    let http = trigger["type"] == "http";
    let limits = catalog().function_limits(Cloud::Azure);
    let cap = if http {
        limits
            .http_timeout_max_s
            .map_or(CONSUMPTION_TIMEOUT_MAX_S, |m| {
                m.min(CONSUMPTION_TIMEOUT_MAX_S)
            })
    } else {
        limits
            .event_timeout_max_s
            .map_or(CONSUMPTION_TIMEOUT_MAX_S, |m| {
                m.min(CONSUMPTION_TIMEOUT_MAX_S)
            })
    };
    let timeout = p.timeout.0.clamp(1, cap);
    let account = crate::names::storage_account(
        ctx.subscription,
        ctx.stack,
        ctx.target,
        &format!("{name}-fn"),
    );
    let plan = ctx.name(name, "plan", 60);
    Ok(vec![
        NativeSpec::new(
            "storage",
            types::STORAGE_ACCOUNT,
            attrs(json!({
                "name": account,
                "location": ctx.location,
                "access_tier": "Hot",
                "public": false,
                "versioning": false,
                "container": PACKAGES,
                "lifecycle": [],
            })),
        )
        .force_new(&["name", "location"]),
        NativeSpec::new(
            "packages",
            types::CONTAINER,
            attrs(json!({
                "name": PACKAGES,
                "account": account,
                "public": false,
                "content": null,
                "content_in_sync": null,
            })),
        )
        .after("storage")
        .force_new(&["name", "account"]),
        NativeSpec::new(
            "plan",
            types::FUNCTION_PLAN,
            attrs(json!({"name": plan, "location": ctx.location, "sku": "Y1"})),
        )
        // A plan cannot be renamed, moved, or turned from Consumption into another kind.
        .force_new(&["name", "location", "sku"]),
        NativeSpec::new(
            "app",
            types::FUNCTION_APP,
            attrs(json!({
                "name": app_name(ctx, name),
                "location": ctx.location,
                "plan": plan,
                "storage_account": account,
                "runtime": linux_fx(&runtime.id),
                "worker_runtime": language,
                "function": function_name(name),
                "handler": p.handler,
                // Relative to the spec's directory, as written.
                "source": p.source,
                "env": p.env,
                "timeout": timeout,
                // Consumption has no memory setting: the catalog's size is recorded.
                "memory": limits.memory_for(p.memory),
                "trigger": trigger,
                // Desired flag: `read` says whether the deployed package is the one the
                // source and these inputs make now.
                "code_in_sync": true,
            })),
        )
        .after("storage")
        .after("packages")
        .after("plan")
        // An app cannot be renamed or moved, and Azure Functions does not change the
        // language of an app that has functions.
        .force_new(&["name", "location", "worker_runtime"]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::Properties;

    fn run(props: Value, kinds: &[(&str, Kind)]) -> Result<Vec<NativeSpec>, ProviderError> {
        let res = AbstractResource {
            name: "worker".into(),
            properties: Properties::from_value(Kind::Function, props).expect("properties"),
            referenced_kinds: kinds.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        };
        let ctx = Ctx {
            subscription: "sub",
            stack: "shop",
            target: "azure",
            location: "westeurope",
        };
        let Properties::Function(p) = &res.properties else {
            unreachable!("a function")
        };
        expand(&ctx, &res, p)
    }

    #[test]
    fn a_function_is_an_account_a_container_a_plan_and_an_app() {
        let n = run(
            json!({"runtime": "python3.12", "handler": "app.handle", "source": "src",
                   "memory": 200, "timeout": 9000, "env": {"A": "1"}}),
            &[],
        )
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["storage", "packages", "plan", "app"]);
        assert_eq!(n[0].type_name, types::STORAGE_ACCOUNT);
        assert_eq!(n[1].inputs["account"], n[0].inputs["name"]);
        assert_eq!(n[1].inputs["name"], PACKAGES);
        assert_eq!(n[2].inputs["sku"], "Y1");
        let app = &n[3].inputs;
        assert_eq!(app["runtime"], "Python|3.12");
        assert_eq!(app["worker_runtime"], "python");
        assert_eq!(app["plan"], n[2].inputs["name"]);
        assert_eq!(app["storage_account"], n[0].inputs["name"]);
        assert_eq!(app["function"], "worker");
        // The catalog's size for 200 MiB; an http invocation ends at 230 s.
        assert_eq!(app["memory"], 512);
        assert_eq!(app["timeout"], 230);
        assert_eq!(app["trigger"], json!({"type": "http"}));
        assert_eq!(n[3].depends_on, ["storage", "packages", "plan"]);
        let name = app["name"].as_str().expect("name");
        assert!((2..=60).contains(&name.len()), "{name}");
        assert!(name.starts_with("oc-shop-azure-worker-"), "{name}");
        assert!(!name.ends_with('-'));
        assert_ne!(
            name,
            app_name(
                &Ctx {
                    subscription: "other",
                    stack: "shop",
                    target: "azure",
                    location: "westeurope"
                },
                "worker"
            )
        );
    }

    #[test]
    fn runtimes_linux_consumption_lacks_and_bad_env_are_refused() {
        let e = run(
            json!({"runtime": "python3.13", "handler": "main.h", "source": "s"}),
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("3.12"), "{}", e.message);
        let n = run(
            json!({"runtime": "nodejs22", "handler": "index.h", "source": "s"}),
            &[],
        )
        .expect("node 22");
        assert_eq!(n[3].inputs["runtime"], "Node|22");
        assert_eq!(n[3].inputs["worker_runtime"], "node");
        for env in [json!({"A-B": "1"}), json!({"AzureWebJobsStorage": "x"})] {
            assert!(
                run(
                    json!({"runtime": "python3.12", "handler": "main.h", "source": "s", "env": env}),
                    &[]
                )
                .is_err()
            );
        }
        assert!(
            run(
                json!({"runtime": "python3.12", "handler": "h", "source": "s"}),
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn triggers_carry_their_sources_and_schedules_are_ncrontab() {
        let s = run(
            json!({"runtime": "python3.12", "handler": "main.tick", "source": "s", "timeout": 900,
                   "trigger": {"type": "schedule", "schedule": "every 5m"}}),
            &[],
        )
        .expect("expand");
        assert_eq!(
            s[3].inputs["trigger"],
            json!({"type": "schedule", "schedule": "0 */5 * * * *"})
        );
        // Consumption's 10 minutes.
        assert_eq!(s[3].inputs["timeout"], 600);
        let q = run(
            json!({"runtime": "python3.12", "handler": "main.h", "source": "s",
                   "trigger": {"type": "queue", "source": "${jobs}"}}),
            &[("jobs", Kind::Queue)],
        )
        .expect("expand");
        assert_eq!(q[3].inputs["trigger"]["queue"], "${jobs.queue.name}");
        assert_eq!(
            q[3].inputs["trigger"]["namespace"],
            "${jobs.namespace.name}"
        );
        assert_eq!(q[3].inputs["trigger"]["sessions"], "${jobs.queue.sessions}");
        let b = run(
            json!({"runtime": "nodejs20", "handler": "index.h", "source": "s",
                   "trigger": {"type": "storage", "source": "${site}"}}),
            &[("site", Kind::Storage)],
        )
        .expect("expand");
        assert_eq!(
            b[3].inputs["trigger"]["container"],
            "${site.container.name}"
        );
        assert_eq!(b[3].inputs["trigger"]["account"], "${site.account.name}");
        assert!(
            run(
                json!({"runtime": "python3.12", "handler": "main.h", "source": "s",
                       "trigger": {"type": "storage", "source": "${jobs}"}}),
                &[("jobs", Kind::Queue)],
            )
            .is_err()
        );
        assert!(
            run(
                json!({"runtime": "python3.12", "handler": "main.h", "source": "s",
                       "trigger": {"type": "schedule", "schedule": "every 7m"}}),
                &[],
            )
            .is_err()
        );
    }

    #[test]
    fn names_fit_azure_rules() {
        assert_eq!(linux_fx("python|3.11"), "Python|3.11");
        assert_eq!(linux_fx("node|20"), "Node|20");
        assert_eq!(function_name("my.fn"), "my_fn");
        assert_eq!(function_name("9lives"), "f9lives");
    }
}
