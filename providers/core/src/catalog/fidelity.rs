//! How faithfully one side of a mapping represents the other: the same thing, something
//! close with named differences, or nothing at all.

use std::fmt;

/// One property in which a native value differs from the abstract one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs (`vCPU`, `memory`, `burstable`, `minimum storage duration`...).
    pub what: String,
    /// The value on the native side.
    pub native: String,
    /// The value the abstract side means.
    pub abstract_value: String,
}

impl Difference {
    /// A difference in `what`: native value, abstract value.
    pub fn new(
        what: impl Into<String>,
        native: impl ToString,
        abstract_value: impl ToString,
    ) -> Self {
        Difference {
            what: what.into(),
            native: native.to_string(),
            abstract_value: abstract_value.to_string(),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (native) vs {} (abstract)",
            self.what, self.native, self.abstract_value
        )
    }
}

/// How well a native value stands for an abstract one (or the other way round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fidelity {
    /// The same in every property the catalog knows.
    Exact,
    /// Close: the listed properties differ.
    Approximate(Vec<Difference>),
    /// No counterpart: the reason says why (a service the cloud does not have).
    Lost(String),
}

impl Fidelity {
    /// `Exact` when nothing differs, else `Approximate` with the differences.
    pub fn from_differences(differences: Vec<Difference>) -> Fidelity {
        if differences.is_empty() {
            Fidelity::Exact
        } else {
            Fidelity::Approximate(differences)
        }
    }

    /// Whether the mapping is exact.
    pub fn is_exact(&self) -> bool {
        matches!(self, Fidelity::Exact)
    }

    /// The differences (empty when exact or lost).
    pub fn differences(&self) -> &[Difference] {
        match self {
            Fidelity::Approximate(d) => d,
            _ => &[],
        }
    }
}

impl fmt::Display for Fidelity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fidelity::Exact => f.write_str("exact"),
            Fidelity::Approximate(d) => {
                f.write_str("approximate: ")?;
                for (i, x) in d.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                Ok(())
            }
            Fidelity::Lost(why) => write!(f, "lost: {why}"),
        }
    }
}

/// A value found on the other side of a mapping, with how faithful it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nearest<T> {
    /// The value found.
    pub value: T,
    /// What differs between the two sides.
    pub fidelity: Fidelity,
}

/// Collect a difference when `native != abstract_value`.
pub(crate) fn differ<T: PartialEq + fmt::Display>(
    out: &mut Vec<Difference>,
    what: &str,
    native: T,
    abstract_value: T,
) {
    if native != abstract_value {
        out.push(Difference::new(what, native, abstract_value));
    }
}

/// `yes` / `no`, as differences print booleans.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_differs() {
        let f = Fidelity::from_differences(vec![Difference::new("burstable", "no", "yes")]);
        assert_eq!(
            f.to_string(),
            "approximate: burstable no (native) vs yes (abstract)"
        );
        assert!(Fidelity::from_differences(vec![]).is_exact());
    }
}
