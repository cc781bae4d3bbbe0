//! The gate that keeps the contract out of the page's hand-written text: its scripts and its
//! HTML shell name no scope, no HTTP status, no query limit and no header name; each comes from
//! the contract document, so a change of the manifest or the registry reaches the page alone.
//!
//! What counts, precisely:
//! - a **scope**: every scope of the manifest (required or a privilege's), anywhere in the text,
//!   and any `<resource>:<word>` of one of their resources (`offers:delete`), which would be a
//!   scope the manifest does not have;
//! - a **status**: every HTTP status of the registry's reasons and of the manifest's successes,
//!   as a number of its own (not part of a name, a longer number, a decimal or a hex colour),
//!   inside a string or not;
//! - a **query limit**: every maximum of an integer query parameter as a number of its own,
//!   and any integer query parameter's name given a number (`limit: 50`, `limit=50`);
//! - a **schema limit**: every `maximum` or `exclusiveMaximum` of at least
//!   [`SCHEMA_LIMIT_FROM`] anywhere in the contract document (the request schemas, the
//!   trainer's hyperparameter ranges), as a number of its own;
//! - a **header name**: every name of [`crate::headers`], in any case.
//!
//! Numbers are free otherwise: layout and chart sizes (`360`, `170`), a slice length, a
//! threshold. One that happens to equal a status or a limit is written so that it does not (the
//! calendar's leap years come from `Date`, the text area's threshold is `1024`). The CSS is not
//! read: it holds no contract, and its font weights (`400`) are not statuses.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::headers;
use crate::manifest::{Manifest, QueryParamType};
use crate::reason::Reason;

/// The smallest schema maximum the gate looks for: below it, numbers are too common in layout
/// and arithmetic (`10`, `50`) to tell a restated limit from a chart's margin.
const SCHEMA_LIMIT_FROM: u64 = 100;

/// What `text` (the asset `name`) spells of the contract, one line per finding; `document`
/// is the contract document the page is given.
pub(crate) fn restated(
    name: &str,
    text: &str,
    manifest: &Manifest,
    document: &Value,
) -> Vec<String> {
    let mut found = Vec::new();
    let mut find = |at: usize, what: String| {
        found.push(format!("{name}:{}: {what}", line_of(text, at)));
    };
    header_names(text, &mut find);
    scope_strings(text, &scopes(manifest), &mut find);
    let statuses = statuses(manifest);
    let (limit_names, limits) = query_limits(manifest);
    let mut maxima = BTreeSet::new();
    schema_maxima(document, &mut maxima);
    for (at, number) in numbers(text) {
        if statuses.contains(&number) {
            find(at, format!("status {number}"));
        } else if limits.contains(&number) {
            find(at, format!("query limit {number}"));
        } else if maxima.contains(&number) {
            find(at, format!("schema limit {number}"));
        }
    }
    for param in &limit_names {
        for at in occurrences(text, param) {
            let rest = text[at + param.len()..].trim_start_matches(['"', '\'']);
            let rest = rest.trim_start();
            let given = rest
                .strip_prefix(':')
                .or_else(|| rest.strip_prefix('='))
                .map(str::trim_start)
                .is_some_and(|value| value.starts_with(|c: char| c.is_ascii_digit()));
            if given {
                find(at, format!("query parameter `{param}` given a number"));
            }
        }
    }
    found
}

fn header_names(text: &str, find: &mut impl FnMut(usize, String)) {
    let lower = text.to_ascii_lowercase();
    for header in [
        headers::ACTOR_TYPE,
        headers::ACTOR_ID,
        headers::AUTH_SCOPES,
        headers::IDEMPOTENCY_KEY,
        headers::IDEMPOTENT_REPLAYED,
        headers::CORRELATION_ID,
        headers::REQUEST_CLOCK,
        headers::AUTHORIZATION,
        headers::LAST_EVENT_ID,
    ] {
        for at in occurrences(&lower, header) {
            find(at, format!("header name `{header}`"));
        }
    }
}

/// The manifest's scopes, and any other `<resource>:<word>` of their resources.
fn scope_strings(text: &str, scopes: &BTreeSet<String>, find: &mut impl FnMut(usize, String)) {
    for scope in scopes {
        for at in occurrences(text, scope) {
            find(at, format!("scope `{scope}`"));
        }
    }
    let resources: BTreeSet<&str> = scopes
        .iter()
        .filter_map(|scope| scope.split_once(':').map(|(resource, _)| resource))
        .collect();
    for resource in resources {
        let prefix = format!("{resource}:");
        for at in occurrences(text, &prefix) {
            let word: String = text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let before = text[..at].chars().next_back();
            let whole = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let scope = format!("{prefix}{word}");
            if whole && !word.is_empty() && !scopes.contains(&scope) {
                find(at, format!("scope-shaped `{scope}`"));
            }
        }
    }
}

