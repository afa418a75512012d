//! Stack and target names as parts of state object names.

use super::error::StateError;

/// Whether `name` can be part of a state object name. Names become
/// `<stack>.<target>.<ext>`: a `.` would make that ambiguous (stack `a.b` target `c`
/// versus stack `a` target `b.c`), separators would escape the state's directory or
/// prefix.
pub(crate) fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '/' | '\\') || c.is_control())
}

/// [`StateError::InvalidName`] unless `name` [`is_valid`]; `what` is "stack" or "target".
pub(crate) fn check(what: &'static str, name: &str) -> Result<(), StateError> {
    if is_valid(name) {
        Ok(())
    } else {
        Err(StateError::InvalidName {
            what,
            name: name.to_string(),
        })
    }
}

/// Every (stack, target) among object names: `<stack>.<target>.json` and
/// `<stack>.<target>.journal`, sorted and without repeats. Any other name is ignored.
pub(crate) fn states_among<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut states: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|name| {
            let base = name
                .strip_suffix(".json")
                .or_else(|| name.strip_suffix(".journal"))?;
            let (stack, target) = base.split_once('.')?;
            (is_valid(stack) && is_valid(target)).then(|| (stack.to_string(), target.to_string()))
        })
        .collect();
    states.sort();
    states.dedup();
    states
}

/// The targets of `stack` among object names: `<stack>.<target>.json` (a snapshot) and
/// `<stack>.<target>.journal`, sorted and without repeats. Any other name is ignored.
pub(crate) fn targets_among<'a>(
    stack: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let prefix = format!("{stack}.");
    let mut targets: Vec<String> = names
        .into_iter()
        .filter_map(|name| {
            let rest = name.strip_prefix(&prefix)?;
            rest.strip_suffix(".json")
                .or_else(|| rest.strip_suffix(".journal"))
                .filter(|t| is_valid(t))
                .map(str::to_string)
        })
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_among_object_names() {
        let names = [
            "shop.dev.json",
            "shop.dev.journal",
            "shop.prod.json.backup",
            "web.prod.journal",
            "x.lock",
            "bad..json",
        ];
        assert_eq!(
            states_among(names),
            vec![
                ("shop".to_string(), "dev".to_string()),
                ("web".to_string(), "prod".to_string())
            ]
        );
    }
}
