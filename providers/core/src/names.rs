//! Deterministic cloud names for the natives of a stack, shared by the providers. A name
//! is a function of stack,
//! target, resource and native local name only, so that `adopt` can find a resource an
//! interrupted apply created, and two stacks (or targets) never collide. A short stable
//! hash of the full identity keeps truncated names unique.

use sha2::{Digest, Sha256};

/// 8 hex characters of the SHA-256 of the parts.
pub fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..4])
}

/// Lowercase, `[a-z0-9-]`, no repeated or edge dashes.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end_matches('-').to_string()
}

/// A name `oc-<stack>-<target>-<resource>[-<local>]-<hash>` cut to `max` characters
/// (the hash is always kept). Lowercase, starts with a letter, `[a-z0-9-]`: valid for S3
/// and Cloud Storage buckets (≤63), SQS, Lambda, IAM, RDS identifiers, security groups,
/// CloudFront OACs, and Pub/Sub topic and subscription ids, given each one's `max`.
pub fn name(stack: &str, target: &str, resource: &str, local: &str, max: usize) -> String {
    let hash = short_hash(&[stack, target, resource, local]);
    let mut base = format!("oc-{}-{}-{}", slug(stack), slug(target), slug(resource));
    if !local.is_empty() {
        base.push('-');
        base.push_str(&slug(local));
    }
    let room = max.saturating_sub(hash.len() + 1);
    base.truncate(room);
    let base = base.trim_end_matches('-');
    format!("{base}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_valid_and_bounded() {
        let a = name("Shop", "prod_eu", "Site_Assets", "bucket", 63);
        assert_eq!(a, name("Shop", "prod_eu", "Site_Assets", "bucket", 63));
        assert!(a.starts_with("oc-shop-prod-eu-site-assets-bucket-"), "{a}");
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        let long = name(&"x".repeat(40), "t", &"y".repeat(40), "db", 63);
        assert_eq!(long.len(), 63);
        assert!(!long.contains("--"), "{long}");
        assert_ne!(name("s", "t", "r", "a", 63), name("s", "t", "r", "b", 63));
        assert_ne!(name("s", "t1", "r", "a", 20), name("s", "t2", "r", "a", 20));
    }
}
