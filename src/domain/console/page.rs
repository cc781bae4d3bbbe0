//! The console page: the assets compiled into the binary, and the contract document written
//! into the page so that its forms, guidance and checks come from the same manifest, schemas,
//! registry and rules as the runtime's.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::contracts::schemas;
use crate::domain::data_market::rules::{REJECTION_REASONS, intent_transition_allowed};
use crate::domain::data_market::types::{ContractState, RoundIntentStatus};
use crate::error::ApiError;
use crate::manifest::{Manifest, Operation};
use crate::reason::Reason;

const HTML: &str = include_str!("assets/console.html");
const CSS: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// The manifest tag of the operations the console drives.
const TAG: &str = "data-marketplace";

/// Each eligibility rule of a match in words, for the failure view. The codes are the rules'
/// (`rules::REJECTION_REASONS`); a test keeps the two lists in step.
const REJECTION_WORDS: &[(&str, &str)] = &[
    ("offer_not_active", "the offer is paused or retired"),
    ("offer_expired", "the offer's expires_at has passed"),
    (
        "task_not_supported",
        "the offer's allowed_tasks do not include the intent's task_type",
    ),
    (
        "modality_mismatch",
        "the offer's modality is not one of the intent's required_modalities",
    ),
    (
        "quality_below_threshold",
        "the offer's quality_score is below the intent's min_quality_score",
    ),
    (
        "offer_already_committed",
        "the offer is in another contract whose escrow is not released yet",
    ),
];

/// Why a contract in a given state cannot be released: the reason the server answers.
fn release_blocker(state: ContractState) -> Option<Reason> {
    match state {
        ContractState::Created => Some(Reason::ContractRoundNotCompleted),
        ContractState::BoundToRound => None,
        ContractState::EscrowReleased => Some(Reason::ContractAlreadyReleased),
    }
}

/// The whole page: the HTML shell with its style, script and contract document inline.
pub fn render(manifest: &Manifest) -> Result<String, ApiError> {
    let document = contract_document(manifest)?;
    Ok(HTML
        .replace("/*console.css*/", CSS)
        .replace("/*console.js*/", SCRIPT)
        .replace("{{contract}}", &script_safe_json(&document)))
}

