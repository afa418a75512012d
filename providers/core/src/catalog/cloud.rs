//! The clouds overcast targets. One enum names them everywhere: a catalog column, a
//! target's `provider:`, a provider crate. It is [`crate::ProviderKind`]; the catalog calls
//! it `Cloud`, which reads better next to a column.

pub use crate::provider_kind::{ProviderKind as Cloud, UnknownProvider as UnknownCloud};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Cloud::ALL {
            assert_eq!(c.as_str().parse::<Cloud>().ok(), Some(c));
            assert_eq!(
                serde_json::to_value(c).expect("serializes"),
                serde_json::json!(c.as_str())
            );
        }
        assert!("amazon".parse::<Cloud>().is_err());
    }
}
