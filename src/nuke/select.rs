//! Which discovered resources a nuke deletes: the filters the user asked for (everything
//! when none), then every protection, each of which wins over any filter. Pure: the
//! clock, the managed index and the rules are given, so every verdict is unit-tested.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use overcast_core::discovery::DiscoveredResource;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// The tag a resource carries to be never deleted by a nuke, on any cloud (a valid label
/// key everywhere, so GCP labels can carry it), whatever its value.
pub const PROTECT_TAG: &str = "overcast-protect";

/// `KEY` (any value) or `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMatch {
    /// The key.
    pub key: String,
    /// The value it must have; `None`: any.
    pub value: Option<String>,
}

impl TagMatch {
    /// Parse `KEY` or `KEY=VALUE`; `what` names the flag or field in the error.
    pub fn parse(text: &str, what: &str) -> Result<TagMatch, String> {
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.to_string())),
            None => (text.trim(), None),
        };
        if key.is_empty() {
            return Err(format!(
                "{what} `{text}`: the key is empty; expected KEY or KEY=VALUE"
            ));
        }
        Ok(TagMatch {
            key: key.to_string(),
            value,
        })
    }

    /// Whether `tags` carry it.
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        match (tags.get(&self.key), &self.value) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

impl std::fmt::Display for TagMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.key),
            None => write!(f, "{}", self.key),
        }
    }
}

/// What the user asked to delete: each given filter must match (an empty one matches
/// everything); each exclusion removes.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only these types.
    pub types: BTreeSet<String>,
    /// Never these types.
    pub exclude_types: BTreeSet<String>,
    /// Every one of these tags.
    pub tags: Vec<TagMatch>,
    /// None of these tags.
    pub exclude_tags: Vec<TagMatch>,
    /// The name (or the id, for a resource with no name) matches.
    pub name_regex: Option<Regex>,
    /// Created longer ago than this.
    pub older_than: Option<Duration>,
    /// Owned by this overcast stack (by its decoded owner labels).
    pub stack: Option<String>,
}

/// A standing rule of the config file: what it names is never deleted. Every field given
/// must match.
#[derive(Debug, Clone, Default)]
pub struct ProtectRule {
    /// Its type.
    pub resource_type: Option<String>,
    /// A tag it carries.
    pub tag: Option<TagMatch>,
    /// Its name (or id) matches.
    pub name: Option<Regex>,
    /// How the rule reads, for the reason shown.
    pub text: String,
}

impl ProtectRule {
    fn matches(&self, r: &DiscoveredResource) -> bool {
        self.resource_type
            .as_ref()
            .is_none_or(|t| *t == r.resource_type)
            && self.tag.as_ref().is_none_or(|t| t.matches(&r.tags))
            && self.name.as_ref().is_none_or(|re| re.is_match(name_of(r)))
    }
}

/// What overcast state files manage: their natives' ids and owners.
#[derive(Debug, Clone, Default)]
pub struct ManagedIndex {
    /// Provider ids (and ARNs) recorded in state, with the state that records them.
    pub ids: BTreeMap<String, String>,
    /// `(stack, native address)` of every native in state, with the state.
    pub owners: BTreeMap<(String, String), String>,
}

impl ManagedIndex {
    /// The state that manages `r`, if any: by its id or ARN, or by the owner its labels
    /// name.
    pub fn manager(&self, r: &DiscoveredResource) -> Option<&str> {
        if let Some(s) = self.ids.get(&r.id).or_else(|| self.ids.get(&r.arn)) {
            return Some(s);
        }
        let o = r.owner.as_ref()?;
        self.owners
            .get(&(o.stack.clone(), o.resource.clone()))
            .map(String::as_str)
    }
}

/// Every protection: rules, the protect tag, managed state.
#[derive(Debug, Clone, Default)]
pub struct Protections {
    /// Rules of the config file.
    pub rules: Vec<ProtectRule>,
    /// What state files manage.
    pub managed: ManagedIndex,
    /// Delete managed resources too.
    pub include_managed: bool,
}

/// The verdict on one discovered resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// It goes; `matched` says which filters selected it.
    Delete {
        /// The filters, e.g. `type s3:bucket, older than 24h` (`every resource` with none).
        matched: String,
    },
    /// The filters selected it but a protection or exclusion keeps it.
    Keep {
        /// Why.
        reason: String,
    },
    /// The filters did not select it.
    Unmatched,
}

/// The name a resource is known by: its name, else its id.
pub fn name_of(r: &DiscoveredResource) -> &str {
    r.name.as_deref().unwrap_or(&r.id)
}