fn scopes(manifest: &Manifest) -> BTreeSet<String> {
    manifest
        .operations
        .iter()
        .flat_map(|o| {
            o.auth
                .required_scopes
                .iter()
                .chain(o.auth.privileges.values())
        })
        .cloned()
        .collect()
}

fn statuses(manifest: &Manifest) -> BTreeSet<u64> {
    Reason::ALL
        .iter()
        .map(|reason| u64::from(reason.status()))
        .chain(
            manifest
                .operations
                .iter()
                .map(|o| u64::from(o.success_status)),
        )
        .collect()
}

/// The names of the integer query parameters, and their maxima.
fn query_limits(manifest: &Manifest) -> (BTreeSet<String>, BTreeSet<u64>) {
    let integers = manifest
        .operations
        .iter()
        .flat_map(|operation| &operation.query_params)
        .filter(|param| matches!(param.kind, QueryParamType::Integer));
    let mut names = BTreeSet::new();
    let mut maxima = BTreeSet::new();
    for param in integers {
        names.insert(param.name.clone());
        maxima.extend(param.maximum.and_then(|max| u64::try_from(max).ok()));
    }
    (names, maxima)
}

/// Every whole `maximum` or `exclusiveMaximum` of at least [`SCHEMA_LIMIT_FROM`] in `value`.
fn schema_maxima(value: &Value, into: &mut BTreeSet<u64>) {
    match value {
        Value::Object(object) => {
            for (key, item) in object {
                let bound = item
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && *n >= SCHEMA_LIMIT_FROM as f64);
                if let (true, Some(n)) = (key == "maximum" || key == "exclusiveMaximum", bound) {
                    into.insert(n as u64);
                }
                schema_maxima(item, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| schema_maxima(item, into)),
        _ => {}
    }
}

fn occurrences<'a>(text: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(needle).map(|(at, _)| at)
}

/// The numbers of their own in `text`: runs of digits with no letter, digit, `_`, `$` or `#`
/// against them, and no `.` that makes them part of a decimal.
fn numbers(text: &str) -> Vec<(usize, u64)> {
    let bytes = text.as_bytes();
    let joins = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'#');
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at).copied();
        let fraction = before == Some(b'.');
        let decimal = after == Some(b'.') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        let alone = !before.is_some_and(joins) && !after.is_some_and(joins);
        if alone
            && !fraction
            && !decimal
            && let Ok(number) = text[start..at].parse()
        {
            found.push((start, number));
        }
    }
    found
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::{HTML, SCRIPTS, contract_document};

    fn document() -> Value {
        contract_document(Manifest::embedded(), crate::domain::ALL).unwrap()
    }

    /// Every section's scripts (the data marketplace's and the ML marketplace's) and the shell.
    #[test]
    fn the_page_spells_nothing_of_the_contract() {
        let manifest = Manifest::embedded();
        let document = document();
        let mut found = restated("console.html", HTML, manifest, &document);
        for (name, script) in SCRIPTS {
            found.extend(restated(name, script, manifest, &document));
        }
        assert_eq!(
            found,
            Vec::<String>::new(),
            "take these from the contract document"
        );
    }

    #[test]
    fn the_gate_finds_each_kind_of_restated_value() {
        let planted = "headers[\"X-Auth-Scopes\"] = \"offers:write\";\n\
                       call(\"dataOffers.list\", { query: { limit: 50 } });\n\
                       box.dataset.status = \"422\"; fetch(\"/x?limit=200\"); \"offers:delete\";\n\
                       if (epochs > 1000 || batch > 65536) return;";
        assert_eq!(
            restated("planted.js", planted, Manifest::embedded(), &document()),
            [
                "planted.js:1: header name `x-auth-scopes`",
                "planted.js:1: scope `offers:write`",
                "planted.js:3: scope-shaped `offers:delete`",
                "planted.js:3: status 422",
                "planted.js:3: status 200",
                "planted.js:4: schema limit 1000",
                "planted.js:4: schema limit 65536",
                "planted.js:2: query parameter `limit` given a number",
                "planted.js:3: query parameter `limit` given a number",
            ]
        );
    }

    #[test]
    fn numbers_for_layout_and_words_are_not_statuses() {
        let layout = "const width = 360, height = 170; x.slice(0, 300); color: #a40e26; \
                      \"\\u003c\"; 0.422; 4220; v422; 1024; \"RFC 3339\"; offers: [], marketplace: 1; epochs: 30";
        assert_eq!(
            restated("layout.js", layout, Manifest::embedded(), &document()),
            Vec::<String>::new()
        );
    }
}
