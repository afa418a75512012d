//! Who uses whom among discovered natives, for `nuke`'s teardown order
//! ([`overcast_core::Provider::link_discovered`]).
//!
//! A native uses another when a string among its recorded inputs or outputs names the
//! other: contains its id (its directory, or its key in the `noop` ledger) or one of its
//! path- or url-like outputs (`url`, `path`, `endpoint`, `connection_string`). References
//! are resolved before a create, so a `${site}` origin or a `${jobs}` trigger source is
//! recorded as the url it resolved to, and that url names the native behind it. This one
//! rule covers the specific links too: a cdn's `origin_url` is its bucket's url (which
//! holds the bucket's directory) or its instance's `http://127.0.0.1:<port>`; a
//! function's `trigger.source_url` is its queue's or bucket's url; a connection string in
//! a function's `env` is its database's.
//!
//! A name must match whole: it starts at the string's start, at a `/`, or after a
//! separator, and ends at the string's end or before a character that cannot continue a
//! path segment, a host or a port, so `…/bucket` never matches inside `…/bucket2` and
//! `127.0.0.1:80` never inside `127.0.0.1:8080`. A name two natives share (the noop
//! cdn's `127.0.0.1:0` domain, say) names neither.

use std::collections::HashMap;

use overcast_core::discovery::DiscoveredResource;
use serde_json::Value;

use crate::record::Record;

/// Outputs whose value, when path- or url-like, names the native that has it.
const NAMING_OUTPUTS: &[&str] = &["url", "path", "endpoint", "connection_string"];

/// The shortest name worth matching: shorter path-like values (`/`, `/tmp`) name nothing.
const MIN_NAME: usize = 8;

/// Whether `c` may continue a name (a path segment, a host, a port).
fn continues(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':' | b'@' | b'%')
}

/// Whether a name may start at byte `i` of `s`.
fn starts_at(s: &[u8], i: usize) -> bool {
    i == 0 || s[i] == b'/' || !continues(s[i - 1]) && s[i - 1] != b'/'
}

/// Whether a name may end just before byte `j` of `s`.
fn ends_at(s: &[u8], j: usize) -> bool {
    j == s.len() || !continues(s[j])
}

/// Every string in `v`, depth first.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The names of each native: who a string naming them points at (`None`: ambiguous).
fn names(
    found: &[DiscoveredResource],
    records: &[Option<Record>],
) -> HashMap<String, Option<usize>> {
    let mut names: HashMap<String, Option<usize>> = HashMap::new();
    let mut add = |name: &str, i: usize| {
        if name.len() < MIN_NAME || !name.contains('/') {
            return;
        }
        names
            .entry(name.to_string())
            .and_modify(|who| {
                if *who != Some(i) {
                    *who = None;
                }
            })
            .or_insert(Some(i));
    };
    for (i, (f, rec)) in found.iter().zip(records).enumerate() {
        add(&f.id, i);
        let Some(rec) = rec else { continue };
        for key in NAMING_OUTPUTS {
            if let Some(s) = rec.outputs.get(*key).and_then(Value::as_str) {
                add(s, i);
            }
        }
    }
    names
}