/// JSON that can sit inside a `<script>` element: no `<`, `>` or `&` appears literally.
fn script_safe_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What the page knows of the contract: the data-marketplace operations of the manifest (path,
/// auth rule, idempotency, request schema and field reasons), those request schemas, the
/// messages of every reason they may answer, the intent status table, the contract states that
/// block a release, and the eligibility rules of a match.
pub fn contract_document(manifest: &Manifest) -> Result<Value, ApiError> {
    let operations: Vec<&Operation> = manifest
        .operations
        .iter()
        .filter(|operation| operation.tag == TAG && !operation.dev_only)
        .collect();
    let mut described = Map::new();
    let mut request_schemas = Map::new();
    let mut reasons = BTreeMap::new();
    for operation in &operations {
        if let Some(name) = &operation.request_schema {
            let schema = schemas::named(name)
                .ok_or_else(|| ApiError::internal(format!("no request schema `{name}`")))?;
            request_schemas.insert(name.clone(), schema);
        }
        for reason in operation.effective_reasons() {
            reasons.insert(
                reason.code(),
                json!({"status": reason.status(), "message": reason.message()}),
            );
        }
        described.insert(
            operation.operation_id.clone(),
            json!({
                "method": operation.method.as_str(),
                "path": operation.path,
                "summary": operation.summary,
                "auth": operation.auth,
                "idempotency_required": operation.idempotency.required,
                "request_schema": operation.request_schema,
                "invalid_request_reason": operation.invalid_request_reason,
                "field_reasons": operation.field_reasons,
            }),
        );
    }

    let statuses: Vec<RoundIntentStatus> = variants()?;
    let mut transitions = Vec::new();
    for &from in &statuses {
        for &to in &statuses {
            let when = if intent_transition_allowed(from, to, false) {
                "always"
            } else if intent_transition_allowed(from, to, true) {
                "contract_released"
            } else {
                continue;
            };
            transitions.push(json!({"from": from, "to": to, "when": when}));
        }
    }

    let mut release_blockers = Map::new();
    for state in variants::<ContractState>()? {
        if let Some(reason) = release_blocker(state) {
            release_blockers.insert(state.as_str().to_owned(), json!(reason.code()));
        }
    }

    let rejection_reasons: Vec<Value> = REJECTION_REASONS
        .iter()
        .map(|code| {
            let words = REJECTION_WORDS
                .iter()
                .find(|(known, _)| known == code)
                .map(|(_, words)| *words);
            json!({"code": code, "words": words})
        })
        .collect();

    Ok(json!({
        "title": manifest.title,
        "api_version": manifest.api_version,
        "operations": described,
        "schemas": request_schemas,
        "reasons": reasons,
        "intent_statuses": statuses,
        "intent_transitions": transitions,
        "release_blockers": release_blockers,
        "rejection_reasons": rejection_reasons,
    }))
}

/// Every variant of a unit enum, read from its generated schema (`enum`), so that no list of
/// them is written here.
fn variants<T: schemars::JsonSchema + DeserializeOwned>() -> Result<Vec<T>, ApiError> {
    let schema = schemars::schema_for!(T);
    let values = schema
        .get("enum")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::internal("status type without an enum schema"))?;
    values
        .iter()
        .map(|value| serde_json::from_value(value.clone()).map_err(ApiError::internal))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        contract_document(Manifest::embedded()).unwrap()
    }

    #[test]
    fn every_rejection_rule_has_words() {
        for entry in document()["rejection_reasons"].as_array().unwrap() {
            assert!(entry["words"].is_string(), "{entry}");
        }
        assert_eq!(REJECTION_WORDS.len(), REJECTION_REASONS.len());
    }

    #[test]
    fn the_status_table_is_the_rules_table() {
        let transitions = document()["intent_transitions"].clone();
        assert_eq!(
            transitions,
            json!([
                {"from": "open", "to": "cancelled", "when": "always"},
                {"from": "open", "to": "closed", "when": "always"},
                {"from": "matched", "to": "closed", "when": "contract_released"},
            ])
        );
    }

    #[test]
    fn release_blockers_name_the_servers_reasons() {
        assert_eq!(
            document()["release_blockers"],
            json!({"created": "contract_round_not_completed", "escrow_released": "contract_already_released"})
        );
    }

    #[test]
    fn the_page_carries_the_schemas_the_runtime_validates_with() {
        let document = document();
        for name in [
            "OfferCreateRequest",
            "RoundIntentCreateRequest",
            "PreviewRequest",
        ] {
            assert_eq!(document["schemas"][name], schemas::named(name).unwrap());
        }
        let create = &document["operations"]["dataOffers.create"];
        assert_eq!(create["path"], "/marketplace/offers");
        assert_eq!(
            create["field_reasons"]["/quality_score"],
            "invalid_quality_score"
        );
        assert_eq!(
            document["reasons"]["invalid_quality_score"]["status"], 400,
            "field reasons carry their registry entry"
        );
    }

    /// The page's validator implements a subset of JSON Schema; a keyword outside it in a schema
    /// the page reads would be a rule the page silently skips.
    #[test]
    fn the_page_validator_knows_every_keyword_of_the_schemas() {
        let list = SCRIPT
            .split("const SCHEMA_KEYWORDS = [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("console.js declares SCHEMA_KEYWORDS");
        let known: Vec<&str> = list
            .split(',')
            .map(|item| item.trim().trim_matches('"'))
            .filter(|item| !item.is_empty())
            .collect();
        let unchecked = |schema: &Value| {
            let mut used = std::collections::BTreeSet::new();
            collect_keywords(schema, &mut used);
            used.into_iter()
                .filter(|k| !known.contains(&k.as_str()))
                .collect::<Vec<_>>()
        };
        for (name, schema) in document()["schemas"].as_object().unwrap() {
            assert_eq!(
                unchecked(schema),
                Vec::<String>::new(),
                "console.js does not check these keywords of {name}"
            );
        }
        let with_a_new_rule =
            json!({"properties": {"price": {"type": "number", "multipleOf": 0.01}}});
        assert_eq!(
            unchecked(&with_a_new_rule),
            ["multipleOf"],
            "the gate catches a keyword the page skips"
        );
    }

    fn collect_keywords(schema: &Value, used: &mut std::collections::BTreeSet<String>) {
        let Some(object) = schema.as_object() else {
            return;
        };
        for (keyword, value) in object {
            used.insert(keyword.clone());
            match keyword.as_str() {
                "properties" | "$defs" => {
                    for sub in value.as_object().into_iter().flat_map(|m| m.values()) {
                        collect_keywords(sub, used);
                    }
                }
                "anyOf" | "oneOf" | "allOf" => {
                    for sub in value.as_array().into_iter().flatten() {
                        collect_keywords(sub, used);
                    }
                }
                "items" | "additionalProperties" | "not" => collect_keywords(value, used),
                _ => {}
            }
        }
    }

    #[test]
    fn the_assets_cannot_close_their_elements_early() {
        assert!(!SCRIPT.contains("</script"));
        assert!(!CSS.contains("</style"));
        let page = render(Manifest::embedded()).unwrap();
        assert!(!page.contains("{{contract}}") && !page.contains("/*console.js*/"));
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "the contract and the script"
        );
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let page = render(Manifest::embedded()).unwrap();
        for needle in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "@import",
            "src=\"//",
        ] {
            assert!(!page.contains(needle), "{needle}");
        }
        assert!(
            page.contains("default-src 'none'"),
            "the page's CSP forbids it"
        );
    }
}