/// How long ago `r` was created, if the cloud said when (a time in the future is 0).
pub fn age(r: &DiscoveredResource, now: jiff::Timestamp) -> Option<Duration> {
    let created: jiff::Timestamp = r.created.as_deref()?.parse().ok()?;
    let span = now.duration_since(created);
    Some(Duration::try_from(span).unwrap_or(Duration::ZERO))
}

/// `24h`, `7d`, `90m`, `1h30m`, `2 days`: a positive duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = text
        .trim()
        .parse()
        .or_else(|_| {
            // Days are calendar units to jiff's duration parser; here a day is 24 hours.
            let span: jiff::Span = text.trim().parse().map_err(|e| format!("{e}"))?;
            span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|e| format!("{e}"))
        })
        .map_err(|e: String| {
            format!("`{text}` is not a duration ({e}); write e.g. 24h, 7d, 90m or 1h30m")
        })?;
    if d.is_negative() || d.is_zero() {
        return Err(format!("`{text}`: the duration must be positive"));
    }
    Duration::try_from(d).map_err(|e| format!("`{text}`: {e}"))
}

/// A duration as people write it: `3d 4h`, `25m`.
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Judge one resource.
pub fn judge(
    r: &DiscoveredResource,
    filters: &Filters,
    protections: &Protections,
    now: jiff::Timestamp,
) -> Verdict {
    let mut matched: Vec<String> = Vec::new();
    if !filters.types.is_empty() {
        if !filters.types.contains(&r.resource_type) {
            return Verdict::Unmatched;
        }
        matched.push(format!("type {}", r.resource_type));
    }
    for t in &filters.tags {
        if !t.matches(&r.tags) {
            return Verdict::Unmatched;
        }
        matched.push(format!("tag {t}"));
    }
    if let Some(re) = &filters.name_regex {
        if !re.is_match(name_of(r)) {
            return Verdict::Unmatched;
        }
        matched.push(format!("name ~ /{}/", re.as_str()));
    }
    if let Some(stack) = &filters.stack {
        if r.owner.as_ref().is_none_or(|o| o.stack != *stack) {
            return Verdict::Unmatched;
        }
        matched.push(format!("stack {stack}"));
    }
    if let Some(min) = filters.older_than {
        match age(r, now) {
            None => {
                return Verdict::Keep {
                    reason: format!(
                        "--older-than {}: the cloud gives no creation time",
                        human_age(min)
                    ),
                };
            }
            Some(a) if a <= min => return Verdict::Unmatched,
            Some(_) => matched.push(format!("older than {}", human_age(min))),
        }
    }
    // Protections, strongest first: each wins over every filter.
    if let Some(v) = r.tags.get(PROTECT_TAG) {
        return Verdict::Keep {
            reason: format!("protect tag {PROTECT_TAG}={v}"),
        };
    }
    if let Some(rule) = protections.rules.iter().find(|rule| rule.matches(r)) {
        return Verdict::Keep {
            reason: format!("protected by the config: {}", rule.text),
        };
    }
    if !protections.include_managed
        && let Some(state) = protections.managed.manager(r)
    {
        return Verdict::Keep {
            reason: format!("managed by overcast state {state} (--include-managed to delete)"),
        };
    }
    if filters.exclude_types.contains(&r.resource_type) {
        return Verdict::Keep {
            reason: format!("--exclude-type {}", r.resource_type),
        };
    }
    if let Some(t) = filters.exclude_tags.iter().find(|t| t.matches(&r.tags)) {
        return Verdict::Keep {
            reason: format!("--exclude-tag {t}"),
        };
    }
    Verdict::Delete {
        matched: if matched.is_empty() {
            "every resource".to_string()
        } else {
            matched.join(", ")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::OwnerTags;

    fn res(ty: &str, id: &str, tags: &[(&str, &str)]) -> DiscoveredResource {
        DiscoveredResource::new(
            format!("arn:{id}"),
            ty,
            id,
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn now() -> jiff::Timestamp {
        "2026-12-02T12:00:00Z".parse().expect("a time")
    }

    fn delete(v: &Verdict) -> bool {
        matches!(v, Verdict::Delete { .. })
    }

    #[test]
    fn with_no_filter_everything_goes_but_protections_win() {
        let p = Protections::default();
        let f = Filters::default();
        let v = judge(&res("s3:bucket", "a", &[]), &f, &p, now());
        assert_eq!(
            v,
            Verdict::Delete {
                matched: "every resource".into()
            }
        );
        let v = judge(
            &res("s3:bucket", "a", &[(PROTECT_TAG, "yes")]),
            &f,
            &p,
            now(),
        );
        assert!(matches!(v, Verdict::Keep { reason } if reason.contains(PROTECT_TAG)));
    }

    #[test]
    fn filters_must_all_match_and_say_what_matched() {
        let f = Filters {
            types: ["s3:bucket".to_string()].into(),
            tags: vec![TagMatch::parse("env=ci", "--tag").expect("tag")],
            name_regex: Some(Regex::new("^ci-").expect("re")),
            ..Filters::default()
        };
        let p = Protections::default();
        let hit = res("s3:bucket", "ci-1", &[("env", "ci")]);
        match judge(&hit, &f, &p, now()) {
            Verdict::Delete { matched } => {
                assert_eq!(matched, "type s3:bucket, tag env=ci, name ~ /^ci-/")
            }
            other => panic!("{other:?}"),
        }
        for miss in [
            res("sqs:queue", "ci-1", &[("env", "ci")]),
            res("s3:bucket", "ci-1", &[("env", "prod")]),
            res("s3:bucket", "web", &[("env", "ci")]),
        ] {
            assert_eq!(judge(&miss, &f, &p, now()), Verdict::Unmatched, "{miss:?}");
        }
    }

    #[test]
    fn age_filters_keep_what_has_no_creation_time() {
        let f = Filters {
            older_than: Some(parse_duration("24h").expect("24h")),
            ..Filters::default()
        };
        let p = Protections::default();
        let old = res("s3:bucket", "old", &[]).with_created("2026-11-30T12:00:00Z");
        let new = res("s3:bucket", "new", &[]).with_created("2026-12-02T11:00:00Z");
        let unknown = res("s3:bucket", "unknown", &[]);
        assert!(delete(&judge(&old, &f, &p, now())));
        assert_eq!(judge(&new, &f, &p, now()), Verdict::Unmatched);
        assert!(matches!(
            judge(&unknown, &f, &p, now()),
            Verdict::Keep { .. }
        ));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err_and(|e| e.contains("24h")));
        assert!(parse_duration("0s").is_err());
        assert_eq!(human_age(Duration::from_secs(90_000)), "1d 1h");
    }

    #[test]
    fn managed_resources_are_kept_unless_asked_by_id_or_owner() {
        let mut p = Protections::default();
        p.managed
            .ids
            .insert("bucket-a".into(), "shop.dev".to_string());
        p.managed
            .owners
            .insert(("web".into(), "site.bucket".into()), "web.prod".into());
        let f = Filters::default();
        let by_id = res("s3:bucket", "bucket-a", &[]);
        let mut by_owner = res("s3:bucket", "bucket-b", &[]);
        by_owner.owner = Some(OwnerTags {
            stack: "web".into(),
            target: "prod".into(),
            resource: "site.bucket".into(),
        });
        assert!(
            matches!(judge(&by_id, &f, &p, now()), Verdict::Keep { reason } if reason.contains("shop.dev"))
        );
        assert!(
            matches!(judge(&by_owner, &f, &p, now()), Verdict::Keep { reason } if reason.contains("web.prod"))
        );
        p.include_managed = true;
        assert!(delete(&judge(&by_id, &f, &p, now())));
    }

    #[test]
    fn config_rules_and_exclusions_keep_what_they_name() {
        let p = Protections {
            rules: vec![ProtectRule {
                resource_type: Some("iam:role".into()),
                name: Some(Regex::new("^Admin").expect("re")),
                text: "iam:role named ^Admin".into(),
                ..ProtectRule::default()
            }],
            ..Protections::default()
        };
        let f = Filters {
            exclude_tags: vec![TagMatch::parse("keep=true", "--exclude-tag").expect("tag")],
            exclude_types: ["sqs:queue".to_string()].into(),
            ..Filters::default()
        };
        assert!(matches!(
            judge(&res("iam:role", "AdminRole", &[]), &f, &p, now()),
            Verdict::Keep { .. }
        ));
        assert!(delete(&judge(&res("iam:role", "app", &[]), &f, &p, now())));
        assert!(matches!(
            judge(&res("s3:bucket", "b", &[("keep", "true")]), &f, &p, now()),
            Verdict::Keep { .. }
        ));
        assert!(delete(&judge(
            &res("s3:bucket", "b", &[("keep", "false")]),
            &f,
            &p,
            now()
        )));
        assert!(matches!(
            judge(&res("sqs:queue", "q", &[]), &f, &p, now()),
            Verdict::Keep { .. }
        ));
    }

    #[test]
    fn a_stack_filter_takes_only_what_its_labels_name() {
        let f = Filters {
            stack: Some("web".into()),
            ..Filters::default()
        };
        let mut owned = res("s3:bucket", "a", &[]);
        owned.owner = Some(OwnerTags {
            stack: "web".into(),
            target: "t".into(),
            resource: "site.bucket".into(),
        });
        let p = Protections::default();
        assert!(delete(&judge(&owned, &f, &p, now())));
        assert_eq!(
            judge(&res("s3:bucket", "b", &[]), &f, &p, now()),
            Verdict::Unmatched
        );
    }
}