/// Fill `uses` of every discovered native from its record (`records[i]` is `found[i]`'s;
/// `None` when it could not be read, which links nothing from it).
pub(crate) fn link(found: &mut [DiscoveredResource], records: &[Option<Record>]) {
    let names = names(found, records);
    let longest = names.keys().map(String::len).max().unwrap_or(0);
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        let Some(rec) = rec else { continue };
        let mut texts = Vec::new();
        rec.inputs.values().for_each(|v| strings(v, &mut texts));
        rec.outputs.values().for_each(|v| strings(v, &mut texts));
        for text in texts {
            let s = text.as_bytes();
            let starts = (0..s.len()).filter(|&a| starts_at(s, a));
            // Where a name may end, computed once per string: few, even in a long one.
            let ends: Vec<usize> = (1..=s.len()).filter(|&b| ends_at(s, b)).collect();
            for a in starts {
                // A name is no longer than the longest one: bounds the work on long strings
                // (a startup script).
                let from = ends.partition_point(|&b| b < a + MIN_NAME);
                for &b in ends[from..].iter().take_while(|&&b| b <= a + longest) {
                    let Some(candidate) = text.get(a..b) else {
                        continue;
                    };
                    if let Some(Some(j)) = names.get(candidate)
                        && *j != i
                    {
                        edges.push((i, *j));
                    }
                }
            }
        }
    }
    for (i, j) in edges {
        let used = found[j].arn.clone();
        found[i].add_use(used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn native(id: &str, inputs: Value, outputs: Value) -> (DiscoveredResource, Option<Record>) {
        let r = DiscoveredResource::new(id, "local_x", id, Default::default());
        let rec = Record {
            type_name: "local_x".into(),
            inputs: inputs.as_object().cloned().unwrap_or_default(),
            outputs: outputs.as_object().cloned().unwrap_or_default(),
            created: None,
        };
        (r, Some(rec))
    }

    fn run(natives: Vec<(DiscoveredResource, Option<Record>)>) -> Vec<Vec<String>> {
        let (mut found, records): (Vec<_>, Vec<_>) = natives.into_iter().unzip();
        link(&mut found, &records);
        found.into_iter().map(|f| f.uses).collect()
    }

    #[test]
    fn a_native_uses_what_its_inputs_name_whole() {
        let r = "/w/local/dev";
        let uses = run(vec![
            native(
                &format!("{r}/storage/site/bucket"),
                json!({}),
                json!({"url": format!("file://{r}/storage/site/bucket/objects"),
                       "path": format!("{r}/storage/site/bucket/objects")}),
            ),
            native(&format!("{r}/storage/site2/bucket"), json!({}), json!({})),
            native(
                &format!("{r}/compute/web/instance-0"),
                json!({"startup": format!("cat {r}/storage/site/bucket/objects/index.html; sleep 1")}),
                json!({"url": "http://127.0.0.1:8080", "address": "127.0.0.1",
                       "log": format!("{r}/compute/web/instance-0/process.log")}),
            ),
            native(
                &format!("{r}/cdn/edge/distribution"),
                json!({"origin_url": "http://127.0.0.1:8080/"}),
                json!({"url": "http://127.0.0.1:9000/"}),
            ),
            native(
                &format!("{r}/cdn/other/distribution"),
                json!({"origin_url": "http://127.0.0.1:80"}),
                json!({}),
            ),
            native(
                &format!("{r}/function/worker/function"),
                json!({"trigger": {"type": "queue", "source_url": format!("{r}/queue/jobs/queue/queue.db")},
                       "env": {"SITE": format!("file://{r}/storage/site2/bucket/objects")}}),
                json!({}),
            ),
            native(
                &format!("{r}/queue/jobs/queue"),
                json!({}),
                json!({"address": "127.0.0.1"}),
            ),
        ]);
        assert_eq!(
            uses[0],
            Vec::<String>::new(),
            "its own outputs are not a use"
        );
        assert_eq!(uses[1], Vec::<String>::new());
        assert_eq!(uses[2], [format!("{r}/storage/site/bucket")]);
        assert_eq!(uses[3], [format!("{r}/compute/web/instance-0")]);
        assert_eq!(uses[4], Vec::<String>::new(), "port 80 is not port 8080");
        assert_eq!(
            uses[5],
            [
                format!("{r}/queue/jobs/queue"),
                format!("{r}/storage/site2/bucket")
            ]
        );
    }

    #[test]
    fn noop_keys_and_shared_names() {
        let n = "/w/local/dev/noop";
        let uses = run(vec![
            native(
                &format!("{n}/storage.site.bucket.json"),
                json!({}),
                json!({"url": format!("file://{n}/storage.site.bucket.json")}),
            ),
            native(
                &format!("{n}/storage.site.bucket.json.bak"),
                json!({}),
                json!({}),
            ),
            native(
                &format!("{n}/cdn.edge.distribution.json"),
                json!({"origin_url": format!("file://{n}/storage.site.bucket.json")}),
                json!({"domain": "127.0.0.1:0/", "url": format!("http://127.0.0.1:0{n}/cdn.edge.distribution.json/")}),
            ),
            native(
                &format!("{n}/cdn.b.distribution.json"),
                json!({"origin_url": "http://127.0.0.1:0/"}),
                json!({"domain": "127.0.0.1:0/"}),
            ),
        ]);
        assert_eq!(uses[1], Vec::<String>::new());
        assert_eq!(uses[2], [format!("{n}/storage.site.bucket.json")]);
        assert_eq!(uses[3], Vec::<String>::new(), "a shared name names nobody");
    }

    #[test]
    fn two_thousand_noop_natives_link_their_chains_only() {
        let n = "/w/local/bench/noop";
        let mut natives = Vec::new();
        for i in 0..2000 {
            let key = format!("{n}/queue.q{i}.queue.json");
            // Every tenth uses the one before it, the rest stand alone.
            let inputs = if i % 10 == 1 {
                json!({"trigger": {"type": "queue", "source_url": format!("{n}/queue.q{}.queue.json", i - 1)}})
            } else {
                json!({"visibility_timeout": 30, "ordered": false})
            };
            natives.push(native(
                &key,
                inputs,
                json!({"url": key, "path": key, "name": format!("q{i}")}),
            ));
        }
        let uses = run(natives);
        let linked: Vec<usize> = (0..2000).filter(|i| !uses[*i].is_empty()).collect();
        assert_eq!(
            linked,
            (0..2000).filter(|i| i % 10 == 1).collect::<Vec<_>>()
        );
        assert_eq!(uses[11], [format!("{n}/queue.q10.queue.json")]);
    }
}
