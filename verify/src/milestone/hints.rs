//! The one-line hints of load errors: the nearest known name to a typo, or the list to pick
//! from.

use marketref::manifest::Operation;
use marketref::reason::Reason;
use serde_saphyr::Spanned;

use super::loader::Loader;

impl Loader<'_> {
    /// The manifest's operation `name`, or a load error where it is written, with the nearest
    /// known name.
    pub(super) fn known_operation(&mut self, name: &Spanned<String>) -> Option<&'static Operation> {
        let found = self.manifest.operation(&name.value);
        if found.is_none() {
            let hint = self.unknown_operation_hint(&name.value);
            self.error(
                &name.referenced,
                format!("unknown operation `{}`", name.value),
                hint,
            );
        }
        found
    }

    fn unknown_operation_hint(&self, name: &str) -> String {
        let ids: Vec<&str> = self
            .manifest
            .operations
            .iter()
            .map(|op| op.operation_id.as_str())
            .collect();
        match closest(name, &ids) {
            Some(best) => {
                format!("did you mean `{best}`? operations are declared in schemas/manifest.yaml")
            }
            None => format!(
                "use an operation_id of schemas/manifest.yaml: {}",
                ids.join(", ")
            ),
        }
    }
}

pub(super) fn unknown_reason_hint(code: &str) -> String {
    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    match closest(code, &codes) {
        Some(best) => format!(
            "did you mean `{best}`? reason codes are declared in src/reason.rs (schemas/reason_codes.json)"
        ),
        None => "reason codes are declared in src/reason.rs (schemas/reason_codes.json)".to_owned(),
    }
}

pub(super) fn list_or_none<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let joined = names.into_iter().collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        "none".to_owned()
    } else {
        joined
    }
}

/// The candidate nearest to `name` by edit distance, when it is near enough to be a typo.
pub(super) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_suggestions() {
        assert_eq!(
            closest(
                "marketplaceMatching.runn",
                &["marketplaceMatching.run", "system.health"]
            ),
            Some("marketplaceMatching.run")
        );
        assert_eq!(closest("zzz", &["marketplaceMatching.run"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
