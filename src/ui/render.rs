//! Human renderings: plans, apply reports and outputs. Secrets are masked everywhere
//! through [`Secrets`].

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use console::Style;
use overcast_core::refs::UNKNOWN;
use serde_json::Value;

use crate::executor::ApplyReport;
use crate::plan::{Action, Change, Plan};

/// Text shown instead of a secret.
pub const MASK: &str = "(sensitive)";

/// The secret strings of a stack: sensitive variables and sensitive attributes. Any
/// rendered value containing one is masked. Values are searched for all secrets at once
/// (Aho-Corasick), so masking costs the length of what is rendered, not that times the
/// number of secrets: a stack of thousands of databases has thousands of passwords.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    values: BTreeSet<String>,
    /// Built on first use after the last `add`.
    matcher: OnceLock<Option<AhoCorasick>>,
}

impl Secrets {
    /// Remember a secret (short strings are ignored: masking `1` would mask everything).
    pub fn add(&mut self, v: &Value) {
        let inserted = match v {
            Value::String(s) if s.len() >= 4 => self.values.insert(s.clone()),
            Value::Number(n) if n.to_string().len() >= 4 => self.values.insert(n.to_string()),
            _ => false,
        };
        if inserted {
            self.matcher = OnceLock::new();
        }
    }

    /// Remember the sensitive outputs recorded on native resources.
    pub fn add_recorded<'a>(
        &mut self,
        states: impl IntoIterator<Item = &'a overcast_core::NativeState>,
    ) {
        for st in states {
            for name in &st.sensitive {
                if let Some(v) = st.outputs.get(name) {
                    self.add(v);
                }
            }
        }
    }

    /// A copy of a JSON document with every value that contains a secret replaced by
    /// [`MASK`] (for `--json` output and `state show`).
    pub fn mask(&self, v: &Value) -> Value {
        match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| self.mask(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.mask(x))).collect())
            }
            other if self.contains(other) => Value::String(MASK.to_string()),
            other => other.clone(),
        }
    }

    /// Whether the value contains a secret.
    pub fn contains(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => self.in_text(s),
            Value::Number(n) => self.values.contains(&n.to_string()),
            Value::Array(a) => a.iter().any(|x| self.contains(x)),
            Value::Object(o) => o.values().any(|x| self.contains(x)),
            _ => false,
        }
    }

    fn in_text(&self, s: &str) -> bool {
        if self.values.is_empty() {
            return false;
        }
        let matcher = self
            .matcher
            .get_or_init(|| AhoCorasick::new(&self.values).ok());
        match matcher {
            Some(m) => m.is_match(s),
            // Only a pathologically large set fails to build: search one by one.
            None => self.values.iter().any(|x| s.contains(x.as_str())),
        }
    }
}

/// Format one value for a plan line: compact JSON, unknowns and secrets spelled out.
pub fn value(v: &Value, secrets: &Secrets) -> String {
    if secrets.contains(v) {
        return MASK.to_string();
    }
    match v {
        Value::String(s) if s.contains(UNKNOWN) => "(known after apply)".to_string(),
        Value::String(s) => {
            let one_line = s.replace('\n', "\\n");
            if one_line.chars().count() > 72 {
                let cut: String = one_line.chars().take(69).collect();
                format!("{:?}", format!("{cut}..."))
            } else {
                format!("{one_line:?}")
            }
        }
        other => {
            let s = other.to_string();
            if s.chars().count() > 72 {
                format!("{}...", s.chars().take(69).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn style_for(action: Action) -> Style {
    match action {
        Action::Create => Style::new().green(),
        Action::Update => Style::new().yellow(),
        Action::Replace => Style::new().magenta(),
        Action::Delete => Style::new().red(),
        Action::NoOp => Style::new().dim(),
    }
}

fn render_change(out: &mut String, c: &Change, secrets: &Secrets) {
    let st = style_for(c.action);
    let sym = st.apply_to(format!("{:>3}", c.action.symbol()));
    let mut header = format!("{sym} {} ({})", c.addr, c.type_name);
    if let Some(r) = &c.reason {
        let _ = write!(header, "  # {r}");
    } else if c.action == Action::Replace {
        header.push_str("  # must be replaced");
    }
    let _ = writeln!(out, "  {header}");
    let sensitive: &[String] = c
        .desired
        .as_ref()
        .map(|d| d.sensitive.as_slice())
        .unwrap_or(&[]);
    for a in &c.attrs {
        let is_secret = sensitive.contains(&a.name);
        let forces = if a.forces_replacement {
            format!(
                "  {}",
                Style::new().magenta().apply_to("# forces replacement")
            )
        } else {
            String::new()
        };
        // Maps are shown key by key, so one changed key does not hide in a long line.
        if let (Some(Value::Object(b)), Some(Value::Object(af))) = (&a.before, &a.after)
            && !is_secret
        {
            let _ = writeln!(out, "        {} {} {{{forces}", st.apply_to("~"), a.name);
            let mut keys: BTreeSet<&String> = b.keys().collect();
            keys.extend(af.keys());
            for k in keys {
                attr_line(
                    out,
                    &format!("{}.{k}", a.name),
                    c.action,
                    b.get(k),
                    af.get(k),
                    secrets,
                    false,
                    "    ",
                );
            }
            let _ = writeln!(out, "          }}");
            continue;
        }
        attr_line(
            out,
            &a.name,
            c.action,
            a.before.as_ref(),
            a.after.as_ref(),
            secrets,
            is_secret,
            "",
        );
        if !forces.is_empty() {
            out.pop();
            let _ = writeln!(out, "{forces}");
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn attr_line(
    out: &mut String,
    name: &str,
    action: Action,
    before: Option<&Value>,
    after: Option<&Value>,
    secrets: &Secrets,
    is_secret: bool,
    indent: &str,
) {
    let before = before.filter(|v| !v.is_null());
    let after = after.filter(|v| !v.is_null());
    let show = |v: &Value| {
        if is_secret {
            MASK.to_string()
        } else {
            value(v, secrets)
        }
    };
    let green = Style::new().green();
    let red = Style::new().red();
    let yellow = Style::new().yellow();
    let line = match (before, after) {
        (Some(b), Some(a)) if b == a => return,
        (Some(b), Some(a)) => format!(
            "{} {name}: {} -> {}",
            yellow.apply_to("~"),
            show(b),
            show(a)
        ),
        (None, Some(a)) => format!("{} {name} = {}", green.apply_to("+"), show(a)),
        (Some(b), None) if action == Action::Delete => {
            format!("{} {name} = {}", red.apply_to("-"), show(b))
        }
        (Some(b), None) => format!("{} {name} = {} -> null", red.apply_to("-"), show(b)),
        (None, None) => return,
    };
    let _ = writeln!(out, "        {indent}{line}");
}

/// The human rendering of a plan.
pub fn plan(plan: &Plan, secrets: &Secrets) -> String {
    let mut out = String::new();
    let s = plan.summary();
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "No changes. The live resources match {} ({} native resource(s) checked).",
            plan.spec_file, s.unchanged
        );
        return out;
    }
    let _ = writeln!(
        out,
        "overcast will perform the following actions on stack `{}`:\n",
        plan.stack
    );
    let mut current_resource: Option<&str> = None;
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        if current_resource != Some(c.addr.resource.as_str()) {
            current_resource = Some(c.addr.resource.as_str());
            let _ = writeln!(
                out,
                "{}",
                Style::new().bold().apply_to(format!(
                    "# {} ({} on {})",
                    c.addr.resource, c.kind, c.target
                ))
            );
        }
        render_change(&mut out, c, secrets);
    }
    let _ = writeln!(
        out,
        "\n{} {} to add, {} to change, {} to destroy{}.",
        Style::new().bold().apply_to("Plan:"),
        s.add,
        s.change,
        s.destroy,
        if s.unchanged > 0 {
            format!(" ({} unchanged)", s.unchanged)
        } else {
            String::new()
        }
    );
    out
}

/// The human rendering of an apply report.
pub fn report(r: &ApplyReport, verb: &str) -> String {
    let mut out = String::new();
    let count = |a: Action| r.succeeded.iter().filter(|x| x.1 == a).count();
    let added = count(Action::Create) + count(Action::Replace);
    let changed = count(Action::Update);
    let destroyed = count(Action::Delete) + count(Action::Replace);
    if r.is_complete() {
        let _ = writeln!(
            out,
            "{} {added} added, {changed} changed, {destroyed} destroyed.",
            Style::new()
                .green()
                .bold()
                .apply_to(format!("{verb} complete!"))
        );
        return out;
    }
    let title = if r.interrupted {
        format!("{verb} interrupted.")
    } else {
        format!("{verb} failed.")
    };
    let _ = writeln!(
        out,
        "{} {added} added, {changed} changed, {destroyed} destroyed.",
        Style::new().red().bold().apply_to(title)
    );
    if !r.failed.is_empty() {
        let _ = writeln!(out, "\nFailed ({}):", r.failed.len());
        for (a, act, e) in &r.failed {
            let _ = writeln!(out, "  {a}: {} failed: {e}", act.progressive());
        }
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped ({}):", r.skipped.len());
        for (a, act, why) in &r.skipped {
            let _ = writeln!(out, "  {a}: {} skipped: {why}", act.progressive());
        }
    }
    if !r.not_started.is_empty() {
        let _ = writeln!(out, "\nNot started ({}):", r.not_started.len());
        for (a, act) in &r.not_started {
            let _ = writeln!(out, "  {a}: {}", act.progressive());
        }
    }
    let _ = writeln!(
        out,
        "\nState records exactly what exists. Fix the cause and run `overcast apply` again to converge."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_inside_longer_strings() {
        let mut s = Secrets::default();
        s.add(&json!("hunter22"));
        assert_eq!(value(&json!("postgres://u:hunter22@h/db"), &s), MASK);
        assert_eq!(value(&json!("plain"), &s), "\"plain\"");
        assert_eq!(value(&json!(UNKNOWN), &s), "(known after apply)");
    }

    #[test]
    fn a_secret_added_after_a_search_is_found_too() {
        let mut s = Secrets::default();
        assert!(!s.contains(&json!("anything")));
        for i in 0..2000 {
            s.add(&json!(format!("password-{i:05}")));
        }
        assert!(s.contains(&json!("x password-01999 y")));
        assert!(!s.contains(&json!("password-02000")));
        s.add(&json!("password-02000"));
        assert!(s.contains(&json!({"url": ["a", "password-02000"]})));
        assert!(!s.contains(&json!(12)));
    }
}
